#include "dcscope/search.h"

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "dcscope/errors.h"
#include "dcscope/evaluation.h"

namespace dcscope {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kGolden = 1.618033988749895;   // expansion factor of the bracketing
constexpr double kCGolden = 0.3819660112501051; // 2 - golden ratio: golden-section fraction

// A loss that cannot be compared (NaN) or diverged counts as +infinity.
double finiteOrInfinity(double value) { return std::isfinite(value) ? value : kInf; }

// A loss that counts its evaluations and remembers the best point, so any exit (budget spent,
// bracket failure) can return the best evaluated point.
class CountedLoss {
public:
    CountedLoss(const std::function<double(double)>& loss, int budget) : m_loss(loss), m_budget(budget) {}
    double operator()(double x) {
        const double value = finiteOrInfinity(m_loss(x));
        ++m_count;
        if (value < m_best.value || m_count == 1) m_best = {x, value, 0};
        return value;
    }
    bool spent() const { return m_count >= m_budget; }
    Minimum1D best() const { return {m_best.x, m_best.value, m_count}; }

private:
    const std::function<double(double)>& m_loss;
    int m_budget;
    int m_count = 0;
    Minimum1D m_best{0.0, kInf, 0};
};

struct Point {
    double x, f;
};

// Minimum of the parabola through three points, or NaN when they are (nearly) collinear.
double parabolaMinimum(const Point& a, const Point& b, const Point& c) {
    const double r = (b.x - a.x) * (b.f - c.f);
    const double q = (b.x - c.x) * (b.f - a.f);
    const double denominator = 2.0 * (q - r);
    if (std::abs(denominator) < 1e-300) return std::numeric_limits<double>::quiet_NaN();
    return b.x - ((b.x - c.x) * q - (b.x - a.x) * r) / denominator;
}

// Brent's method (parabolic steps with golden-section fallback) on [lo, hi]: x is the best point
// so far, w the second best, v the previous w. Stops when the budget of `f` is spent or the
// bracket is narrower than the tolerance (relative to |x| + 1).
void brent(CountedLoss& f, double lo, double hi, Point x, Point w, Point v, double tolerance) {
    double d = 0.0, e = hi - lo;  // e: the step before last; a large one allows a parabolic step now
    while (!f.spent()) {
        const double middle = 0.5 * (lo + hi);
        const double tol1 = tolerance * (std::abs(x.x) + 1.0), tol2 = 2.0 * tol1;
        if (std::abs(x.x - middle) <= tol2 - 0.5 * (hi - lo)) break;
        bool golden = true;
        if (std::abs(e) > tol1) {
            double r = (x.x - w.x) * (x.f - v.f);
            double q = (x.x - v.x) * (x.f - w.f);
            double p = (x.x - v.x) * q - (x.x - w.x) * r;
            q = 2.0 * (q - r);
            if (q > 0.0) p = -p;
            q = std::abs(q);
            const double previous = e;
            e = d;
            // NaN (from infinite losses) fails every comparison and falls back to golden section.
            if (std::abs(p) < std::abs(0.5 * q * previous) && p > q * (lo - x.x) && p < q * (hi - x.x)) {
                d = p / q;
                const double u = x.x + d;
                if (u - lo < tol2 || hi - u < tol2) d = std::copysign(tol1, middle - x.x);
                golden = false;
            }
        }
        if (golden) {
            e = x.x >= middle ? lo - x.x : hi - x.x;
            d = kCGolden * e;
        }
        const double ux = std::abs(d) >= tol1 ? x.x + d : x.x + std::copysign(tol1, d);
        const Point u{ux, f(ux)};
        if (u.f <= x.f) {
            (u.x >= x.x ? lo : hi) = x.x;
            v = w;
            w = x;
            x = u;
        } else {
            (u.x < x.x ? lo : hi) = u.x;
            if (u.f <= w.f || w.x == x.x) {
                v = w;
                w = u;
            } else if (u.f <= v.f || v.x == x.x || v.x == w.x) {
                v = u;
            }
        }
    }
}

double meanSquaredError(const at::Tensor& x, const at::Tensor& reference) {
    return (x.detach().to(at::kDouble) - reference.to(x.device(), at::kDouble)).pow(2).mean().item<double>();
}

at::Tensor meanSquaredErrorTensor(const at::Tensor& x, const at::Tensor& reference) {
    return (x - reference.to(x.device(), x.scalar_type())).pow(2).mean();
}

// The held-out metric's per-datapoint MSE on the search batch, non-finite as +infinity.
std::vector<double> finalStateLosses(const at::Tensor& x, const at::Tensor& reference) {
    std::vector<double> result = perDatapointSquaredError(x, reference);
    for (double& value : result) value = finiteOrInfinity(value);
    return result;
}

double mean(const std::vector<double>& values) {
    double sum = 0.0;
    for (double value : values) sum += value;
    return sum / double(values.size());
}

// losses[c][i]: datapoint i's loss at candidate c, as leaveOneOutLoss and
// chooseFinalStateCandidate take them; `what` names the caller in the error.
void checkCandidateLosses(const std::vector<std::vector<double>>& losses, const std::string& what) {
    if (losses.empty()) throw Error(ErrorCode::InvalidArgument, what + ": no candidates");
    const size_t count = losses.front().size();
    if (count < 2) throw Error(ErrorCode::InvalidArgument, what + ": needs at least 2 datapoints");
    for (const auto& row : losses)
        if (row.size() != count) throw Error(ErrorCode::InvalidArgument, what + ": every candidate needs one loss per datapoint");
}

// The prediction term of the greedy step loss (SearchOptions::predictionLoss): the model's data
// prediction at t_{k+1} from the trial's state against the one from the ground truth's state
// there, each of the two MSEs relative to its value at rho = 1.
struct PredictionTerm {
    at::Tensor truthPrediction;  // undefined: the term is off for this step
    double stateLossAtOne = 0.0;
    double predictionLossAtOne = 0.0;

