#pragma once

#include <QElapsedTimer>
#include <QEvent>
#include <QPointF>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QVector>

#include <memory>

class MainWindow;
class TrajectoryGlView;

/// `dcscope --bench-frames`: the trajectory view's frame time, as the README reports it. The
/// window samples builtin:gmm2d at batch 1000 with a 200-step ground truth; an 800x800 view then
/// shows that scene (density, every fine step of every path, both solvers, overlay) and draws
/// frames, first with the window idle and then while it keeps sampling new seeds, in phases: stepping through t_k, hovering
/// a state (the inspector), shaping the mixture (a mode dragged: the density changes), and
/// zooming (the cached path layer is redrawn). A frame's time is the interval between two
/// frames the view delivers (QOpenGLWidget::frameSwapped) while it redraws continuously:
/// painting, composition into the window and the flush to the display included; the share spent in paintGL (issuing the GL commands and rendering them
/// into the view's framebuffer) is printed beside it. Phases are apart by a pause, as one
/// action of a user is from the next: the view settles a pan or zoom 150 ms after its last
/// event, so without it the first frames of stepping would still be the zoom's. Prints median,
/// p95 and worst per phase, then quits. Timer-driven (no nested event loops), so the window's
/// results keep arriving while frames are drawn.
class FrameBenchmark : public QObject {
    Q_OBJECT

public:
    struct Options {
        int particles = 1000;
        int fineSteps = 200;
        int side = 800;
        int framesPerPhase = 150;
    };

    FrameBenchmark(MainWindow& window, Options options, QObject* parent = nullptr);
    ~FrameBenchmark() override;
    void start();

private:
    void onResultShown(int requestId, bool complete);
    void drawFrame();
    void resumeAfterPause();
    void resample();
    void report();
    void sendMouse(QEvent::Type type, const QPointF& position);

    MainWindow& m_window;
    Options m_options;
    std::unique_ptr<TrajectoryGlView> m_view;
    bool m_measuring = false;
    int m_phase = 0;
    int m_frame = 0;
    int m_resamples = 0;
    bool m_paused = false;  // between two phases: frames the view delivers then are not counted
    QPointF m_dragOrigin;  // where the drag of a mode started
    QElapsedTimer m_sinceLastFrame;
    QTimer m_resampleTimer;
    struct Phase {
        QString name;
        bool whileSampling = false;
        QVector<double> frameMs;
        double paintMedianMs = 0;
        double paintWorstMs = 0;
    };
    QVector<Phase> m_phases;
};
