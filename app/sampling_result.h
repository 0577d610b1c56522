#pragma once

#include <QImage>
#include <QPointF>
#include <QString>
#include <QVector>

/// Everything a finished request produced, in Qt types, sent as
/// std::shared_ptr<const SamplingResult> and never changed afterwards.
struct SamplingResult {
    int requestId = 0;
    QString solverName;                 ///< e.g. "UniPC (bh2)"
    int steps = 0;                      ///< S
    int nfePerRun = 0;                  ///< model calls of one run (S)
    bool compensated = false;           ///< false: all ratios were 1, so the DC run is the plain run
    bool plainReused = false;           ///< the plain run was kept from an earlier request
    double plainSeconds = 0.0;
    double compensatedSeconds = 0.0;
    QVector<QImage> plainImages;        ///< image models: final samples
    QVector<QImage> compensatedImages;
    QVector<QVector<QPointF>> plainPaths;  ///< 2-D models: per sample, the states at t_0..t_S
    QVector<QVector<QPointF>> compensatedPaths;

    bool hasReference = false;
    bool referenceReused = false;       ///< the reference run was kept from an earlier request
    int referenceNfe = 0;               ///< fine DDIM steps (kReferenceSubsteps per coarse step)
    double referenceSeconds = 0.0;
    QVector<QVector<QPointF>> referencePaths;  ///< 2-D models: reference states at t_0..t_S
    QVector<QPointF> plainError;        ///< (step k, RMS distance to the reference at t_k), k = 1..S
    QVector<QPointF> compensatedError;
};
