#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "cli_common.h"
#include "dcscope/evaluation.h"
#include "dcscope/ground_truth.h"
#include "dcscope/search.h"
#include "research.h"

namespace dcscope::cli {

/// Ground-truth flags shared by gt, search, evaluate and search-bench.
struct GroundTruthFlags {
    int fine = kDefaultFineSteps;  ///< 0: defaultFineSteps(NFE)
    std::string fineSolver = toString(GroundTruthOptions{}.fineSolver);
    bool noCache = false;
};
void addGroundTruthFlags(CLI::App& command, GroundTruthFlags& flags);
GroundTruthOptions toGroundTruthOptions(const GroundTruthFlags& flags);

/// The derivative-free optimisers' flags (scan, golden, shrink), shared by search and search-bench.
void addOptimizerFlags(CLI::App& command, SearchOptions& search);

/// Ratios from --ratios FILE for `config`: Error(InvalidArgument) naming the file when their
/// count differs from the config's NFE or they are invalid for it (rho_k != 1 for k < dc-order).
std::vector<double> ratiosForConfig(const std::string& path, const SolverConfig& config);

/// Ratios predicted from --cpr FILE for the config's NFE and guidance `cfg`, validated for it.
std::vector<double> cprRatiosForConfig(const std::string& path, const SolverConfig& config, double cfg);

/// The warning line for a ground truth too coarse to judge errors down to smallestMse
/// (groundTruthTooCoarse), naming the flags that fix it for `fineSolver`; empty when it is fine.
std::string groundTruthWarning(double groundTruthErrorRms, double smallestMse, FineSolver fineSolver);

/// A warning on stderr when the evaluation's ground truth is too coarse to judge its table
/// (groundTruthTooCoarse against the smallest mean MSE of its rows), naming the flags that fix it.
void warnIfGroundTruthTooCoarse(const HeldOutEvaluation& evaluation, FineSolver fineSolver);

/// One stderr line per searched step, unless quiet.
SearchObserver searchProgressPrinter(bool quiet);

}  // namespace dcscope::cli
