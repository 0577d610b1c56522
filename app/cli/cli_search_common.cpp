#include "cli_search_common.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/cpr.h"
#include "dcscope/package_compensation.h"
#include "dcscope/errors.h"

namespace dcscope::cli {

void addOptimizerFlags(CLI::App& command, SearchOptions& search) {
    ScanOptions& scan = search.scan;
    command.add_option("--scan-lower", scan.lower, "scan: smallest ratio scanned")->capture_default_str();
    command.add_option("--scan-upper", scan.upper, "scan: largest ratio scanned")->capture_default_str();
    command.add_option("--scan-density", scan.pointsPerOctave, "scan: points per doubling of rho (rho = 2^(j/density))")
        ->capture_default_str();
    command.add_option("--refine", scan.refineBudget, "scan: Brent evaluations after the scan, per step")->capture_default_str();
    command.add_option("--final-refine", search.finalRefineSteps,
                       "scan: choose the last N ratios again against the final state, kept where leave-one-out agrees (a ratio "
                       "below 1: where no search datapoint loses; 0: off)")
        ->capture_default_str();
    command.add_flag("--no-final-interpolation", [&search](int64_t) { search.finalInterpolatingRatios.clear(); },
                     "scan: the final-state step only gives back part of a greedy move, without trying the ratios below 1 "
                     "that it keeps where no search datapoint loses");
    command.add_flag("--state-loss-only", [&search](int64_t) { search.predictionLoss = false; },
                     "scan: the paper's step loss (the state's MSE at t_{k+1}) without the data prediction's");
    GoldenOptions& golden = search.golden;
    command.add_option("--budget", golden.budget, "golden: loss evaluations per step")->capture_default_str();
    command.add_option("--golden-step", golden.initialStep, "golden: first bracketing step")->capture_default_str();
    command.add_option("--golden-range", golden.maxDeviation, "golden: search only |rho - 1| <= this");
    command.add_flag("--golden-log", golden.logScale, "golden: search log(rho) (keeps rho > 0)");
    command.add_option("--free-budget", search.freeTrialBudget, "scan, golden: evaluations per step when a trial needs no model call")
        ->capture_default_str();
    command.add_option("--shrink", search.shrink, "scan, golden: keep this fraction of the move from rho = 1 to the minimum")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
}

void addGroundTruthFlags(CLI::App& command, GroundTruthFlags& flags) {
    command.add_option("--fine", flags.fine,
                       "Fine steps of the ground truth in total, split equally over the NFE intervals (default: " +
                           describeFineSteps(kDefaultFineSteps) + ")")
        ->default_str("auto");
    command.add_option("--fine-solver", flags.fineSolver, "Fine solver of the ground truth: ddim or dpmpp2m")->capture_default_str();
    command.add_flag("--no-cache", flags.noCache, "Neither read nor write the ground-truth cache");
}

GroundTruthOptions toGroundTruthOptions(const GroundTruthFlags& flags) {
    resolveFineSteps(flags.fine, 1);  // refuses a negative count before any work
    GroundTruthOptions options;
    options.fineSteps = flags.fine;
    options.fineSolver = parseFineSolver(flags.fineSolver);
    options.useCache = !flags.noCache;
    return options;
}

std::vector<double> ratiosForConfig(const std::string& path, const SolverConfig& config) {
    SolverConfig checked = config;
    checked.ratios = loadRatios(path);
    if (checked.ratios.size() != size_t(config.steps))
        throw Error(ErrorCode::InvalidArgument, path + ": has " + std::to_string(checked.ratios.size()) + " ratios, --nfe is " +
                                                    std::to_string(config.steps));
    try {
        validate(checked);
    } catch (const Error& e) {
        throw Error(e.code(), path + ": " + e.what());
    }
    return checked.ratios;
}

std::vector<double> cprRatiosForConfig(const std::string& path, const SolverConfig& config, double cfg) {
    SolverConfig checked = config;
    checked.ratios = predictCprRatios(loadCprCoefficientsFrom(path), cfg, config.steps);
    try {
        validate(checked);
    } catch (const Error& e) {
        throw Error(e.code(), path + ": " + e.what());
    }
    return checked.ratios;
}

std::string groundTruthWarning(double groundTruthErrorRms, double smallestMse, FineSolver fineSolver) {
    if (!groundTruthTooCoarse(groundTruthErrorRms, smallestMse)) return {};
    // Only DDIM has a better fine solver to switch to; suggesting the one in use would mislead.
    const std::string remedy = fineSolver == FineSolver::Ddim
                                   ? "raise --fine (or use --fine-solver " + toString(FineSolver::DpmSolverPlusPlus2M) + ")"
                                   : std::string("raise --fine");
    // NaN: one fine step per interval leaves nothing to halve, so the error is unknown.
    if (std::isnan(groundTruthErrorRms))
        return "warning: the ground truth's own error cannot be measured with one fine step per interval: " + remedy;
    char text[256];
    std::snprintf(text, sizeof text,
                  "warning: the ground truth's own rms error %.3e is not below a tenth of the smallest rms error in the table (%.3e): %s",
                  groundTruthErrorRms, std::sqrt(std::max(0.0, smallestMse)), remedy.c_str());
    return text;
}

void warnIfGroundTruthTooCoarse(const HeldOutEvaluation& evaluation, FineSolver fineSolver) {
    double smallest = std::numeric_limits<double>::infinity();
    for (const auto& row : evaluation.rows) smallest = std::min(smallest, row.mse.mean);
    const std::string warning = evaluation.rows.empty() ? std::string() : groundTruthWarning(evaluation.groundTruthErrorRms, smallest, fineSolver);
    if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
}

SearchObserver searchProgressPrinter(bool quiet) {
    if (quiet) return {};
    return [](const SearchStepReport& report) {
        if (!report.searched) {
            std::fprintf(stderr, "search step %d/%d  rho = 1 (warm-up)  mse %.4e  evals %d  %.2f s\n", report.step, report.totalSteps,
                         report.lossAfter, report.evaluations, report.seconds);
        } else {
            char prediction[64] = "";
            if (std::isfinite(report.predictionLossBefore))
                std::snprintf(prediction, sizeof prediction, "  prediction mse %.4e -> %.4e", report.predictionLossBefore,
                              report.predictionLossAfter);
            std::fprintf(stderr, "search step %d/%d  rho = %.5f  mse %.4e -> %.4e%s  evals %d  %.2f s\n", report.step,
                         report.totalSteps, report.rho, report.lossBefore, report.lossAfter, prediction, report.evaluations,
                         report.seconds);
        }
        std::fflush(stderr);
    };
}

}  // namespace dcscope::cli
