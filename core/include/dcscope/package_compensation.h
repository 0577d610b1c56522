#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dcscope/cpr.h"

namespace dcscope {

/// The optional "compensation" entry of a model package's model.json (README, "Model packages"):
///
///     "compensation": {"cpr": "compensation/cpr.npy",
///                      "ratio_files": ["compensation/ratios_nfe10_cfg3.json", ...],
///                      "solver": "unipc", "variant": "bh2", "order": 2, "grid": "time_uniform"}
///
/// `cpr` names CPR coefficients fitted for the package's network; `ratio_files` the searched
/// ratio files they were fitted to (dcscope ratio files, each with its "nfe" and "cfg"); the
/// solver fields say which solver they were searched for.
struct PackageCompensation {
    std::string cprFile;                 ///< absolute path; empty when the entry names none
    std::optional<CprCoefficients> cpr;  ///< loaded from cprFile
    std::vector<std::string> ratioFiles; ///< absolute paths
    std::vector<CprSample> ratioSamples; ///< loaded from ratioFiles, in order
    std::string solver;                  ///< as written (informative)
};

/// Reads and checks the entry of `manifest` (the parsed model.json at `manifestPath`). Returns
/// nothing when there is no entry. Throws Error(BadFile) with one line naming model.json's field
/// and the file at fault: a field of the wrong type, a missing file, a malformed .npy or ratio file.
std::optional<PackageCompensation> readPackageCompensation(const nlohmann::json& manifest, const std::string& manifestPath);

/// The compensation entry of the package folder (or model.json) at `package`, read and checked
/// as readPackageCompensation does; nothing when the package has none. Throws Error(BadFile)
/// naming the path when it is not a package or its model.json is malformed. Any thread.
std::optional<PackageCompensation> loadPackageCompensation(const std::string& package);

/// CPR coefficients from a `.npy` file, or from a package folder (or its model.json) through its
/// compensation entry. Throws Error(BadFile) naming the path when a package has no CPR entry.
CprCoefficients loadCprCoefficientsFrom(const std::string& path);

}  // namespace dcscope
