#include "heat_map.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

const char* const kColormapNames[] = {"inferno", "viridis", "magma", "turbo", "gray"};
constexpr double kScalePercentile = 0.99;

/// A 256-entry BGR lookup table of the colour map (OpenCV's, or a plain grey ramp), shaped
/// 256 x 1 as applyColorMap requires of a user table.
cv::Mat lookupTable(HeatColormap colormap) {
    cv::Mat ramp(256, 1, CV_8UC1);
    for (int i = 0; i < 256; ++i) ramp.at<uint8_t>(i, 0) = uint8_t(i);
    cv::Mat colours;
    switch (colormap) {
    case HeatColormap::Inferno: cv::applyColorMap(ramp, colours, cv::COLORMAP_INFERNO); break;
    case HeatColormap::Viridis: cv::applyColorMap(ramp, colours, cv::COLORMAP_VIRIDIS); break;
    case HeatColormap::Magma: cv::applyColorMap(ramp, colours, cv::COLORMAP_MAGMA); break;
    case HeatColormap::Turbo: cv::applyColorMap(ramp, colours, cv::COLORMAP_TURBO); break;
    case HeatColormap::Gray: cv::cvtColor(ramp, colours, cv::COLOR_GRAY2BGR); break;
    }
    return colours;
}

QImage toQImage(const cv::Mat& bgr) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    // copy(): the QImage must own its pixels once the Mat is gone.
    return QImage(rgb.data, rgb.cols, rgb.rows, int(rgb.step), QImage::Format_RGB888).copy();
}

}  // namespace

QStringList heatColormapNames() {
    QStringList names;
    for (const char* name : kColormapNames) names.append(QString::fromLatin1(name));
    return names;
}

QString heatColormapName(HeatColormap colormap) { return QString::fromLatin1(kColormapNames[int(colormap)]); }

HeatColormap heatColormapFromName(const QString& name) {
    const auto index = heatColormapNames().indexOf(name);
    return index < 0 ? HeatColormap::Inferno : HeatColormap(index);
}

double sharedHeatScale(const QVector<QVector<HeatMap>>& groups) {
    std::vector<float> values;
    for (const auto& maps : groups)
        for (const HeatMap& map : maps)
            for (float value : map.values)
                if (std::isfinite(value)) values.push_back(value);
    if (values.empty()) return 0.0;
    const size_t rank = size_t(std::ceil(kScalePercentile * double(values.size()))) - 1;
    std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(rank), values.end());
    return double(values[rank]);
}

QVector<QImage> colorizeHeatMaps(const QVector<HeatMap>& maps, double scale, HeatColormap colormap) {
    const cv::Mat table = lookupTable(colormap);
    QVector<QImage> images;
    images.reserve(maps.size());
    for (const HeatMap& map : maps) {
        if (!map.isValid()) {
            images.append(QImage());
            continue;
        }
        const cv::Mat values(map.height, map.width, CV_32FC1, const_cast<float*>(map.values.constData()));
        cv::Mat levels;
        // 0 -> level 0, scale -> level 255; convertTo saturates outside.
        values.convertTo(levels, CV_8UC1, scale > 0 ? 255.0 / scale : 0.0);
        cv::Mat colours;
        cv::applyColorMap(levels, colours, table);
        images.append(toQImage(colours));
    }
    return images;
}

QImage heatColormapStrip(HeatColormap colormap, int width, int height) {
    if (width < 1 || height < 1) return {};
    cv::Mat levels(height, width, CV_8UC1);
    for (int x = 0; x < width; ++x)
        levels.col(x).setTo(int(std::lround(255.0 * x / std::max(1, width - 1))));
    cv::Mat colours;
    cv::applyColorMap(levels, colours, lookupTable(colormap));
    return toQImage(colours);
}
