#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcscope {

/// An 8-bit image, rows top to bottom, channels interleaved: 1 gray, 2 gray + alpha, 3 RGB,
/// 4 RGBA. pixels.size() == width * height * channels.
struct PngImage {
    int width = 0;
    int height = 0;
    int channels = 1;
    std::vector<uint8_t> pixels;
};

/// One text chunk. Written as iTXt (UTF-8) when `utf8` is set or the text is not plain ASCII,
/// else as tEXt (which other tools read most widely). Read back from tEXt, zTXt and iTXt alike,
/// with `utf8` telling which it was (Latin-1 tEXt/zTXt text is converted to UTF-8).
struct PngTextChunk {
    std::string keyword;  ///< 1-79 printable ASCII characters, no leading/trailing space
    std::string text;
    bool utf8 = false;
};

/// A decoded PNG: pixels expanded to 8 bits (palette to RGB, transparency to alpha, 16 bits
/// stripped) and every text chunk, in file order.
struct DecodedPng {
    PngImage image;
    std::vector<PngTextChunk> text;
};

/// Encodes the image with the text chunks (before the image data) into PNG bytes. Throws
/// dcscope::Error(InvalidArgument) for an inconsistent image or a bad keyword. Any thread.
std::string encodePng(const PngImage& image, const std::vector<PngTextChunk>& text);

/// encodePng, then writes the bytes atomically (the file is the old one or the complete new one).
/// Throws dcscope::Error(BadFile) naming the file when it cannot be written.
void writePng(const std::string& path, const PngImage& image, const std::vector<PngTextChunk>& text);

/// Decodes PNG bytes; `source` names the file in errors. Every problem (not a PNG, truncated,
/// damaged chunk, bad CRC, absurd size) is one dcscope::Error(BadFile) line naming `source`.
DecodedPng decodePng(const std::string& bytes, const std::string& source);

/// The text chunks of a PNG file (the whole file is read and checked, pixels discarded).
/// Throws dcscope::Error(BadFile) naming the file when it is missing, not a PNG or damaged.
std::vector<PngTextChunk> readPngText(const std::string& path);

/// The text of the first chunk named `keyword`, or nullptr.
const PngTextChunk* findPngText(const std::vector<PngTextChunk>& chunks, const std::string& keyword);

}  // namespace dcscope
