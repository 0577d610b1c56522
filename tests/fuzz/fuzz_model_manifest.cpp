// model.json text -> readModelManifest (every field TorchScriptModel::open checks before it loads
// a network, the compensation entry included). Text that is not JSON stops at the JSON library,
// as in open(); the fuzzer still learns from it.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/model_manifest.h"
#include "fuzz_package_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& manifestPath = FuzzPackageFolder::manifestPath();
    const auto manifest = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
    if (manifest.is_discarded()) return 0;
    try {
        (void)dcscope::readModelManifest(manifest, manifestPath);
    } catch (const dcscope::Error&) {
    }
    return 0;
}
