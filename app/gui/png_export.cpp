#include "png_export.h"

#include <algorithm>
#include <vector>

#include "image_grid.h"
#include "reproduction_png.h"
#include "sampling_request.h"

dcscope::PngImage pngImageOf(const QImage& image, bool grey) {
    const QImage converted = image.convertToFormat(grey ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
    dcscope::PngImage png;
    png.width = converted.width();
    png.height = converted.height();
    png.channels = grey ? 1 : 3;
    const int rowBytes = png.width * png.channels;
    png.pixels.resize(size_t(rowBytes) * png.height);
    // QImage rows are padded to 4 bytes: copy row by row.
    for (int y = 0; y < png.height; ++y)
        std::copy_n(converted.constScanLine(y), rowBytes, png.pixels.data() + size_t(y) * rowBytes);
    return png;
}

dcscope::PngImage exportGrid(const QVector<QImage>& images, int columns) {
    // One channel count for the whole grid: grey only when every image is stored grey.
    const bool grey = std::all_of(images.begin(), images.end(),
                                  [](const QImage& image) { return image.format() == QImage::Format_Grayscale8; });
    std::vector<dcscope::PngImage> tiles;
    for (const QImage& image : images) tiles.push_back(pngImageOf(image, grey));
    return dcscope::composeImageGrid(tiles, columns);
}

void writeExportPng(const QString& path, const dcscope::PngImage& image, const dcscope::ReproductionRecord& record) {
    dcscope::writePng(path.toStdString(), image, dcscope::reproductionText(record));
}

int classChoiceOf(const dcscope::ReproductionRecord& record) {
    const auto& classes = record.classes;
    if (classes.empty()) return SamplingRequest::kUnconditional;
    const bool allSame = std::all_of(classes.begin(), classes.end(), [&](int64_t c) { return c == classes.front(); });
    if (allSame && classes.size() == 1) return int(classes.front());
    const int64_t count = *std::max_element(classes.begin(), classes.end()) + 1;
    bool inTurn = classes.size() > 1;
    for (size_t i = 0; i < classes.size() && inTurn; ++i) inTurn = classes[i] == int64_t(i) % count;
    if (inTurn) return SamplingRequest::kEachClassInTurn;
    return allSame ? int(classes.front()) : SamplingRequest::kEachClassInTurn;
}
