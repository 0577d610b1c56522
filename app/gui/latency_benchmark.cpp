#include "latency_benchmark.h"

#include <QCoreApplication>
#include <QMouseEvent>
#include <QSpinBox>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "benchmark_statistics.h"
#include "main_window.h"
#include "ratio_curve_editor.h"

namespace {

constexpr int kLagProbeIntervalMs = 5;
constexpr int kDragStepPixels = 3;

}  // namespace

LatencyBenchmark::LatencyBenchmark(MainWindow& window, Options options, QObject* parent)
    : QObject(parent), m_window(window), m_options(std::move(options)) {
    m_editor = window.findChild<RatioCurveEditor*>(QStringLiteral("ratioEditor"));
    m_batchSpin = window.findChild<QSpinBox*>(QStringLiteral("batchSpin"));
    connect(&window, &MainWindow::samplingRequested, this, &LatencyBenchmark::onSamplingRequested);
    connect(&window, &MainWindow::resultShown, this, &LatencyBenchmark::onResultShown);
    m_moveTimer.setInterval(m_options.moveIntervalMs);
    connect(&m_moveTimer, &QTimer::timeout, this, &LatencyBenchmark::moveDragged);
    m_lagProbe.setInterval(kLagProbeIntervalMs);
    m_lagProbe.setTimerType(Qt::PreciseTimer);
    connect(&m_lagProbe, &QTimer::timeout, this, &LatencyBenchmark::onLagProbe);
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        std::fprintf(stderr, "dcscope: latency benchmark: no result within %d ms\n", m_options.settleTimeoutMs);
        QCoreApplication::exit(1);
    });
}

void LatencyBenchmark::start() {
    const int steps = int(m_editor->ratios().size());
    const int firstFree = m_editor->lockedCount();
    const QVector<std::pair<int, QString>> targets{
        {firstFree, QStringLiteral("first")}, {(firstFree + steps - 1) / 2, QStringLiteral("middle")}, {steps - 1, QStringLiteral("last")}};
    for (int batch : m_options.batches)
        for (const auto& [index, label] : targets) m_plan.append({batch, index, label});
    m_clock.start();
    m_lagProbe.start();
    m_stage = -1;
    nextStage();
}

void LatencyBenchmark::nextStage() {
    ++m_stage;
    if (m_stage >= m_plan.size()) return report();
    const Drag& drag = m_plan[m_stage];
    if (m_batchSpin->value() != drag.batch || m_stage == 0) {
        // A new batch: a full comparison with its ground truth first, then drag against it.
        m_batchSpin->setValue(drag.batch);
        m_waitingForBatch = true;
        m_timeout.start(m_options.settleTimeoutMs);
        m_window.requestSampling();
        return;
    }
    startDrag();
}

void LatencyBenchmark::startDrag() {
    m_timeout.stop();
    m_editTimes.clear();
    m_latenciesMs.clear();
    m_editsCoveredByRequest.clear();
    m_editsResolved = 0;
    m_movesDone = 0;
    m_worstStallMs = 0.0;
    m_lastProbeNs = m_clock.nsecsElapsed();
    m_dragPosition = m_editor->pointPosition(m_plan[m_stage].index);
    sendMouse(QEvent::MouseButtonPress, m_dragPosition);
    m_dragging = true;
    m_moveTimer.start();
}

void LatencyBenchmark::moveDragged() {
    // Up for the first half of the drag, back down for the second: rho moves about +-0.1.
    const int direction = m_movesDone < m_options.movesPerDrag / 2 ? -1 : 1;
    m_dragPosition.ry() += direction * kDragStepPixels;
    m_editTimes.append(m_clock.nsecsElapsed());
    sendMouse(QEvent::MouseMove, m_dragPosition);
    if (++m_movesDone < m_options.movesPerDrag) return;
    m_moveTimer.stop();
    sendMouse(QEvent::MouseButtonRelease, m_dragPosition);
    m_dragging = false;
    m_timeout.start(m_options.settleTimeoutMs);
    if (m_editsResolved >= m_editTimes.size()) finishDrag();
}

void LatencyBenchmark::sendMouse(int type, const QPointF& position) {
    const QPointF global = m_editor->mapToGlobal(position);
    const Qt::MouseButtons buttons = type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::LeftButton;
    QMouseEvent event(QEvent::Type(type), position, global, Qt::LeftButton, buttons, Qt::NoModifier);
    QCoreApplication::sendEvent(m_editor, &event);
}

void LatencyBenchmark::onSamplingRequested(int requestId) { m_editsCoveredByRequest.insert(requestId, int(m_editTimes.size())); }

void LatencyBenchmark::onResultShown(int requestId, bool complete) {
    if (m_waitingForBatch) {
        if (!complete) return;
        m_waitingForBatch = false;
        startDrag();
        return;
    }
    if (m_stage < 0 || m_stage >= m_plan.size()) return;
    const int covered = m_editsCoveredByRequest.value(requestId, -1);
    const qint64 now = m_clock.nsecsElapsed();
    for (; m_editsResolved < covered; ++m_editsResolved)
        m_latenciesMs.append(double(now - m_editTimes[m_editsResolved]) / 1e6);
    if (!m_dragging && m_editsResolved >= m_editTimes.size() && !m_editTimes.isEmpty()) finishDrag();
}

void LatencyBenchmark::onLagProbe() {
    const qint64 now = m_clock.nsecsElapsed();
    if (m_lastProbeNs > 0) m_worstStallMs = std::max(m_worstStallMs, double(now - m_lastProbeNs) / 1e6 - kLagProbeIntervalMs);
    m_lastProbeNs = now;
}

void LatencyBenchmark::finishDrag() {
    m_timeout.stop();
    Row row;
    row.drag = m_plan[m_stage];
    row.edits = int(m_latenciesMs.size());
    row.medianMs = percentile(m_latenciesMs, 0.5);
    row.p95Ms = percentile(m_latenciesMs, 0.95);
    row.maxMs = percentile(m_latenciesMs, 1.0);
    row.stallMs = m_worstStallMs;
    m_rows.append(row);
    // Let the window settle (a superseded ground truth restarting, repaints) before the next drag.
    QTimer::singleShot(300, this, &LatencyBenchmark::nextStage);
}

void LatencyBenchmark::report() {
    m_lagProbe.stop();
    std::printf("dcscope latency benchmark: %d mouse moves per drag every %d ms; latency = mouse move to its image on screen\n",
                m_options.movesPerDrag, m_options.moveIntervalMs);
    std::printf("%6s %-7s %6s %6s %11s %9s %9s %16s\n", "batch", "ratio", "index", "edits", "median ms", "p95 ms", "max ms",
                "UI stall max ms");
    for (const Row& row : m_rows)
        std::printf("%6d %-7s %6d %6d %11.1f %9.1f %9.1f %16.1f\n", row.drag.batch, qPrintable(row.drag.label), row.drag.index,
                    row.edits, row.medianMs, row.p95Ms, row.maxMs, row.stallMs);
    std::fflush(stdout);
    QCoreApplication::exit(0);
}
