#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dcscope/guided_denoiser.h"
#include "dcscope/schedule.h"

namespace dcscope {

/// The fine solver of the ground-truth trajectory. DDIM is the reference's choice (spec section 6);
/// DPM-Solver++ 2M (multistep, second order, no extra model calls) is far more accurate for the
/// same number of fine steps, and is the default: with 200 DDIM steps the ground truth's own RMS
/// error is not below a tenth of the errors it judges on gmm-image (guidance 3) or the embedded
/// model as first trained (guidance 5, NFE 8; the retrained network passes by only 6%); with 200
/// DPM-Solver++ 2M steps it is on every model of the bench (README, "Ratio search, held-out
/// evaluation and CPR").
enum class FineSolver { Ddim, DpmSolverPlusPlus2M };

FineSolver parseFineSolver(const std::string& name);  ///< ddim | dpmpp2m
std::string toString(FineSolver solver);
std::string displayName(FineSolver solver);  ///< "DDIM" | "DPM-Solver++ (2M)"

/// The default fine steps in total for a grid of S coarse steps: max(200, 20 S). 200 DPM-Solver++
/// 2M steps keep the ground truth's own RMS error below a tenth of the errors it judges at NFE 5-10
/// on every model of the bench; at higher NFE the errors judged shrink faster than the intervals,
/// and with 200 the error was not below a tenth at NFE 15-20 (10-13 fine steps per interval).
/// With at least 20 per interval it is (gmm2d, guidance 5, NFE 20: 7.4e-3 -> 1.9e-3 against
/// 4.7e-2; the embedded model, guidance 5, NFE 20: 2.1e-3 against 3.2e-2), except on the
/// embedded model at NFE 12, guidance 3-7.5, and where DC's error is 0.2-3% of plain UniPC's
/// (time-uniform gmm-image at NFE 20; README).
constexpr int kDefaultFineStepsInAll = 200;
constexpr int kDefaultFinePerInterval = 20;
int defaultFineSteps(int coarseSteps);
constexpr int kDefaultFineSteps = 0;  ///< GroundTruthOptions::fineSteps meaning "defaultFineSteps(S)"

/// The fine steps in total that `fineSteps` asks for on S coarse steps: fineSteps itself, or
/// defaultFineSteps(S) for kDefaultFineSteps. Error(InvalidArgument) for a negative value or S < 1.
int resolveFineSteps(int fineSteps, int coarseSteps);

/// fineSteps as text for tables and notes: "N", or the default's rule "max(200, 20 x NFE)".
std::string describeFineSteps(int fineSteps);

struct GroundTruthOptions {
    /// Fine steps in total; kDefaultFineSteps (0): defaultFineSteps(S). Every coarse interval gets
    /// the same share, finePerInterval(fineSteps, S) = max(1, fineSteps / S) rounded DOWN, so the
    /// fine solve takes S * that many steps (200 over S = 6: 33 per interval, 198 in all).
    int fineSteps = kDefaultFineSteps;
    FineSolver fineSolver = FineSolver::DpmSolverPlusPlus2M;
    /// Also solve with half the fine steps per interval (max(1, n / 2)) and report the change of
    /// the final state as the ground truth's own error; costs half a solve more.
    bool estimateError = true;
    /// Return the state at every fine time (GroundTruth::finePath).
    bool keepFinePath = false;
    bool useCache = true;
    /// Cache folder; empty: defaultGroundTruthCacheDir().
    std::string cacheDir;
    /// What identifies the model in the cache key; empty: modelIdentity(model). Models that
    /// cannot be identified (neither builtin nor a package on disk) are never cached.
    std::string modelIdentity;
};

/// The ground-truth trajectory through the coarse times of a sampler grid (spec section 6).
struct GroundTruth {
    std::vector<double> coarseTimes;   ///< t_0 > ... > t_S (the sampler's grid)
    std::vector<at::Tensor> states;    ///< S+1 states, states[k] at coarseTimes[k]; states[0] is the noise
    int finePerInterval = 0;           ///< fine steps in each coarse interval
    std::vector<double> fineTimes;     ///< S * finePerInterval + 1 fine times, through every coarse time
    std::vector<at::Tensor> finePath;  ///< state at every fine time (only with keepFinePath)
    /// max |x_S(n) - x_S(max(1, n/2))| over all elements, n = finePerInterval; NaN when not
    /// estimated or when n = 1 (nothing to halve).
    double error = 0.0;
    /// The same change in the measure of the errors it judges: sqrt of its mean square over all
    /// elements of the batch (compare with the RMS error sqrt(MSE) of a coarse solver).
    double errorRms = 0.0;
    int modelEvaluations = 0;          ///< model calls spent here (0 when read from the cache)
    bool fromCache = false;
    std::string cacheFile;             ///< the entry read or written; empty when not cached
    bool discardedCorruptEntry = false;  ///< a corrupt entry was found, deleted and recomputed
    const at::Tensor& finalState() const { return states.back(); }
};

/// Called after every model call of the fine solves: (calls done, calls in total).
using GroundTruthProgress = std::function<void(int done, int total)>;

/// Fine steps per coarse interval: max(1, resolveFineSteps(fineSteps, S) / S) (integer division).
int finePerInterval(int fineSteps, int coarseSteps);

/// The fine grid: each coarse interval [t_k, t_{k+1}] split into `perInterval` steps uniform in
/// lambda (where the first-order DDIM error is uniform), with every coarse time included exactly.
std::vector<double> fineTimeGrid(const NoiseSchedule& schedule, const std::vector<double>& coarseTimes, int perInterval);

/// $XDG_CACHE_HOME/dcscope/gt, else $HOME/.cache/dcscope/gt; empty when neither is set.
std::string defaultGroundTruthCacheDir();

/// "builtin:NAME" for built-in models; for packages a digest of model.json's bytes and the
/// network file's size and bytes; for mixture files a digest of the file (while it still
/// describes the loaded model); empty when the model cannot be identified (an unsaved mixture).
std::string modelIdentity(const DiffusionModel& model);

/// Solves from `noise` (the batch, on the model's device) through `coarseTimes` with fine steps
/// that land on every coarse time, and returns the state at each coarse time. Reads and writes
/// the on-disk cache: an entry is keyed by model identity, noise bytes, classes, guidance, coarse
/// times, fine count and fine solver; a corrupt or truncated entry is deleted and recomputed.
/// Runs on the caller's thread; cancellable between model calls through the denoiser's token
/// (throws Error(Cancelled)).
GroundTruth computeGroundTruth(GuidedDenoiser& denoiser, const at::Tensor& noise, const std::vector<double>& coarseTimes,
                               const GroundTruthOptions& options = {}, const GroundTruthProgress& progress = {});

}  // namespace dcscope
