#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dcscope/cancel.h"
#include "dcscope/model.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"

namespace dcscope {

/// First datapoint of a quick search's batch: far from the seeds people look at (0, 1, ...), so
/// the ratios are not fitted to the very samples they are judged on.
inline constexpr uint64_t kQuickSearchSeed = 20000;

struct QuickSearchOptions {
    int datapoints = 8;                 ///< search batch: datapoints seed .. seed + n - 1, classes in turn
    uint64_t seed = kQuickSearchSeed;
    int groundTruthFineSteps = kDefaultFineSteps;  ///< of the search's ground truth
    std::string device = "cpu";         ///< where the model runs (parseDevice); the noise is drawn on the CPU
    std::string cacheDir;               ///< empty: defaultQuickSearchCacheDir()
    bool useCache = true;
};

struct QuickSearch {
    std::vector<double> ratios;  ///< S values for the solver it was run for
    bool fromCache = false;
    std::string cacheFile;       ///< empty when not cached (no identity or no folder)
    double seconds = 0.0;        ///< spent here (ground truth and search; ~0 from the cache)
};

/// $XDG_CACHE_HOME/dcscope/quick-search, else $HOME/.cache/dcscope/quick-search; empty when
/// neither is set.
std::string defaultQuickSearchCacheDir();

/// Ratios for a model that ships none: the project's search (default options) on a small batch
/// with its own ground truth, for `config` (its ratios ignored) at guidance `guidance`, cached on
/// disk under a key of the model's identity, every solver setting, the guidance and these
/// options, as a dcscope ratio file. A cached file that cannot be read is searched again and
/// rewritten. Cancellable between model calls (Error(Cancelled)); `observer` sees every step of
/// the search. Runs on the caller's thread.
QuickSearch quickSearchRatios(DiffusionModel& model, const SolverConfig& config, double guidance,
                              const QuickSearchOptions& options = {}, const CancelToken* cancel = nullptr,
                              const SearchObserver& observer = {});

}  // namespace dcscope