    bool active() const { return truthPrediction.defined(); }
    // The MSE of the data prediction at t_{k+1} from the trial's state against the ground truth's.
    double predictionLoss(const SamplerState& trial) const {
        return meanSquaredError(trial.history.back().dataPrediction, truthPrediction);
    }
    double loss(const SamplerState& trial, double stateLoss) const {
        return stateLoss / stateLossAtOne + predictionLoss(trial) / predictionLossAtOne;
    }
};

// `one` is the trial at rho = 1 (its newest history entry is the model's output at t_{k+1}). The
// term stays off where either MSE at rho = 1 is zero or not finite: there is nothing to scale by.
PredictionTerm makePredictionTerm(GuidedDenoiser& denoiser, const at::Tensor& truthState, double time, const SamplerState& one,
                                  const at::Tensor& target) {
    PredictionTerm term;
    const at::Tensor truthPrediction = denoiser.dataPrediction(truthState.to(one.x.device()), time);
    term.stateLossAtOne = meanSquaredError(one.x, target);
    term.predictionLossAtOne = meanSquaredError(one.history.back().dataPrediction, truthPrediction);
    const auto usable = [](double value) { return std::isfinite(value) && value > 0.0; };
    if (usable(term.stateLossAtOne) && usable(term.predictionLossAtOne)) term.truthPrediction = truthPrediction;
    return term;
}

// The final-state refinement of the last updates (SearchOptions::finalRefineSteps). `greedyPath`
// holds the greedy pass's state before every update from `first` on, and after the last one.
void refineAgainstFinalState(GuidedDenoiser& denoiser, const MultistepSampler& sampler, const at::Tensor& finalTarget, int first,
                             std::vector<SamplerState> greedyPath, const SearchOptions& options, SearchResult& result) {
    const int steps = sampler.steps();
    // The current ratios' trajectory from update k on: currentPath[j - k] is the state before
    // update j, the last entry the final state.
    std::vector<SamplerState> currentPath = std::move(greedyPath);
    std::vector<double> currentLosses = finalStateLosses(currentPath.back().x, finalTarget);
    for (int k = first; k < steps; ++k) {
        struct Trial {
            std::vector<double> losses;
            std::vector<SamplerState> path;  // as currentPath, from update k + 1 on
        };
        std::map<double, Trial> trials;
        const double greedyRho = result.ratios[size_t(k)];
        trials[greedyRho] = {currentLosses, std::vector<SamplerState>(currentPath.begin() + 1, currentPath.end())};
        const auto trialLosses = [&](double rho) -> const std::vector<double>& {
            auto found = trials.find(rho);
            if (found == trials.end()) {
                Trial trial;
                SamplerState state = sampler.advance(denoiser, currentPath.front(), rho);
                trial.path.push_back(state);
                for (int j = k + 1; j < steps; ++j) {
                    state = sampler.advance(denoiser, state, result.ratios[size_t(j)]);
                    trial.path.push_back(state);
                }
                trial.losses = finalStateLosses(state.x, finalTarget);
                found = trials.emplace(rho, std::move(trial)).first;
            }
            return found->second.losses;  // a map's elements stay where they are
        };
        // Most candidates lie between the greedy ratio and 1: they keep less of the greedy move,
        // never more, so they cannot extrapolate the history further than the greedy pass did
        // (moves past the greedy ratio won on the batch and lost badly held out on gmm-image,
        // where a few datapoints switch mixture components). The others interpolate the history
        // (below both g and 1) and must not make any datapoint of the batch worse.
        std::vector<double> candidates{greedyRho};
        std::vector<bool> interpolating{false};
        for (double fraction : options.finalShrinks) {
            candidates.push_back(greedyRho + fraction * (1.0 - greedyRho));
            interpolating.push_back(false);
        }
        for (double rho : options.finalInterpolatingRatios)
            if (rho < std::min(1.0, greedyRho)) {
                candidates.push_back(rho);
                interpolating.push_back(true);
            }
        std::vector<std::vector<double>> losses;
        denoiser.setCheckFinite(false);  // a diverging trial gives an infinite loss, not an error
        try {
            for (double rho : candidates) losses.push_back(trialLosses(rho));
        } catch (...) {
            denoiser.setCheckFinite(true);
            throw;
        }
        denoiser.setCheckFinite(true);
        const size_t choice = chooseFinalStateCandidate(losses, interpolating);
        const double chosen = candidates[choice];
        SearchStepReport& report = result.steps[size_t(k)];
        report.refined = true;
        report.interpolated = interpolating[choice];
        report.greedyRho = greedyRho;
        report.rho = chosen;
        result.ratios[size_t(k)] = chosen;
        Trial& kept = trials.at(chosen);
        currentLosses = kept.losses;
        currentPath = std::move(kept.path);
    }
    result.finalLoss = mean(currentLosses);
}

}  // namespace

