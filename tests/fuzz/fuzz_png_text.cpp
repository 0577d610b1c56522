// PNG bytes -> decodePng (what sample --from-png reads, through readPngText).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dcscope/errors.h"
#include "png_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const dcscope::DecodedPng png = dcscope::decodePng(bytes, "fuzz.png");
        const auto& image = png.image;
        if (image.channels < 1 || image.channels > 4 ||
            image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(image.channels))
            std::abort();
    } catch (const dcscope::Error&) {
    }
    return 0;
}
