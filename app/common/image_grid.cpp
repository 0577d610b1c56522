#include "image_grid.h"

#include <algorithm>

#include "dcscope/errors.h"

namespace dcscope {
namespace {

constexpr int kPad = 2;
constexpr uint8_t kBackground = 40;
constexpr int kLegibleTileSize = 96;

}  // namespace

PngImage composeImageGrid(const std::vector<PngImage>& tiles, int columns) {
    if (tiles.empty()) throw Error(ErrorCode::InvalidArgument, "image grid: no images");
    const PngImage& first = tiles.front();
    for (const PngImage& tile : tiles)
        if (tile.width != first.width || tile.height != first.height || tile.channels != first.channels ||
            tile.pixels.size() != size_t(tile.width) * tile.height * tile.channels || tile.width < 1 || tile.height < 1)
            throw Error(ErrorCode::InvalidArgument, "image grid: the images differ in size or channels");
    const int count = int(tiles.size());
    columns = std::clamp(columns, 1, count);
    const int rows = (count + columns - 1) / columns;
    const int width = first.width, height = first.height, channels = first.channels;
    // Tiny images are enlarged by whole pixels so a grid is legible.
    const int scale = std::max(1, kLegibleTileSize / std::max(width, height));
    const int gridWidth = columns * (width + kPad) + kPad, gridHeight = rows * (height + kPad) + kPad;
    PngImage grid;
    grid.width = gridWidth * scale;
    grid.height = gridHeight * scale;
    grid.channels = channels;
    grid.pixels.assign(size_t(grid.width) * grid.height * channels, kBackground);
    for (int b = 0; b < count; ++b) {
        const int top = kPad + (b / columns) * (height + kPad), left = kPad + (b % columns) * (width + kPad);
        for (int y = 0; y < height * scale; ++y) {
            const uint8_t* source = tiles[b].pixels.data() + size_t(y / scale) * width * channels;
            uint8_t* target = grid.pixels.data() + (size_t(top * scale + y) * grid.width + size_t(left * scale)) * channels;
            for (int x = 0; x < width * scale; ++x)
                std::copy_n(source + size_t(x / scale) * channels, channels, target + size_t(x) * channels);
        }
    }
    return grid;
}

}  // namespace dcscope
