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

/// The class of the datapoint at `index` of a batch (0-based): index mod numClasses, the one rule
/// of every batch whose classes go "each in turn" (makeDatapoints, quality, the window). numClasses
/// must be >= 1.
int64_t datapointClass(int64_t index, int numClasses);

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

/// The default optimiser: a global scan, then Brent's method in the best bracket. The scan
/// evaluates rho = 2^(j / pointsPerOctave) for every integer j with lower <= rho <= upper (rho = 1
/// is always one of them, so the result never loses to rho = 1 on the loss it minimises); then
/// Brent's method runs in log(rho) between the best scan point's two neighbours (or its one
/// neighbour at an end of the range) for `refineBudget` more evaluations or until the bracket is
/// narrower than `tolerance` (in log rho). A loss with several minima in the range is minimised
/// globally up to the scan's resolution, where a bracket walked from rho = 1 stops in the first
/// local minimum it meets.
struct ScanOptions {
    /// The range holds the optima seen in practice: searched ratios span about 0.44 (the public
    /// SD 2.1 coefficients at guidance 7.5, NFE 10) to 1.85 (gmm2d, NFE 8).
    double lower = 0.4;
    double upper = 2.0;
    int pointsPerOctave = 4;  ///< 10 points in [0.4, 2]: 0.42, 0.5, 0.59, 0.71, 0.84, 1, 1.19, 1.41, 1.68, 2
    int refineBudget = 6;
    double tolerance = 1e-4;
};

struct Minimum1D {
    double x = 0.0;      ///< the argument chosen
    double value = 0.0;  ///< loss at x (golden, scan); for adamw the loss at the last evaluated iterate
    int evaluations = 0; ///< loss evaluations (adamw: forward passes; each also had a backward)
};

/// Minimises a scalar function of one variable; non-finite values count as +infinity. Returns
/// the best point evaluated.
Minimum1D minimiseGolden(const std::function<double(double)>& loss, const GoldenOptions& options = {});

/// The scan points of `options` in increasing order (Error(InvalidArgument) for an empty or
/// non-positive range or pointsPerOctave < 1).
std::vector<double> scanPoints(const ScanOptions& options);

/// Global scan then Brent (ScanOptions); non-finite values count as +infinity. Returns the best
/// point evaluated; evaluations <= scanPoints(options).size() + options.refineBudget.
Minimum1D minimiseScan(const std::function<double(double)>& loss, const ScanOptions& options = {});

/// AdamW (torch::optim::AdamW on a 0-dim double parameter) on a differentiable loss: `loss`
/// receives the parameter (requires grad) and returns a 0-dim tensor. Keeps the LAST iterate, as
/// the paper does. Throws Error(NonFinite) when the parameter becomes non-finite.
Minimum1D minimiseAdamW(const std::function<at::Tensor(const at::Tensor&)>& loss, const AdamWOptions& options = {});

// ---- the greedy ratio search -----------------------------------------------------------------

enum class RatioOptimizer { AdamW, Golden, Scan };
RatioOptimizer parseRatioOptimizer(const std::string& name);  ///< adamw | golden | scan
std::string toString(RatioOptimizer optimizer);