size_t chooseFinalStateCandidate(const std::vector<std::vector<double>>& losses, const std::vector<bool>& interpolating) {
    checkCandidateLosses(losses, "final-state choice");
    if (interpolating.size() != losses.size())
        throw Error(ErrorCode::InvalidArgument, "final-state choice: one interpolating flag per candidate needed");
    std::vector<double> means;
    for (const auto& row : losses) {
        double sum = 0.0;
        for (double value : row) sum += finiteOrInfinity(value);
        means.push_back(sum / double(row.size()));
    }
    const std::vector<double>& greedy = losses.front();
    size_t chosen = 0;
    // Giving back part of the greedy move: the best, if leave-one-out over these agrees.
    std::vector<std::vector<double>> shrinks{greedy};
    size_t bestShrink = 0;
    for (size_t c = 1; c < losses.size(); ++c) {
        if (interpolating[c]) continue;
        shrinks.push_back(losses[c]);
        if (means[c] < means[bestShrink]) bestShrink = c;
    }
    if (bestShrink != 0 && leaveOneOutLoss(shrinks) < means[0]) chosen = bestShrink;
    // Interpolating: only where no datapoint loses.
    for (size_t c = 1; c < losses.size(); ++c) {
        if (!interpolating[c] || !(means[c] < means[chosen])) continue;
        bool noneWorse = true;
        for (size_t i = 0; i < greedy.size(); ++i) noneWorse = noneWorse && finiteOrInfinity(losses[c][i]) <= finiteOrInfinity(greedy[i]);
        if (noneWorse) chosen = c;
    }
    return chosen;
}

