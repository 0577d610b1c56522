// .npy bytes -> parseNpy (what loadNpy reads from disk).
#include <cstdint>
#include <cstdlib>
#include <string>

#include <ATen/core/Tensor.h>

#include "dcscope/errors.h"
#include "dcscope/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const at::Tensor tensor = dcscope::parseNpy(bytes, "fuzz.npy");
        // Every element came from the input: a tensor larger than it means the size check failed.
        if (size_t(tensor.numel()) * tensor.element_size() > size) std::abort();
    } catch (const dcscope::Error&) {
    }
    return 0;
}
