#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/solver.h"

namespace dcscope {

/// Mean of a sample with its two-sided 95% Student-t confidence interval
/// mean +- t_{0.975, n-1} * sd / sqrt(n) (sd with n - 1 in the denominator). For n = 1 the
/// interval is [mean, mean] and sd is 0.
struct MeanInterval {
    double mean = 0.0;
    double lower = 0.0;
    double upper = 0.0;
    double standardDeviation = 0.0;
    int count = 0;
};
/// Throws Error(InvalidArgument) for an empty sample.
MeanInterval meanWithInterval(const std::vector<double>& values);
/// The 0.975 quantile of Student's t with `degreesOfFreedom` (>= 1) degrees of freedom.
double studentT975(int degreesOfFreedom);

/// The ratio of means sum(numerator) / sum(denominator) of paired per-datapoint values (e.g. the
/// held-out MSE of DC over that of plain UniPC) with a 95% percentile bootstrap interval:
/// `resamples` draws of the pairs with replacement from a generator seeded with `seed`, so a
/// table is reproducible. Throws Error(InvalidArgument) for empty or unequal samples, or a
/// non-positive denominator sum.
struct RatioInterval {
    double ratio = 0.0;
    double lower = 0.0;
    double upper = 0.0;
};
RatioInterval ratioOfMeansInterval(const std::vector<double>& numerator, const std::vector<double>& denominator, int resamples = 2000,
                                   uint64_t seed = 0);

/// A ground truth can judge solver errors only when its own error is well below them: true when
/// its RMS error (GroundTruth::errorRms) is not below a tenth of the smallest RMS error
/// sqrt(MSE) it is compared with, or is unknown (NaN).
bool groundTruthTooCoarse(double groundTruthErrorRms, double smallestMse);

/// The larger of two ground-truth errors, where unknown (NaN) wins: a table that used one ground
/// truth of unknown error has an unknown ground-truth error.
double worseGroundTruthError(double a, double b);

/// One solver configuration to evaluate, with the name printed in tables.
struct EvaluationEntry {
    std::string name;
    SolverConfig config;
};

struct EvaluationRow {
    std::string name;
    SolverConfig config;
    MeanInterval mse;                  ///< over datapoints of the per-datapoint final-state MSE
    std::vector<double> perDatapoint;  ///< mean over elements of (x_S - x_S^GT)^2, one per datapoint
    int modelEvaluations = 0;          ///< model calls of this configuration over the whole batch run
};

struct HeldOutEvaluation {
    std::vector<EvaluationRow> rows;   ///< in the order of the entries
    double groundTruthError = 0.0;     ///< largest ground-truth error over the grids used (NaN if unknown)
    double groundTruthErrorRms = 0.0;  ///< largest GroundTruth::errorRms over the grids used (NaN if unknown)
    int groundTruthEvaluations = 0;    ///< model calls spent on ground truths (0 when all were cached)
};

/// The per-datapoint MSE of the paper's metric: for each datapoint of `x` (dim 0) the mean over
/// its elements of (x - reference)^2, in double on the CPU. Non-finite values are kept.
std::vector<double> perDatapointSquaredError(const at::Tensor& x, const at::Tensor& reference);

/// The paper's metric (spec section 6): for every entry, the MSE of the final state against the
/// ground-truth final state, per datapoint of `noise` (conditioning in the denoiser), summarised
/// with a 95% interval. Use datapoints the search did not see (makeDatapoints with
/// seed + kHeldOutSeedOffset). One ground truth per distinct time grid among the entries.
/// Runs on the caller's thread; cancellable through the denoiser's token.
HeldOutEvaluation evaluateHeldOut(GuidedDenoiser& denoiser, const at::Tensor& noise, const std::vector<EvaluationEntry>& entries,
                                  const GroundTruthOptions& groundTruthOptions = {});

}  // namespace dcscope
