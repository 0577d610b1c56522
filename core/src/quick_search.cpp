#include "dcscope/quick_search.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "fnv1a.h"

namespace dcscope {
namespace fs = std::filesystem;
namespace {

// Bumped whenever the search's defaults change, so old entries are not taken for new ones.
constexpr const char* kKeyVersion = "quick-search v1";

std::string describeKey(const std::string& identity, const SolverConfig& config, double guidance,
                        const QuickSearchOptions& options) {
    std::ostringstream key;
    key.precision(17);
    key << kKeyVersion << '|' << identity << '|' << toString(config.solver) << '|' << toString(config.variant) << '|'
        << config.order << '|' << config.steps << '|' << toString(config.grid) << '|' << config.lowerOrderFinal << '|'
        << config.dcOrder << '|' << guidance << '|' << options.datapoints << '|' << options.seed << '|'
        << options.groundTruthFineSteps << "|disabled";
    for (int index : config.disabledCorrectors) key << ',' << index;
    return key.str();
}

std::string cacheFileFor(const std::string& folder, const std::string& key) {
    char name[40];
    std::snprintf(name, sizeof name, "%016llx.json", static_cast<unsigned long long>(detail::fnv1a64(key.data(), key.size())));
    return (fs::path(folder) / name).string();
}

}  // namespace

std::string defaultQuickSearchCacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg && fs::path(xdg).is_absolute()) return (fs::path(xdg) / "dcscope" / "quick-search").string();
    const char* home = std::getenv("HOME");
    if (home && *home) return (fs::path(home) / ".cache" / "dcscope" / "quick-search").string();
    return {};
}

QuickSearch quickSearchRatios(DiffusionModel& model, const SolverConfig& config, double guidance,
                              const QuickSearchOptions& options, const CancelToken* cancel, const SearchObserver& observer) {
    if (options.datapoints < 1)
        throw Error(ErrorCode::InvalidArgument, "quick search: datapoints must be >= 1, got " + std::to_string(options.datapoints));
    SolverConfig plain = config;
    plain.ratios.clear();
    validate(plain);
    const auto start = std::chrono::steady_clock::now();
    const std::string identity = modelIdentity(model);
    const std::string folder = options.cacheDir.empty() ? defaultQuickSearchCacheDir() : options.cacheDir;
    const std::string key = describeKey(identity, plain, guidance, options);
    QuickSearch result;
    if (options.useCache && !identity.empty() && !folder.empty()) result.cacheFile = cacheFileFor(folder, key);
    if (!result.cacheFile.empty()) {
        std::error_code error;
        if (fs::is_regular_file(result.cacheFile, error)) {
            try {
                std::vector<double> cached = loadRatios(result.cacheFile);
                if (int(cached.size()) == plain.steps) {
                    result.ratios = std::move(cached);
                    result.fromCache = true;
                    return result;
                }
            } catch (const std::exception&) {
                // Unreadable (a crash mid-write cannot leave one: writes are atomic): search again.
            }
        }
    }

    const Datapoints batch = makeDatapoints(model, options.seed, options.datapoints);
    GuidedDenoiser denoiser(model, Conditioning{batch.classes, guidance}, cancel);
    const at::Tensor noise = batch.noise.to(parseDevice(options.device));
    GroundTruthOptions truthOptions;
    truthOptions.fineSteps = options.groundTruthFineSteps;
    const MultistepSampler sampler(model.schedule(), plain);
    const GroundTruth truth = computeGroundTruth(denoiser, noise, sampler.times(), truthOptions);
    const SearchResult searched = searchRatios(denoiser, noise, plain, truth, SearchOptions{}, observer);
    result.ratios = searched.ratios;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.cacheFile.empty()) {
        std::error_code error;
        fs::create_directories(folder, error);
        const nlohmann::json metadata = {{"nfe", plain.steps},
                                         {"cfg", guidance},
                                         {"solver", toString(plain.solver)},
                                         {"variant", toString(plain.variant)},
                                         {"order", plain.order},
                                         {"grid", toString(plain.grid)},
                                         {"dc_order", plain.dcOrder},
                                         {"model", identity},
                                         {"source", "quick search: " + std::to_string(options.datapoints) + " datapoints from seed " +
                                                        std::to_string(options.seed)},
                                         {"key", key}};
        try {
            saveRatios(result.cacheFile, result.ratios, metadata);
        } catch (const std::exception&) {
            result.cacheFile.clear();  // a read-only cache costs a search next time, nothing else
        }
    }
    return result;
}

}  // namespace dcscope
