#pragma once

#include <QImage>
#include <QPointF>
#include <QVector>

/// Which of a request's sampling runs a progress report belongs to.
enum class SamplingRun { QuickSearch, Plain, Compensated, GroundTruth };

/// Progress of one request after one solver step, already in Qt types. Emitted by the worker as
/// std::shared_ptr<const StepUpdate>; the GUI keeps only the newest and shows it on a timer.
struct StepUpdate {
    int requestId = 0;
    SamplingRun run = SamplingRun::Plain;
    int step = 0;                      ///< 0 = start, totalSteps = done
    int totalSteps = 0;
    int nfe = 0;                       ///< model calls of this run so far
    double progress = 0.0;             ///< fraction of the whole request done, 0..1
    QVector<QImage> preview;           ///< image models: the data prediction at this step
    QVector<QVector<QPointF>> paths;   ///< 2-D models: each sample's states up to this step
};
