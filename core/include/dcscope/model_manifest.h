#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "dcscope/model.h"
#include "dcscope/package_compensation.h"
#include "dcscope/schedule.h"

namespace dcscope {

/// What a package's model.json says (spec section 8 plus the compensation entry), checked field
/// by field. The files it names are relative to the package folder, as written.
struct ModelManifest {
    ModelInfo info;  ///< everything but hasDecoder and description, which need the networks
    NoiseSchedule schedule;
    std::string networkFile;
    std::string decoderFile;  ///< empty when the package has no decoder
    std::optional<PackageCompensation> compensation;
};

/// Reads and checks `manifest` (the parsed model.json at `manifestPath`; the compensation entry's
/// files are read relative to it). Loads no network. Throws Error(BadFile) with one line naming
/// model.json and the field at fault. Any thread.
ModelManifest readModelManifest(const nlohmann::json& manifest, const std::string& manifestPath);

}  // namespace dcscope
