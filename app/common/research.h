#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "dcscope/cancel.h"
#include "dcscope/cpr.h"
#include "dcscope/evaluation.h"
#include "dcscope/ground_truth.h"
#include "dcscope/model.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"

/// The research jobs both front ends run (`dcscope-cli search | evaluate | cpr fit` and the
/// window's research panels), defined once so the same settings give the same numbers in both:
/// which datapoints, which ground truth, which table rows under which names.
namespace dcscope {

/// Short label of a solver configuration in tables and file names, e.g. "unipc-bh2-2", "dpmpp-2".
std::string solverLabel(const SolverConfig& config);

/// The metadata written next to searched ratios (everything needed to reproduce the search).
nlohmann::json searchMetadata(const SolverConfig& config, double cfg, const std::string& model, const SearchOptions& search,
                              int datapoints, uint64_t seed, const GroundTruthOptions& groundTruth, double groundTruthError,
                              const SearchResult& result);

/// What a search needs besides the model and the solver.
struct RatioSearchSettings {
    double guidance = 1.0;
    int datapoints = 10;    ///< search batch: seeds seed .. seed + n - 1, classes in turn (makeDatapoints)
    uint64_t seed = 0;
    SearchOptions options;
    GroundTruthOptions groundTruth;
    c10::Device device = c10::Device(c10::kCPU);  ///< where the model runs; the noise is drawn on the CPU
};

struct RatioSearchRun {
    SearchResult result;
    double groundTruthError = 0.0;
    int groundTruthEvaluations = 0;  ///< 0 when read from the cache
    bool groundTruthFromCache = false;
    nlohmann::json metadata;         ///< searchMetadata() for saveRatios
};

/// The search of `dcscope-cli search`: the batch's ground truth through the solver's grid (with
/// `truthProgress` after each of its model calls), then searchRatios (with `observer` after each
/// step). Throws Error(InvalidArgument) for options validate() refuses, before any model call;
/// cancellable between model calls (Error(Cancelled)). Runs on the caller's thread.
RatioSearchRun runRatioSearch(DiffusionModel& model, const SolverConfig& config, const RatioSearchSettings& settings,
                              const CancelToken* cancel = nullptr, const SearchObserver& observer = {},
                              const GroundTruthProgress& truthProgress = {});

/// The rows of a held-out table, in the CLI's order and names: `base` plain ("unipc-bh2-2"), one
/// row per named ratio set ("unipc-bh2-2+DC(NAME)"), the CPR prediction when given
/// ("unipc-bh2-2+CPR"), then, with `baselines`, DPM-Solver++ (2M) and DDIM at the same NFE and
/// grid (a baseline equal to the base solver is skipped).
std::vector<EvaluationEntry> heldOutEntries(const SolverConfig& base, const std::vector<std::pair<std::string, std::vector<double>>>& dcRatios,
                                            const std::optional<std::vector<double>>& cprRatios, bool baselines);

/// The held-out batch of a search seeded `seed`: datapoints from seed + kHeldOutSeedOffset on.
struct HeldOutSettings {
    double guidance = 1.0;
    int datapoints = 32;  ///< at least 2 (an interval needs two)
    uint64_t seed = 0;
    GroundTruthOptions groundTruth;
    c10::Device device = c10::Device(c10::kCPU);
};

/// `dcscope-cli evaluate`: evaluateHeldOut of `entries` on the held-out batch. Throws
/// Error(InvalidArgument) for fewer than 2 datapoints; cancellable (Error(Cancelled)).
HeldOutEvaluation runHeldOutEvaluation(DiffusionModel& model, const std::vector<EvaluationEntry>& entries,
                                       const HeldOutSettings& settings, const CancelToken* cancel = nullptr);

/// A CPR fit from fresh searches over an NFE x guidance grid (what tools/fit_package_ratios.sh
/// does with the CLI): one search per (nfe, guidance) with the same batch settings, then fitCpr.
struct CprGridSettings {
    std::vector<int> nfes;
    std::vector<double> guidances;
    RatioSearchSettings search;  ///< its guidance is replaced by each grid value
};

/// Called after every searched step of every configuration: (index of the configuration,
/// configurations in all, its nfe and guidance, the step).
using CprGridObserver = std::function<void(int configuration, int configurations, int nfe, double guidance, const SearchStepReport&)>;

struct CprGridFit {
    std::vector<CprSample> samples;        ///< one per configuration, source "nfe N, cfg W"
    std::vector<nlohmann::json> metadata;  ///< each search's searchMetadata (for its ratio file)
    CprFit fit;
    int evaluations = 0;                   ///< model calls of the searches and their ground truths
    double seconds = 0.0;
};

/// Throws Error(InvalidArgument) naming the field when the grid cannot determine the 36
/// coefficients (fewer than 3 distinct NFE >= 3 or guidance values) before searching anything;
/// cancellable between model calls.
CprGridFit fitCprFromSearchGrid(DiffusionModel& model, const SolverConfig& base, const CprGridSettings& settings,
                                const CancelToken* cancel = nullptr, const CprGridObserver& observer = {});

}  // namespace dcscope