struct SearchOptions {
    RatioOptimizer optimizer = RatioOptimizer::Scan;
    AdamWOptions adamw;
    GoldenOptions golden;
    ScanOptions scan;
    /// The loss evaluations per step (golden's budget; scan points + refinement for scan) at steps
    /// whose trials need no model call (the last update, and every update of DDIM /
    /// DPM-Solver++): such trials cost only tensor arithmetic, so the minimum is located to the
    /// tolerance instead of within the model-call budget.
    int freeTrialBudget = 40;
    /// golden and scan keep this fraction of the move from 1 to the batch's minimum: rho_k = 1 +
    /// shrink * (argmin - 1). 1 (the default) is the plain minimum: a shrink of 0.9 (once tuned
    /// on gmm2d) won in 18 and lost in 14 of 32 search-bench cells on gmm-image and gmm2d, on
    /// both models (README), so no constant is applied by default.
    double shrink = 1.0;
    /// scan only: after the greedy pass, the last `finalRefineSteps` updates are revisited in
    /// order, and each may give back part of its move from 1: rho_k = g + f (1 - g) for the
    /// greedy ratio g and each fraction f of `finalShrinks`, scored by the batch's FINAL-state MSE
    /// with every other ratio fixed (the held-out metric's own loss; near the end it and the
    /// greedy loss at t_{k+1} disagree most). The best is kept only when leave-one-out over the
    /// batch's datapoints (leaveOneOutLoss over g and the candidates) beats g's batch loss, so a
    /// choice driven by one datapoint is not taken. A trial of update k costs S - 1 - k model
    /// calls (the later updates are re-run): 4 * (2 + 1 + 0) = 12 for the last three updates.
    /// 0 turns it off; then the search is the greedy pass alone.
    int finalRefineSteps = 3;
    std::vector<double> finalShrinks{0.25, 0.5, 0.75, 1.0};
    /// scan only, with the final-state step: ratios below both 1 and g that the step also tries
    /// (those not below both are skipped). Below 1 the compensated output lies between the two
    /// newest model outputs in time (t' between t_{k-1} and t_k): DC interpolates the history
    /// instead of extrapolating it, so the move cannot overshoot the way a large ratio does on
    /// datapoints whose predictions still move fast. Such a candidate is kept only when it lowers
    /// the final-state MSE of EVERY datapoint of the batch (chooseFinalStateCandidate): a gain
    /// that trades some datapoints against others is what a few held-out datapoints decide.
    /// Where the greedy loss at t_{k+1} is flat near 1 but the final state is not (gmm2d at
    /// NFE 5-20), this is where the gain is. Two of the scan's points (2^(-1/2) and its lower
    /// end 2^(-5/4)), so the search stays within a third of adamw's evaluations at NFE 5:
    /// 2 * (2 + 1 + 0) = 6 model calls more for the last three updates. Empty: the step only
    /// gives back part of the greedy move.
    std::vector<double> finalInterpolatingRatios{0.70710678118654752, 0.42044820762685725};
    /// scan only: at updates whose trials call the model anyway (UniPC updates with a
    /// corrector), the greedy step loss also compares the model's data prediction at t_{k+1} from
    /// the trial's state with the one from the ground truth's state there: the loss is
    /// MSE(state) / MSE(state at rho = 1) + MSE(prediction) / MSE(prediction at rho = 1). The
    /// later updates extrapolate those predictions, and near the end the sample is nearly the
    /// prediction, so a state error counts by what it does to the model's output; where
    /// per-step state errors are tiny next to the final one, the state alone misleads. Costs one
    /// model call per such update (the prediction at the ground truth's state). false: the state
    /// MSE alone, the paper's loss (adamw and golden, the spec's optimisers, always use it).
    bool predictionLoss = true;
};

/// Throws Error(InvalidArgument) naming the field for options the search cannot use (a shrink
/// outside [0, 1], golden's budget < 3, an empty scan range, a negative refinement budget, a
/// negative finalRefineSteps, a finalShrinks fraction outside (0, 1] or a
/// finalInterpolatingRatios value outside (0, 1)).
void validate(const SearchOptions& options);

/// The final-state step's choice at one update (SearchOptions::finalRefineSteps). losses[c][i]
/// is datapoint i's final-state MSE with candidate c's ratio; candidate 0 is the greedy ratio g.
/// interpolating[c] marks the candidates of finalInterpolatingRatios (below both g and 1), the
/// others (0 aside) give back part of g's move. Of the latter, the lowest mean is eligible when
/// leaveOneOutLoss over candidate 0 and them beats candidate 0's mean; of the former, the lowest
/// mean among those no datapoint loses on (every loss <= candidate 0's) and whose mean is lower.
/// Returns the eligible candidate with the lowest mean (ties: the lower index), else 0.
/// Non-finite losses count as +infinity. Throws Error(InvalidArgument) for no candidates,
/// mismatched sizes or fewer than 2 datapoints.
size_t chooseFinalStateCandidate(const std::vector<std::vector<double>>& losses, const std::vector<bool>& interpolating);

