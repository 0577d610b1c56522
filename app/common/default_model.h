#pragma once

#include <filesystem>
#include <optional>
#include <vector>

/// Name of the model package the applications open when none is given.
inline constexpr const char* kDefaultModelName = "fashion";

/// Folders that may hold the default package, in the order they are tried: next to an installed
/// executable (<exe dir>/../share/dcscope/models/fashion), beside it (<exe dir>/assets/models/
/// fashion), then in the source tree the binary was built from (DCSCOPE_SOURCE_DIR, when defined).
std::vector<std::filesystem::path> defaultModelCandidates(const std::filesystem::path& executablePath);

/// The first candidate folder that contains a model.json, or nothing. Plain std::filesystem, no Qt,
/// so both the GUI and the CLI can use it; callable from any thread.
std::optional<std::filesystem::path> findDefaultModel(const std::filesystem::path& executablePath);
