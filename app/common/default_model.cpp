#include "default_model.h"

#include <system_error>

namespace fs = std::filesystem;

std::vector<fs::path> defaultModelCandidates(const fs::path& executablePath) {
    const fs::path executableDir = executablePath.parent_path();
    std::vector<fs::path> candidates{
        executableDir / ".." / "share" / "dcscope" / "models" / kDefaultModelName,
        executableDir / "assets" / "models" / kDefaultModelName,
    };
#ifdef DCSCOPE_SOURCE_DIR
    candidates.push_back(fs::path(DCSCOPE_SOURCE_DIR) / "assets" / "models" / kDefaultModelName);
#endif
    for (auto& candidate : candidates) candidate = candidate.lexically_normal();
    return candidates;
}

std::optional<fs::path> findDefaultModel(const fs::path& executablePath) {
    for (const fs::path& candidate : defaultModelCandidates(executablePath)) {
        std::error_code error;  // unreadable folders count as absent rather than failing startup
        if (fs::is_regular_file(candidate / "model.json", error)) return candidate;
    }
    return std::nullopt;
}
