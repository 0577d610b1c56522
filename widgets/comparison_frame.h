#pragma once

#include <QImage>
#include <QVector>

#include "heat_map.h"

/// What one step of a comparison shows: the images of the three panes and, against the ground
/// truth, the per-pixel |x - GT| of both solvers (empty without a ground truth). A value type
/// without widgets, so results can be built off the GUI thread.
struct ComparisonFrame {
    QVector<QImage> plain;
    QVector<QImage> compensated;
    QVector<QImage> groundTruth;
    QVector<HeatMap> plainDifference;
    QVector<HeatMap> compensatedDifference;
};