const char* finalStateChoice(const SearchStepReport& step) {
    if (!step.refined) return nullptr;
    if (step.interpolated) return "below 1 and the greedy ratio: no search datapoint loses";
    return step.rho == step.greedyRho ? "the greedy ratio kept" : "part of the greedy move given back";
}

int64_t datapointClass(int64_t index, int numClasses) { return index % std::max(1, numClasses); }

double leaveOneOutLoss(const std::vector<std::vector<double>>& losses) {
    checkCandidateLosses(losses, "leave-one-out");
    const size_t count = losses.front().size();
    double score = 0.0;
    for (size_t left = 0; left < count; ++left) {
        size_t chosen = 0;
        double chosenRest = kInf;
        for (size_t c = 0; c < losses.size(); ++c) {
            double rest = 0.0;  // summed afresh: an infinite loss left out must not hide a finite rest
            for (size_t i = 0; i < count; ++i)
                if (i != left) rest += finiteOrInfinity(losses[c][i]);
            if (c == 0 || rest < chosenRest) {
                chosen = c;
                chosenRest = rest;
            }
        }
        score += finiteOrInfinity(losses[chosen][left]);
    }
    return score / double(count);
}

Datapoints makeDatapoints(const DiffusionModel& model, uint64_t firstSeed, int count) {
    if (count < 1) throw Error(ErrorCode::InvalidArgument, "datapoints: must be >= 1, got " + std::to_string(count));
    const auto& info = model.info();
    std::vector<int64_t> shape{1};
    shape.insert(shape.end(), info.sampleShape.begin(), info.sampleShape.end());
    std::vector<at::Tensor> noises;
    std::vector<int64_t> classes;
    for (int i = 0; i < count; ++i) {
        auto generator = at::detail::createCPUGenerator(firstSeed + uint64_t(i));
        noises.push_back(at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat)));
        if (model.isConditional()) classes.push_back(datapointClass(i, info.numClasses));
    }
    Datapoints result;
    result.noise = at::cat(noises);
    if (!classes.empty()) result.classes = at::tensor(classes, at::TensorOptions().dtype(at::kLong));
    result.firstSeed = firstSeed;
    return result;
}

