#include "tensor_conversion.h"

#include <ATen/ATen.h>

#include <sstream>

#include "dcscope/errors.h"

namespace {

std::string describeShape(const at::Tensor& tensor) {
    std::ostringstream text;
    text << tensor.sizes();
    return text.str();
}

}  // namespace

QVector<QImage> imagesFromBatch(const at::Tensor& batch, std::pair<double, double> valueRange) {
    if (batch.dim() != 4)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                             "display: expected image samples [B,C,H,W], got shape " + describeShape(batch));
    const auto [low, high] = valueRange;
    // [low, high] -> [0, 255] as one tensor expression instead of a per-pixel loop with branches.
    const at::Tensor bytes = ((batch.detach().to(at::kCPU, at::kFloat) - low) * (255.0 / (high - low)))
                                 .round()
                                 .clamp(0, 255)
                                 .to(at::kByte)
                                 .contiguous();
    const int64_t count = bytes.size(0), channels = bytes.size(1);
    const int height = static_cast<int>(bytes.size(2)), width = static_cast<int>(bytes.size(3));
    const bool rgb = channels == 3;
    const auto* data = bytes.data_ptr<uint8_t>();
    const int64_t plane = int64_t(height) * width;
    QVector<QImage> images;
    images.reserve(static_cast<int>(count));
    for (int64_t b = 0; b < count; ++b) {
        const uint8_t* sample = data + b * channels * plane;
        QImage image(width, height, rgb ? QImage::Format_RGB888 : QImage::Format_Grayscale8);
        for (int y = 0; y < height; ++y) {
            uchar* line = image.scanLine(y);
            for (int x = 0; x < width; ++x) {
                const int64_t offset = int64_t(y) * width + x;
                if (rgb) {  // planar CHW to interleaved RGB
                    line[3 * x + 0] = sample[offset];
                    line[3 * x + 1] = sample[plane + offset];
                    line[3 * x + 2] = sample[2 * plane + offset];
                } else {
                    line[x] = sample[offset];
                }
            }
        }
        images.append(image);
    }
    return images;
}

QVector<QPointF> pointsFromBatch(const at::Tensor& batch) {
    if (batch.dim() != 2 || batch.size(1) != 2)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                             "display: expected 2-D points [B,2], got shape " + describeShape(batch));
    const at::Tensor values = batch.detach().to(at::kCPU, at::kDouble).contiguous();
    const auto accessor = values.accessor<double, 2>();
    QVector<QPointF> points;
    points.reserve(static_cast<int>(values.size(0)));
    for (int64_t b = 0; b < values.size(0); ++b) points.append(QPointF(accessor[b][0], accessor[b][1]));
    return points;
}

void appendToPaths(QVector<QVector<QPointF>>& paths, const at::Tensor& batch) {
    const QVector<QPointF> points = pointsFromBatch(batch);
    if (paths.size() != points.size()) paths.resize(points.size());
    for (int b = 0; b < points.size(); ++b) paths[b].append(points[b]);
}

QVector<HeatMap> differenceMaps(const at::Tensor& a, const at::Tensor& b) {
    if (a.dim() != 4 || !a.sizes().equals(b.sizes()))
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, "display: cannot compare shapes " + describeShape(a) +
                                                                      " and " + describeShape(b));
    const at::Tensor difference =
        (a.detach().to(at::kCPU, at::kFloat) - b.detach().to(at::kCPU, at::kFloat)).abs().mean(1).contiguous();
    const int height = int(difference.size(1)), width = int(difference.size(2));
    const float* data = difference.data_ptr<float>();
    QVector<HeatMap> maps;
    for (int64_t sample = 0; sample < difference.size(0); ++sample) {
        HeatMap map;
        map.width = width;
        map.height = height;
        const float* first = data + sample * int64_t(width) * height;
        map.values = QVector<float>(first, first + int64_t(width) * height);
        maps.append(std::move(map));
    }
    return maps;
}

QVector<double> perSampleMse(const at::Tensor& a, const at::Tensor& b) {
    const at::Tensor difference = a.detach().to(at::kCPU, at::kDouble) - b.detach().to(at::kCPU, at::kDouble);
    const at::Tensor mse = difference.pow(2).reshape({difference.size(0), -1}).mean(1).contiguous();
    return QVector<double>(mse.data_ptr<double>(), mse.data_ptr<double>() + mse.size(0));
}
