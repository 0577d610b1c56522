// Ratio file text (a plain list, or an object with "ratios" and metadata) -> parseRatios, and the
// CPR fit's reading of the same file (parseCprSample: "cfg" and "nfe" too).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dcscope/compensation.h"
#include "dcscope/cpr.h"
#include "dcscope/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto ratios = dcscope::parseRatios(text, "fuzz_ratios.json");
        if (ratios.empty()) std::abort();
        for (double rho : ratios)
            if (!std::isfinite(rho)) std::abort();
    } catch (const dcscope::Error&) {
    }
    try {
        const auto sample = dcscope::parseCprSample(text, "fuzz_ratios.json");
        if (!std::isfinite(sample.guidance) || sample.ratios.empty()) std::abort();
    } catch (const dcscope::Error&) {
    }
    return 0;
}
