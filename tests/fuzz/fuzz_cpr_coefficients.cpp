// CPR coefficient .npy bytes -> parseCprCoefficients, then a prediction from what it accepted.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dcscope/cpr.h"
#include "dcscope/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const dcscope::CprCoefficients coefficients = dcscope::parseCprCoefficients(bytes, "fuzz_cpr.npy");
        for (double c : coefficients)
            if (!std::isfinite(c)) std::abort();  // the parser promises finite coefficients
        (void)dcscope::predictCprRatios(coefficients, 3.0, 10);
    } catch (const dcscope::Error&) {
    }
    return 0;
}
