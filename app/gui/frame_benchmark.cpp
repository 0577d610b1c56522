#include "frame_benchmark.h"

#include <QCoreApplication>
#include <QMouseEvent>
#include <QPushButton>
#include <QSpinBox>
#include <QWheelEvent>

#include <cmath>
#include <cstdio>

#include "benchmark_statistics.h"
#include "main_window.h"
#include "trajectory_gl_view.h"

namespace {

constexpr int kResampleIntervalMs = 50;  // a new seed whenever the last one is done: the worker never idles
constexpr int kPauseBetweenPhasesMs = 300;  // longer than the view's 150 ms settling of a gesture

}  // namespace

FrameBenchmark::FrameBenchmark(MainWindow& window, Options options, QObject* parent)
    : QObject(parent), m_window(window), m_options(options) {
    connect(&window, &MainWindow::resultShown, this, &FrameBenchmark::onResultShown);
    m_resampleTimer.setInterval(kResampleIntervalMs);
    connect(&m_resampleTimer, &QTimer::timeout, this, &FrameBenchmark::resample);
    for (const bool sampling : {false, true})
        for (const char* name : {"stepping through t_k", "hovering a state", "dragging a mode", "zooming"})
            m_phases.append(Phase{QString::fromLatin1(name), sampling, {}, 0});
}

FrameBenchmark::~FrameBenchmark() = default;

void FrameBenchmark::start() {
    std::printf("dcscope frame benchmark: builtin:gmm2d, %d particles x %d fine steps, %dx%d view\n", m_options.particles,
                m_options.fineSteps, m_options.side, m_options.side);
    std::fflush(stdout);
    m_window.findChild<QSpinBox*>(QStringLiteral("batchSpin"))->setValue(m_options.particles);
    m_window.findChild<QSpinBox*>(QStringLiteral("fineStepsSpin"))->setValue(m_options.fineSteps);
    m_window.findChild<QPushButton*>(QStringLiteral("sampleButton"))->click();
}

void FrameBenchmark::onResultShown(int, bool complete) {
    const auto result = m_window.lastResult();
    if (!complete || !result || !result->hasGroundTruth) return;
    if (result->trajectoryScene.particles() != m_options.particles) return;
    if (m_measuring) return;  // later results keep the worker busy; the view keeps its scene
    m_measuring = true;
    // One view on screen, as a user has it: the window goes on sampling, unseen.
    m_window.hide();
    m_view = std::make_unique<TrajectoryGlView>();
    m_view->setAttribute(Qt::WA_DontShowOnScreen, false);
    m_view->resize(m_options.side, m_options.side);
    m_view->setScene(result->trajectoryScene, true);
    m_view->show();
    m_view->repaint();
    if (!m_view->glProblem().isEmpty()) {
        std::fprintf(stderr, "dcscope: %s\n", qPrintable(m_view->glProblem()));
        QCoreApplication::exit(1);
        return;
    }
    m_view->resetFrameTimes();
    // Each delivered frame triggers the next change and redraw: the view redraws continuously.
    connect(m_view.get(), &QOpenGLWidget::frameSwapped, this, &FrameBenchmark::drawFrame);
    m_sinceLastFrame.invalidate();
    m_view->update();
}

void FrameBenchmark::resample() {
    auto* seed = m_window.findChild<QSpinBox*>(QStringLiteral("seedSpin"));
    seed->setValue(seed->value() + 1);
    m_window.findChild<QPushButton*>(QStringLiteral("sampleButton"))->click();
    ++m_resamples;
}

