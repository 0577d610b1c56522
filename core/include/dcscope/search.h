#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"

namespace dcscope {

// ---- datapoints ----------------------------------------------------------------------------

/// Held-out datapoints use seeds from (search seed + kHeldOutSeedOffset) on, so they never
/// coincide with a search batch of fewer than a million datapoints.
constexpr uint64_t kHeldOutSeedOffset = 1000000;

/// A batch of start noises with their conditions.
struct Datapoints {
    at::Tensor noise;    ///< float32 [B, sampleShape...] on CPU
    at::Tensor classes;  ///< int64 [B] or undefined (unconditional model)
    uint64_t firstSeed = 0;
};

/// Datapoint i (0-based) has noise N(0, I) from a CPU generator seeded with firstSeed + i (so a
/// datapoint does not depend on the batch it is in) and class i % numClasses, or no class when the
/// model is unconditional. Throws Error(InvalidArgument) for count < 1.
Datapoints makeDatapoints(const DiffusionModel& model, uint64_t firstSeed, int count);

// ---- one-dimensional optimisers --------------------------------------------------------------

/// The paper's optimiser (spec section 6).
struct AdamWOptions {
    double learningRate = 0.1;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weightDecay = 0.01;
    double start = 1.0;
    int iterations = 40;
};

/// Derivative-free minimisation: bracket from `start` with steps `initialStep` growing by the
/// golden ratio (parabolic extrapolation when it is safe), then Brent's method (parabolic steps
/// with golden-section fallback) inside the bracket, until `budget` loss evaluations are spent or
/// the bracket is narrower than `tolerance`.
struct GoldenOptions {
    double start = 1.0;
    double initialStep = 0.1;
    int budget = 8;
    double tolerance = 1e-4;
    /// Search u = log(x) instead of x (start must be > 0): x stays positive and the steps are
    /// relative. initialStep and tolerance are then in units of u.
    bool logScale = false;
    /// Only x in [start - maxDeviation, start + maxDeviation] is tried (infinity: unbounded).
    double maxDeviation = std::numeric_limits<double>::infinity();
};

struct Minimum1D {
    double x = 0.0;      ///< the argument chosen
    double value = 0.0;  ///< loss at x (golden); for adamw the loss at the last evaluated iterate
    int evaluations = 0; ///< loss evaluations (adamw: forward passes; each also had a backward)
};

/// Minimises a scalar function of one variable; non-finite values count as +infinity. Returns
/// the best point evaluated.
Minimum1D minimiseGolden(const std::function<double(double)>& loss, const GoldenOptions& options = {});

/// AdamW (torch::optim::AdamW on a 0-dim double parameter) on a differentiable loss: `loss`
/// receives the parameter (requires grad) and returns a 0-dim tensor. Keeps the LAST iterate, as
/// the paper does. Throws Error(NonFinite) when the parameter becomes non-finite.
Minimum1D minimiseAdamW(const std::function<at::Tensor(const at::Tensor&)>& loss, const AdamWOptions& options = {});

// ---- the greedy ratio search -----------------------------------------------------------------

enum class RatioOptimizer { AdamW, Golden };
RatioOptimizer parseRatioOptimizer(const std::string& name);  ///< adamw | golden
std::string toString(RatioOptimizer optimizer);

struct SearchOptions {
    RatioOptimizer optimizer = RatioOptimizer::Golden;
    AdamWOptions adamw;
    GoldenOptions golden;
    /// golden's budget at steps whose trials need no model call (the last update, and every
    /// update of DDIM / DPM-Solver++): such trials cost only tensor arithmetic, so the minimum is
    /// located to the tolerance instead of within golden.budget evaluations.
    int freeTrialBudget = 40;
    /// golden keeps this fraction of the move from 1 to the batch's minimum: rho_k = 1 +
    /// goldenShrink * (argmin - 1). The minimum over 10 datapoints overshoots the held-out one,
    /// because the datapoints most sensitive to rho are rare and a small batch usually lacks them;
    /// on search-bench 0.9 beats both 1 (the plain minimum) and the paper's adamw in most
    /// settings (README). 1 gives the plain minimum.
    double goldenShrink = 0.9;
};

/// One searched step (also the warm-up steps k < K, which keep rho = 1 and are not searched).
struct SearchStepReport {
    int step = 0;            ///< k: rho_k is used by the update t_k -> t_{k+1}
    int totalSteps = 0;      ///< S
    bool searched = false;   ///< false for k < dc-order (rho_k = 1 by definition)
    double rho = 1.0;
    double lossBefore = 0.0; ///< MSE vs the ground truth at t_{k+1} with rho = 1
    double lossAfter = 0.0;  ///< same with the chosen rho
    int evaluations = 0;     ///< model evaluations of the search so far (a backward counts as one)
    double seconds = 0.0;    ///< wall seconds of the search so far
};
/// Called on the search thread after every step.
using SearchObserver = std::function<void(const SearchStepReport&)>;

struct SearchResult {
    std::vector<double> ratios;          ///< S values; rho_0..rho_{K-1} = 1
    std::vector<SearchStepReport> steps; ///< one per update k = 0..S-1
    int evaluations = 0;                 ///< model evaluations of the search (ground truth excluded)
    double seconds = 0.0;                ///< wall seconds of the search (ground truth excluded)
};

/// The paper's greedy search (spec section 6): for k = K..S-1 choose rho_k minimising the MSE
/// (mean over the batch and all elements) between the state at t_{k+1} after DC, the update and
/// its corrector, and groundTruth.states[k+1] (golden then shrinks the move by
/// options.goldenShrink); then advance with it for real. `noise` is the search batch
/// (conditioning in the denoiser); `groundTruth` must be for the same noise and the sampler's
/// grid. config.ratios is ignored. Throws Error(InvalidArgument) for a goldenShrink outside
/// [0, 1]. Evaluation counting: every model call is one, and adamw adds one per backward pass
/// through a model call. Cancellable between model calls
/// through the denoiser's token (Error(Cancelled)). Runs on the caller's thread.
SearchResult searchRatios(GuidedDenoiser& denoiser, const at::Tensor& noise, const SolverConfig& config,
                          const GroundTruth& groundTruth, const SearchOptions& options = {}, const SearchObserver& observer = {});

}  // namespace dcscope
