#pragma once

#include <utility>

#include <ATen/core/Tensor.h>
#include <QImage>
#include <QPointF>
#include <QVector>

#include "heat_map.h"

// The one place where core tensors become the widgets' Qt types, so torch headers never reach
// widget sources. Callable from any thread: the results own their memory, and QImage may be
// built off the GUI thread.

/// [B, C, H, W] samples with values in valueRange (lo, hi) -> one image per sample: C = 1 grey,
/// C = 3 RGB, otherwise the first channel as grey. Values outside the range are clipped. Throws
/// dcscope::Error(InvalidArgument) for other ranks.
QVector<QImage> imagesFromBatch(const at::Tensor& batch, std::pair<double, double> valueRange);

/// [B, 2] samples -> one point per sample. Throws dcscope::Error(InvalidArgument) otherwise.
QVector<QPointF> pointsFromBatch(const at::Tensor& batch);

/// Appends the [B, 2] samples of one step to per-sample paths (paths[b] gets sample b).
void appendToPaths(QVector<QVector<QPointF>>& paths, const at::Tensor& batch);

/// Per sample, |a - b| averaged over the channels, as one heat map per sample: both [B, C, H, W]
/// of the same shape. Throws dcscope::Error(InvalidArgument) otherwise.
QVector<HeatMap> differenceMaps(const at::Tensor& a, const at::Tensor& b);

/// Per sample, the mean of (a - b)^2 over all its values (the MSE of each sample).
QVector<double> perSampleMse(const at::Tensor& a, const at::Tensor& b);
