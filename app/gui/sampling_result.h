#pragma once

#include <QImage>
#include <QPointF>
#include <QString>
#include <QVector>

#include <cstdint>
#include <limits>

#include "comparison_frame.h"
#include "trajectory_scene.h"
#include "dcscope/reproduction.h"

/// Everything a finished request produced, in Qt types, sent as
/// std::shared_ptr<const SamplingResult> and never changed afterwards.
struct SamplingResult {
    int requestId = 0;
    QString solverName;                 ///< e.g. "UniPC (bh2)"
    int steps = 0;                      ///< S
    int nfePerRun = 0;                  ///< model calls of one run (S)
    bool compensated = false;           ///< false: all ratios were 1, so the DC run is the plain run
    QVector<double> quickSearchRatios;  ///< the ratios a quick search found and the DC run used (else empty)
    bool quickSearchFromCache = false;
    double quickSearchSeconds = 0.0;
    bool plainReused = false;           ///< the plain run was kept from an earlier request
    int compensatedResumedFrom = 0;     ///< the compensated run re-sampled only from this step on
    int modelCallsSaved = 0;            ///< calls this request did not make thanks to kept runs
    double plainSeconds = 0.0;
    double compensatedSeconds = 0.0;    ///< of the part that was re-sampled
    QVector<QImage> plainImages;        ///< image models: final samples
    QVector<QImage> compensatedImages;
    QVector<QVector<QPointF>> plainPaths;  ///< 2-D models: per sample, the states at t_0..t_S
    QVector<QVector<QPointF>> compensatedPaths;

    bool hasGroundTruth = false;
    bool groundTruthReused = false;     ///< kept from an earlier request of this session
    bool groundTruthFromDisk = false;   ///< read from core's ground-truth cache
    int groundTruthFineSteps = 0;       ///< fine steps actually taken (S x steps per interval)
    QString groundTruthSolver;          ///< e.g. "DDIM"
    int groundTruthModelCalls = 0;      ///< spent by this request (0 when kept or cached)
    double groundTruthSeconds = 0.0;
    double groundTruthError = 0.0;      ///< its own error: max |change| when its fine steps are halved (NaN: unknown)
    QVector<QImage> groundTruthImages;  ///< image models: the ground truth's final states
    QVector<QVector<QPointF>> groundTruthPaths;  ///< 2-D models: ground-truth states at t_0..t_S
    TrajectoryScene trajectoryScene;    ///< 2-D models: what the trajectory view draws
    QVector<QPointF> plainError;        ///< (step k, RMS distance to the ground truth at t_k), k = 1..S
    QVector<QPointF> compensatedError;

    /// Image models: steps 0..S, as x0-predictions at t_k and as noisy states x_k; the ground
    /// truth and the difference maps are filled once the ground truth is known.
    QVector<ComparisonFrame> predictionFrames;
    QVector<ComparisonFrame> stateFrames;
    QVector<double> stepTimes;          ///< t_0..t_S of the coarse grid
    static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
    double plainMse = kUnknown;         ///< final state against the ground truth's (NaN: no ground truth)
    double compensatedMse = kUnknown;
    QVector<double> plainSampleMse;     ///< per sample, final state against the ground truth's
    QVector<double> compensatedSampleMse;
    uint64_t firstSeed = 0;             ///< sample b is datapoint firstSeed + b
    QVector<int> sampleClasses;         ///< per sample its class (-1: unconditional)
    /// How to reproduce each run bit for bit (written into exported PNGs; `dcscope-cli sample
    /// --from-png` re-runs them): every setting, the model's identity and the final tensor's hash.
    dcscope::ReproductionRecord plainRecord;
    dcscope::ReproductionRecord compensatedRecord;
};