Minimum1D minimiseGolden(const std::function<double(double)>& lossFunction, const GoldenOptions& options) {
    if (options.budget < 3) throw Error(ErrorCode::InvalidArgument, "golden: budget must be >= 3, got " + std::to_string(options.budget));
    if (!(options.initialStep > 0.0) || !std::isfinite(options.initialStep))
        throw Error(ErrorCode::InvalidArgument, "golden: initial step must be positive");
    if (!(options.maxDeviation > 0.0)) throw Error(ErrorCode::InvalidArgument, "golden: max deviation must be positive");
    if (options.logScale && !(options.start > 0.0))
        throw Error(ErrorCode::InvalidArgument, "golden: a log-scale search needs a positive start");
    // Everything below works on the search variable u (x itself, or log x); the bounds of the
    // trust region are mapped into u, so a clamped u is always a permitted x.
    const double lowerX = options.start - options.maxDeviation, upperX = options.start + options.maxDeviation;
    const auto toX = [&](double u) { return options.logScale ? std::exp(u) : u; };
    const double lower = options.logScale ? (lowerX > 0.0 ? std::log(lowerX) : -kInf) : lowerX;
    const double upper = options.logScale ? std::log(upperX) : upperX;
    const double start = options.logScale ? std::log(options.start) : options.start;
    const auto clamp = [&](double u) { return std::min(upper, std::max(lower, u)); };
    const std::function<double(double)> inU = [&](double u) { return lossFunction(toX(u)); };
    CountedLoss f(inU, options.budget);
    const auto inX = [&](Minimum1D best) {
        best.x = toX(best.x);
        return best;
    };

    // 1. Bracket: walk downhill from `start` until the loss rises again. Steps grow by the golden
    // ratio, or jump to the minimum of the parabola through the last three points when that lies
    // ahead (at most 10 steps further), which on near-quadratic losses lands next to the optimum.
    Point a{start, f(start)};
    const double second = start + options.initialStep <= upper ? start + options.initialStep : start - options.initialStep;
    Point b{clamp(second), 0.0};
    b.f = f(b.x);
    if (b.f > a.f) std::swap(a, b);  // walk from a through b, downhill
    Point c{clamp(b.x + kGolden * (b.x - a.x)), 0.0};
    if (c.x == b.x) return inX(f.best());  // downhill into a bound: the bound is the answer
    c.f = f(c.x);
    while (c.f < b.f && !f.spent()) {
        const double step = c.x - b.x;
        double next = parabolaMinimum(a, b, c);
        const double limit = c.x + 10.0 * step;
        const bool ahead = std::isfinite(next) && (next - c.x) * step > 0.0;
        if (!ahead) next = c.x + kGolden * step;
        else if ((next - limit) * step > 0.0) next = limit;
        next = clamp(next);
        if (next == c.x) return inX(f.best());
        a = b;
        b = c;
        c = {next, f(next)};
    }
    if (f.spent() || !(b.f <= c.f)) return inX(f.best());

    // 2. Brent's method on [lo, hi] around b, starting from the three bracket points so its first
    // step can already be parabolic.
    brent(f, std::min(a.x, c.x), std::max(a.x, c.x), b, a.f <= c.f ? a : c, a.f <= c.f ? c : a, options.tolerance);
    return inX(f.best());
}

std::vector<double> scanPoints(const ScanOptions& options) {
    if (options.pointsPerOctave < 1)
        throw Error(ErrorCode::InvalidArgument, "scan: points per octave must be >= 1, got " + std::to_string(options.pointsPerOctave));
    if (!(options.lower > 0.0) || !(options.upper >= options.lower) || !std::isfinite(options.upper))
        throw Error(ErrorCode::InvalidArgument, "scan: the range must satisfy 0 < lower <= upper");
    const double perOctave = options.pointsPerOctave;
    // Integer exponents keep rho = 1 (j = 0) exact and the points independent of rounding.
    const int first = int(std::ceil(std::log2(options.lower) * perOctave - 1e-9));
    const int last = int(std::floor(std::log2(options.upper) * perOctave + 1e-9));
    std::vector<double> points;
    for (int j = first; j <= last; ++j) points.push_back(j == 0 ? 1.0 : std::exp2(j / perOctave));
    if (points.empty()) throw Error(ErrorCode::InvalidArgument, "scan: no scan point in the range");
    return points;
}