void FrameBenchmark::drawFrame() {
    if (m_paused) return;
    if (m_sinceLastFrame.isValid() && m_phase < m_phases.size()) {
        m_phases[m_phase].frameMs.append(m_sinceLastFrame.nsecsElapsed() / 1e6);
        if (++m_frame >= m_options.framesPerPhase) {
            m_phases[m_phase].paintMedianMs = m_view->medianFrameMs();
            m_phases[m_phase].paintWorstMs = m_view->worstFrameMs();
            m_view->resetFrameTimes();
            if (m_phase % 4 == 2) sendMouse(QEvent::MouseButtonRelease, m_dragOrigin);
            m_view->setMixtureEditing(false);
            m_frame = 0;
            ++m_phase;
            if (m_phase < m_phases.size()) {
                m_paused = true;
                QTimer::singleShot(kPauseBetweenPhasesMs, this, &FrameBenchmark::resumeAfterPause);
                return;
            }
        }
    }
    if (m_phase >= m_phases.size()) {
        disconnect(m_view.get(), &QOpenGLWidget::frameSwapped, this, &FrameBenchmark::drawFrame);
        m_resampleTimer.stop();
        report();
        QCoreApplication::exit(0);
        return;
    }
    if (m_phases[m_phase].whileSampling && !m_resampleTimer.isActive()) m_resampleTimer.start();
    const TrajectoryScene& scene = m_view->scene();
    const int steps = scene.steps();
    const QPointF centre(m_options.side / 2.0, m_options.side / 2.0);
    switch (m_phase % 4) {
    case 0: m_view->setStep(m_frame % (steps + 1)); break;
    case 1: {
        // Over the DC state of one particle after another: the inspector follows the mouse.
        const QPointF state = m_view->dataToWidget(scene.compensated[m_frame % scene.particles()][m_view->step()]);
        QMouseEvent move(QEvent::MouseMove, state, m_view->mapToGlobal(state), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QCoreApplication::sendEvent(m_view.get(), &move);
        break;
    }
    case 2: {
        // With the mouse, as a user drags: pressed on mode 0's centre, moved in a small circle.
        if (m_frame == 0) {
            m_view->setMixtureEditing(true);
            m_dragOrigin = m_view->dataToWidget(m_view->mixture().means[0]);
            sendMouse(QEvent::MouseButtonPress, m_dragOrigin);
        }
        sendMouse(QEvent::MouseMove, m_dragOrigin + QPointF(3 * std::cos(m_frame * 0.3), 3 * std::sin(m_frame * 0.3)));
        break;
    }
    default: {
        const QPoint delta(0, m_frame % 2 ? 120 : -120);
        QWheelEvent wheel(centre, m_view->mapToGlobal(centre), QPoint(), delta, Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QCoreApplication::sendEvent(m_view.get(), &wheel);
        break;
    }
    }
    m_sinceLastFrame.start();
    m_view->update();
}

void FrameBenchmark::resumeAfterPause() {
    m_paused = false;
    m_sinceLastFrame.invalidate();  // the pause is no frame
    drawFrame();
}

void FrameBenchmark::sendMouse(QEvent::Type type, const QPointF& position) {
    const Qt::MouseButton button = type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton;
    const Qt::MouseButtons held = type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::LeftButton;
    QMouseEvent event(type, position, m_view->mapToGlobal(position), button, held, Qt::NoModifier);
    QCoreApplication::sendEvent(m_view.get(), &event);
}

void FrameBenchmark::report() {
    std::printf("%-22s %-15s %7s %7s %7s %7s %14s %13s\n", "phase", "window", "frames", "median", "p95", "worst", "paintGL median",
                "paintGL worst");
    for (const Phase& phase : m_phases)
        std::printf("%-22s %-15s %7d %7.1f %7.1f %7.1f %14.1f %13.1f\n", qPrintable(phase.name), phase.whileSampling ? "sampling" : "idle",
                    int(phase.frameMs.size()), percentile(phase.frameMs, 0.5), percentile(phase.frameMs, 0.95),
                    percentile(phase.frameMs, 1.0), phase.paintMedianMs, phase.paintWorstMs);
    std::printf("frame times in ms (between delivered frames: paint, compose, flush); the window sampled %d new seeds meanwhile\n",
                m_resamples);
    std::fflush(stdout);
}
