#pragma once

#include <vector>

#include "png_metadata.h"

namespace dcscope {

/// Lays equal-sized 8-bit tiles (same channel count) out `columns` wide, 2 px apart on a dark
/// grey background, then enlarges the whole grid by a whole factor (nearest neighbour) so that
/// tiles of small images are about 96 px: the one layout of every image grid dcscope exports
/// (the CLI's --png and the window's pane export). Throws Error(InvalidArgument) for no tiles or
/// tiles that differ in size or channels. Any thread.
PngImage composeImageGrid(const std::vector<PngImage>& tiles, int columns);

}  // namespace dcscope
