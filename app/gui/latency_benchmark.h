#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointF>
#include <QTimer>
#include <QVector>

class MainWindow;
class QSpinBox;
class RatioCurveEditor;

/// `dcscope --bench-latency`: drives the real window with scripted mouse drags of the first, a
/// middle and the last free ratio at each batch size, and prints edit-to-image latency (median,
/// p95) and the longest stall of the UI thread, measured by a 5 ms event-loop lag probe. Runs as
/// a state machine on timers (no nested event loops); quits the application when done.
class LatencyBenchmark : public QObject {
    Q_OBJECT

public:
    struct Options {
        QVector<int> batches{4, 16};
        int movesPerDrag = 12;
        int moveIntervalMs = 40;   // a 25 Hz mouse
        int settleTimeoutMs = 120000;
    };

    LatencyBenchmark(MainWindow& window, Options options, QObject* parent = nullptr);
    /// Starts once the window's first result (with its ground truth) is on screen.
    void start();

private:
    struct Drag {
        int batch = 0;
        int index = 0;
        QString label;
    };
    void onSamplingRequested(int requestId);
    void onResultShown(int requestId, bool complete);
    void onLagProbe();
    void nextStage();
    void startDrag();
    void moveDragged();
    void finishDrag();
    void report();
    void sendMouse(int type, const QPointF& position);

    MainWindow& m_window;
    Options m_options;
    RatioCurveEditor* m_editor = nullptr;
    QSpinBox* m_batchSpin = nullptr;
    QVector<Drag> m_plan;
    int m_stage = -1;
    bool m_waitingForBatch = false;
    bool m_dragging = false;
    int m_movesDone = 0;
    QPointF m_dragPosition;

    QElapsedTimer m_clock;
    QVector<qint64> m_editTimes;            // ns, one per mouse move of the current drag
    int m_editsResolved = 0;                // edits whose image is on screen
    QHash<int, int> m_editsCoveredByRequest;  // request id -> edits it includes
    QVector<double> m_latenciesMs;          // of the current drag
    QTimer m_moveTimer;
    QTimer m_lagProbe;
    QTimer m_timeout;
    qint64 m_lastProbeNs = 0;
    double m_worstStallMs = 0.0;            // of the current drag (and its settling)
    struct Row {
        Drag drag;
        int edits = 0;
        double medianMs = 0.0;
        double p95Ms = 0.0;
        double maxMs = 0.0;
        double stallMs = 0.0;
    };
    QVector<Row> m_rows;
};
