// The "compensation" entry of model.json (its JSON value) -> readPackageCompensation, which
// resolves and reads the files it names relative to a throwaway package folder.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/package_compensation.h"
#include "fuzz_package_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& manifestPath = FuzzPackageFolder::manifestPath();
    auto entry = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded()) return 0;
    nlohmann::json manifest = nlohmann::json::object();
    manifest["compensation"] = std::move(entry);
    try {
        (void)dcscope::readPackageCompensation(manifest, manifestPath);
    } catch (const dcscope::Error&) {
    }
    return 0;
}