/// Leave-one-out over a batch for choosing among candidates by their mean loss:
/// losses[c][i] is datapoint i's loss at candidate c (all rows the same length n >= 2). For each
/// i, the candidate with the lowest mean over the OTHER datapoints is chosen (ties: the lowest c)
/// and scored on datapoint i; returns the mean of those n scores, an estimate of the loss on new
/// datapoints of "take the batch's argmin". Non-finite losses count as +infinity. Throws
/// Error(InvalidArgument) for no candidates, fewer than 2 datapoints or ragged rows.
double leaveOneOutLoss(const std::vector<std::vector<double>>& losses);

/// One searched step (also the warm-up steps k < K, which keep rho = 1 and are not searched).
struct SearchStepReport {
    int step = 0;            ///< k: rho_k is used by the update t_k -> t_{k+1}
    int totalSteps = 0;      ///< S
    bool searched = false;   ///< false for k < dc-order (rho_k = 1 by definition)
    double rho = 1.0;
    double lossBefore = 0.0; ///< MSE vs the ground truth at t_{k+1} with rho = 1
    double lossAfter = 0.0;  ///< same with the chosen rho
    /// Where the step's loss has the prediction term (SearchOptions::predictionLoss): the MSE of
    /// the model's data prediction at t_{k+1} from the state with rho = 1, and with the chosen
    /// rho, against the one from the ground truth's state. The step minimised
    /// lossAfter / lossBefore + predictionLossAfter / predictionLossBefore, so the state's MSE
    /// alone may rise where the prediction's falls more. NaN where the term is off.
    double predictionLossBefore = std::numeric_limits<double>::quiet_NaN();
    double predictionLossAfter = std::numeric_limits<double>::quiet_NaN();
    int evaluations = 0;     ///< model evaluations of the search so far (a backward counts as one)
    double seconds = 0.0;    ///< wall seconds of the search so far
    /// The final-state refinement (SearchOptions::finalRefineSteps) revisited this step; rho is
    /// then its choice, greedyRho the greedy pass's (the losses above stay the greedy pass's).
    bool refined = false;
    double greedyRho = 1.0;
    /// The final-state step chose one of SearchOptions::finalInterpolatingRatios here (below both
    /// 1 and greedyRho, kept because no search datapoint loses); otherwise a refined rho lies
    /// between greedyRho and 1 (part of the greedy move given back) or is greedyRho.
    bool interpolated = false;
};
/// Why the final-state step left rho where it is, in words the CLI and the window both show: "the
/// greedy ratio kept", "part of the greedy move given back" or "below 1 and the greedy ratio: no
/// search datapoint loses"; null for a step it did not revisit.
const char* finalStateChoice(const SearchStepReport& step);

/// Called on the search thread after every step.
using SearchObserver = std::function<void(const SearchStepReport&)>;

struct SearchResult {
    std::vector<double> ratios;          ///< S values; rho_0..rho_{K-1} = 1
    std::vector<SearchStepReport> steps; ///< one per update k = 0..S-1
    /// The search batch's final-state MSE (mean over datapoints and elements) with `ratios`.
    double finalLoss = 0.0;
    int evaluations = 0;                 ///< model evaluations of the search (ground truth excluded)
    double seconds = 0.0;                ///< wall seconds of the search (ground truth excluded)
};

/// The paper's greedy search (spec section 6): for k = K..S-1 choose rho_k minimising the MSE
/// (mean over the batch and all elements) between the state at t_{k+1} after DC, the update and
/// its corrector, and groundTruth.states[k+1] (scan adds the prediction term of
/// SearchOptions::predictionLoss; golden and scan then shrink the move by options.shrink); then
/// advance with it for real. scan then refines the last ratios against the final state
/// (SearchOptions::finalRefineSteps); the observer hears of the greedy steps.
/// `noise` is the search batch (conditioning in the denoiser); `groundTruth` must be for the
/// same noise and the sampler's grid. config.ratios is ignored. Throws Error(InvalidArgument)
/// for options validate() refuses. Evaluation counting: every model call is one, and adamw adds
/// one per backward pass through a model call. Cancellable between model calls through the
/// denoiser's token (Error(Cancelled)). Runs on the caller's thread.
SearchResult searchRatios(GuidedDenoiser& denoiser, const at::Tensor& noise, const SolverConfig& config,
                          const GroundTruth& groundTruth, const SearchOptions& options = {}, const SearchObserver& observer = {});

}  // namespace dcscope