Minimum1D minimiseScan(const std::function<double(double)>& lossFunction, const ScanOptions& options) {
    if (options.refineBudget < 0)
        throw Error(ErrorCode::InvalidArgument, "scan: refinement budget must be >= 0, got " + std::to_string(options.refineBudget));
    const std::vector<double> points = scanPoints(options);
    // Work in u = log(rho): the scan points are uniform there, and Brent's steps are relative.
    const std::function<double(double)> inU = [&](double u) { return lossFunction(u == 0.0 ? 1.0 : std::exp(u)); };
    CountedLoss f(inU, int(points.size()) + options.refineBudget);
    std::vector<Point> scanned;
    for (double rho : points) {
        const double u = rho == 1.0 ? 0.0 : std::log(rho);
        scanned.push_back({u, f(u)});
    }
    size_t best = 0;
    for (size_t i = 1; i < scanned.size(); ++i)
        if (scanned[i].f < scanned[best].f) best = i;
    if (scanned.size() >= 2 && std::isfinite(scanned[best].f)) {
        // The bracket around the best point: both neighbours inside, one at an end of the range.
        const Point left = best > 0 ? scanned[best - 1] : scanned[best];
        const Point right = best + 1 < scanned.size() ? scanned[best + 1] : scanned[best];
        const Point& second = left.f <= right.f && best > 0 ? left : right;
        const Point& third = &second == &left ? right : left;
        brent(f, left.x, right.x, scanned[best], second, third, options.tolerance);
    }
    Minimum1D result = f.best();
    result.x = result.x == 0.0 ? 1.0 : std::exp(result.x);
    return result;
}

Minimum1D minimiseAdamW(const std::function<at::Tensor(const at::Tensor&)>& loss, const AdamWOptions& options) {
    if (options.iterations < 1)
        throw Error(ErrorCode::InvalidArgument, "adamw: iterations must be >= 1, got " + std::to_string(options.iterations));
    at::AutoGradMode enableGrad(true);
    torch::Tensor parameter = torch::full({}, options.start, torch::TensorOptions().dtype(torch::kDouble)).requires_grad_(true);
    torch::optim::AdamW optimizer({parameter}, torch::optim::AdamWOptions(options.learningRate)
                                                   .betas({options.beta1, options.beta2})
                                                   .eps(options.eps)
                                                   .weight_decay(options.weightDecay));
    Minimum1D result;
    for (int iteration = 0; iteration < options.iterations; ++iteration) {
        optimizer.zero_grad();
        const at::Tensor value = loss(parameter);
        value.backward();
        optimizer.step();
        result.value = value.item<double>();
        ++result.evaluations;
    }
    result.x = parameter.item<double>();
    if (!std::isfinite(result.x)) throw Error(ErrorCode::NonFinite, "adamw: the ratio became non-finite");
    return result;
}

RatioOptimizer parseRatioOptimizer(const std::string& name) {
    for (RatioOptimizer optimizer : {RatioOptimizer::AdamW, RatioOptimizer::Golden, RatioOptimizer::Scan})
        if (name == toString(optimizer)) return optimizer;
    throw Error(ErrorCode::InvalidArgument, "optimizer '" + name + "' is not one of scan, golden, adamw");
}

std::string toString(RatioOptimizer optimizer) {
    switch (optimizer) {
    case RatioOptimizer::AdamW: return "adamw";
    case RatioOptimizer::Golden: return "golden";
    case RatioOptimizer::Scan: return "scan";
    }
    return "?";
}

void validate(const SearchOptions& options) {
    if (!(options.shrink >= 0.0 && options.shrink <= 1.0))
        throw Error(ErrorCode::InvalidArgument, "shrink: must be in [0, 1], got " + std::to_string(options.shrink));
    if (options.optimizer == RatioOptimizer::Golden && options.golden.budget < 3)
        throw Error(ErrorCode::InvalidArgument, "budget: must be >= 3, got " + std::to_string(options.golden.budget));
    if (options.optimizer == RatioOptimizer::Scan) {
        scanPoints(options.scan);
        if (options.scan.refineBudget < 0)
            throw Error(ErrorCode::InvalidArgument, "refine: must be >= 0, got " + std::to_string(options.scan.refineBudget));
        if (options.finalRefineSteps < 0)
            throw Error(ErrorCode::InvalidArgument, "final-refine: must be >= 0, got " + std::to_string(options.finalRefineSteps));
        for (double fraction : options.finalShrinks)
            if (!(fraction > 0.0 && fraction <= 1.0))
                throw Error(ErrorCode::InvalidArgument, "final-refine: every fraction of the way back to 1 must be in (0, 1]");
        for (double rho : options.finalInterpolatingRatios)
            if (!(rho > 0.0 && rho < 1.0))
                throw Error(ErrorCode::InvalidArgument, "final-refine: every interpolating ratio must be in (0, 1)");
    }
}

