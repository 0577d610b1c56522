// A PNG's dcscope chunk text -> parseReproductionRecord (what sample --from-png reads).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dcscope/errors.h"
#include "dcscope/reproduction.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const dcscope::ReproductionRecord record = dcscope::parseReproductionRecord(text, "fuzz.png (dcscope chunk)");
        // What it accepts it writes back, and reads again as the same record.
        const std::string json = dcscope::toJson(record);
        if (dcscope::toJson(dcscope::parseReproductionRecord(json, "round trip")) != json) std::abort();
        if (dcscope::parametersText(record).find('\n') != std::string::npos) std::abort();
    } catch (const dcscope::Error&) {
    }
    return 0;
}