SearchResult searchRatios(GuidedDenoiser& denoiser, const at::Tensor& noise, const SolverConfig& config,
                          const GroundTruth& groundTruth, const SearchOptions& options, const SearchObserver& observer) {
    at::NoGradGuard noGrad;
    SolverConfig plain = config;
    plain.ratios.clear();
    const MultistepSampler sampler(denoiser.model().schedule(), plain);
    const int steps = sampler.steps();
    const auto& times = sampler.times();
    if (groundTruth.states.size() != times.size() || groundTruth.coarseTimes.size() != times.size())
        throw Error(ErrorCode::InvalidArgument, "ground truth: has " + std::to_string(groundTruth.states.size()) +
                                                    " states, the search needs " + std::to_string(times.size()));
    for (size_t k = 0; k < times.size(); ++k)
        if (std::abs(groundTruth.coarseTimes[k] - times[k]) > 1e-12)
            throw Error(ErrorCode::InvalidArgument, "ground truth: computed for another time grid (t_" + std::to_string(k) + ")");
    if (groundTruth.states[0].sizes() != noise.sizes())
        throw Error(ErrorCode::InvalidArgument, "ground truth: computed for another batch (shape differs from the noise)");

    validate(options);
    const auto begin = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(); };
    const int nfeBefore = denoiser.nfe();
    int backwardPasses = 0;
    auto evaluations = [&] { return denoiser.nfe() - nfeBefore + backwardPasses; };

    SearchResult result;
    result.ratios.assign(size_t(steps), 1.0);
    const bool refine = options.optimizer == RatioOptimizer::Scan && options.finalRefineSteps > 0;
    const int firstRefined = std::max(config.dcOrder, steps - options.finalRefineSteps);
    std::vector<SamplerState> greedyPath;  // the states before updates firstRefined.. and the final one
    SamplerState state = sampler.start(denoiser, noise);
    for (int k = 0; k < steps; ++k) {
        if (refine && k >= firstRefined) greedyPath.push_back(state);
        const at::Tensor& target = groundTruth.states[size_t(k) + 1];
        SearchStepReport report;
        report.step = k;
        report.totalSteps = steps;
        if (k < config.dcOrder) {
            state = sampler.advance(denoiser, state, 1.0);
            report.lossBefore = report.lossAfter = meanSquaredError(state.x, target);
        } else {
            report.searched = true;
            // A trial needs a model call only when the update has a corrector; then the trial's
            // full state is kept, so the chosen ratio's real update can reuse it.
            const bool trialCallsModel = sampler.correctorAt(k);
            std::map<double, SamplerState> trials;
            double lossAtOne = std::numeric_limits<double>::quiet_NaN();
            double stateLossAtOne = std::numeric_limits<double>::quiet_NaN();
            denoiser.setCheckFinite(false);  // a wild trial ratio gives an infinite loss, not an error
            double rho = 1.0;
            PredictionTerm prediction;
            try {
                if (options.optimizer != RatioOptimizer::AdamW) {
                    // With the prediction term the loss is relative to rho = 1, so that trial comes
                    // first; it has the model's output at t_{k+1} whenever the trial calls the model.
                    if (options.optimizer == RatioOptimizer::Scan && options.predictionLoss && trialCallsModel) {
                        SamplerState one = sampler.advance(denoiser, state, 1.0);
                        prediction = makePredictionTerm(denoiser, groundTruth.states[size_t(k) + 1], sampler.times()[size_t(k) + 1],
                                                        one, target);
                        trials.emplace(1.0, std::move(one));
                    }
                    const auto loss = [&](double trialRho) {
                        double value;
                        if (trialCallsModel) {
                            auto found = trials.find(trialRho);
                            if (found == trials.end()) found = trials.emplace(trialRho, sampler.advance(denoiser, state, trialRho)).first;
                            const double stateLoss = meanSquaredError(found->second.x, target);
                            value = prediction.active() ? prediction.loss(found->second, stateLoss) : stateLoss;
                            if (trialRho == 1.0) stateLossAtOne = stateLoss;
                        } else {
                            value = meanSquaredError(sampler.trialState(denoiser, state, trialRho), target);
                            if (trialRho == 1.0) stateLossAtOne = value;
                        }
                        if (trialRho == 1.0) lossAtOne = value;
                        return value;
                    };
                    double minimum;
                    if (options.optimizer == RatioOptimizer::Golden) {
                        GoldenOptions golden = options.golden;
                        if (!trialCallsModel) golden.budget = std::max(golden.budget, options.freeTrialBudget);
                        minimum = minimiseGolden(loss, golden).x;
                    } else {
                        ScanOptions scan = options.scan;
                        const int scanCount = int(scanPoints(scan).size());
                        if (!trialCallsModel) scan.refineBudget = std::max(scan.refineBudget, options.freeTrialBudget - scanCount);
                        minimum = minimiseScan(loss, scan).x;
                    }
                    rho = 1.0 + options.shrink * (minimum - 1.0);
                    if (rho != minimum) {
                        // Where the loss is not unimodal between 1 and the minimum, the shrunk
                        // ratio can lose to rho = 1 on the batch: then the minimum is kept.
                        const double shrunkLoss = loss(rho);
                        if (!(shrunkLoss <= (std::isnan(lossAtOne) ? kInf : lossAtOne))) rho = minimum;
                    }
                } else {
                    const auto loss = [&](const at::Tensor& parameter) {
                        const at::Tensor value = meanSquaredErrorTensor(sampler.trialStateDifferentiable(denoiser, state, parameter), target);
                        if (trialCallsModel) ++backwardPasses;  // the caller's backward goes through the model call
                        if (parameter.item<double>() == 1.0) stateLossAtOne = value.item<double>();
                        return value;
                    };
                    rho = minimiseAdamW(loss, options.adamw).x;
                }
            } catch (...) {
                denoiser.setCheckFinite(true);
                throw;
            }
            denoiser.setCheckFinite(true);
            if (std::isnan(stateLossAtOne)) stateLossAtOne = meanSquaredError(sampler.trialState(denoiser, state, 1.0), target);
            const auto reused = trials.find(rho);
            state = reused != trials.end() ? reused->second : sampler.advance(denoiser, state, rho);
            result.ratios[size_t(k)] = rho;
            report.rho = rho;
            report.lossBefore = stateLossAtOne;
            report.lossAfter = meanSquaredError(state.x, target);
            if (!std::isfinite(report.lossAfter))
                throw Error(ErrorCode::NonFinite, "search: step " + std::to_string(k) + " diverged (no finite loss for any ratio tried)");
            if (prediction.active()) {
                report.predictionLossBefore = prediction.predictionLossAtOne;
                report.predictionLossAfter = prediction.predictionLoss(state);
            }
        }
        report.evaluations = evaluations();
        report.seconds = elapsed();
        report.greedyRho = report.rho;
        result.steps.push_back(report);
        if (observer) observer(report);
    }
    result.finalLoss = meanSquaredError(state.x, groundTruth.states.back());
    if (refine && firstRefined < steps) {
        greedyPath.push_back(state);
        refineAgainstFinalState(denoiser, sampler, groundTruth.states.back(), firstRefined, std::move(greedyPath), options, result);
        for (int k = firstRefined; k < steps; ++k) {
            result.steps[size_t(k)].evaluations = evaluations();
            result.steps[size_t(k)].seconds = elapsed();
        }
    }
    result.evaluations = evaluations();
    result.seconds = elapsed();
    return result;
}

}  // namespace dcscope
