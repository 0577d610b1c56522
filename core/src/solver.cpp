#include "dcscope/solver.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "linear_combination.h"

namespace dcscope {
namespace {

// Solves A y = b for the tiny (n <= 3) UniPC systems by Gaussian elimination with partial pivoting.
std::vector<double> solveSmall(std::vector<std::vector<double>> a, std::vector<double> b) {
    const size_t n = b.size();
    for (size_t col = 0; col < n; ++col) {
        size_t pivot = col;
        for (size_t row = col + 1; row < n; ++row)
            if (std::abs(a[row][col]) > std::abs(a[pivot][col])) pivot = row;
        if (a[pivot][col] == 0.0) throw Error(ErrorCode::InvalidArgument, "UniPC: singular coefficient system (repeated times?)");
        std::swap(a[pivot], a[col]);
        std::swap(b[pivot], b[col]);
        for (size_t row = col + 1; row < n; ++row) {
            const double factor = a[row][col] / a[col][col];
            for (size_t k = col; k < n; ++k) a[row][k] -= factor * a[col][k];
            b[row] -= factor * b[col];
        }
    }
    std::vector<double> y(n);
    for (size_t i = n; i-- > 0;) {
        double sum = b[i];
        for (size_t k = i + 1; k < n; ++k) sum -= a[i][k] * y[k];
        y[i] = sum / a[i][i];
    }
    return y;
}

// x * cx + sum_j coefficient_j * tensor_j, fused into one memory pass where possible.
struct Term {
    double coefficient;
    const at::Tensor* tensor;
};
at::Tensor linearCombination(const at::Tensor& x, double cx, const std::vector<Term>& terms) {
    std::vector<WeightedTensor> weighted{{cx, &x}};
    for (const auto& term : terms) weighted.push_back({term.coefficient, term.tensor});
    return dcscope::linearCombination(weighted);
}

}  // namespace

UniPCCoefficients computeUniPCCoefficients(double h, const std::vector<double>& earlierNodes, UniPCVariant variant) {
    const int order = static_cast<int>(earlierNodes.size()) + 1;
    const double z = -h;
    UniPCCoefficients result;
    result.b = variant == UniPCVariant::Bh1 ? z : std::expm1(z);
    std::vector<double> nodes = earlierNodes;
    nodes.push_back(1.0);
    result.g.resize(size_t(order));
    const size_t n = static_cast<size_t>(order);
    std::vector<std::vector<double>> r(n, std::vector<double>(n));
    double psi = std::expm1(z) / z - 1.0;  // psi_1
    double factorial = 1.0;                // j!
    for (int j = 1; j <= order; ++j) {
        result.g[size_t(j) - 1] = factorial * psi / result.b;
        factorial *= j + 1;
        psi = psi / z - 1.0 / factorial;
        for (int i = 0; i < order; ++i) r[size_t(j) - 1][size_t(i)] = std::pow(nodes[size_t(i)], j - 1);
    }
    if (order == 2) {
        result.predictor = {0.5};
    } else if (order >= 3) {
        std::vector<std::vector<double>> sub(n - 1, std::vector<double>(n - 1));
        for (int j = 0; j < order - 1; ++j)
            for (int i = 0; i < order - 1; ++i) sub[size_t(j)][size_t(i)] = r[size_t(j)][size_t(i)];
        result.predictor = solveSmall(sub, std::vector<double>(result.g.begin(), result.g.end() - 1));
    }
    result.corrector = order == 1 ? std::vector<double>{0.5} : solveSmall(r, result.g);
    return result;
}

SolverType parseSolverType(const std::string& name) {
    if (name == "ddim") return SolverType::Ddim;
    if (name == "dpmpp" || name == "dpm-solver++") return SolverType::DpmSolverPlusPlus;
    if (name == "unipc") return SolverType::UniPC;
    throw Error(ErrorCode::InvalidArgument, "solver '" + name + "' is not one of ddim, dpmpp, unipc");
}

std::string displayName(const SolverConfig& config) {
    switch (config.solver) {
    case SolverType::Ddim: return "DDIM";
    case SolverType::DpmSolverPlusPlus: return "DPM-Solver++ (" + std::to_string(std::clamp(config.order, 1, 3)) + "M)";
    case SolverType::UniPC: {
        std::string name = "UniPC (" + toString(config.variant);
        if (config.order != 2) name += ", order " + std::to_string(config.order);
        return name + ")";
    }
    }
    return "?";
}

std::string toString(SolverType type) {
    switch (type) {
    case SolverType::Ddim: return "ddim";
    case SolverType::DpmSolverPlusPlus: return "dpmpp";
    case SolverType::UniPC: return "unipc";
    }
    return "?";
}

UniPCVariant parseUniPCVariant(const std::string& name) {
    if (name == "bh1") return UniPCVariant::Bh1;
    if (name == "bh2") return UniPCVariant::Bh2;
    throw Error(ErrorCode::InvalidArgument, "variant '" + name + "' is not one of bh1, bh2");
}

std::string toString(UniPCVariant variant) { return variant == UniPCVariant::Bh1 ? "bh1" : "bh2"; }

void validate(const SolverConfig& config) {
    auto invalid = [](const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); };
    if (config.steps < 1) invalid("nfe: must be >= 1, got " + std::to_string(config.steps));
    if (config.steps > 100000) invalid("nfe: must be <= 100000, got " + std::to_string(config.steps));
    if (config.order < 1 || config.order > 3) invalid("order: must be 1, 2 or 3, got " + std::to_string(config.order));
    if (config.dcOrder < 1 || config.dcOrder > 3) invalid("dc-order: must be 1, 2 or 3, got " + std::to_string(config.dcOrder));
    for (int index : config.disabledCorrectors)
        if (index < 0 || index >= config.steps)
            invalid("disable-corrector: update index " + std::to_string(index) + " is outside 0.." + std::to_string(config.steps - 1));
    if (config.ratios.empty()) return;
    if (static_cast<int>(config.ratios.size()) != config.steps)
        invalid("ratios: " + std::to_string(config.ratios.size()) + " values for nfe " + std::to_string(config.steps) +
                " (need one per step)");
    for (size_t k = 0; k < config.ratios.size(); ++k) {
        if (!std::isfinite(config.ratios[k])) invalid("ratios: rho_" + std::to_string(k) + " is not finite");
        if (static_cast<int>(k) < config.dcOrder && config.ratios[k] != 1.0)
            invalid("ratios: rho_" + std::to_string(k) + " = " + std::to_string(config.ratios[k]) +
                    " but the first dc-order (" + std::to_string(config.dcOrder) + ") ratios must be 1");
    }
}

MultistepSampler::MultistepSampler(const NoiseSchedule& schedule, SolverConfig config)
    : m_schedule(schedule), m_config(std::move(config)) {
    validate(m_config);
    if (m_config.solver == SolverType::Ddim) m_config.order = 1;
    m_times = makeTimeGrid(schedule, m_config.grid, m_config.steps);
    for (double t : m_times) m_values.push_back(schedule.float32Values(t));
    for (const auto& v : m_values) m_lambdas.push_back(v.lambda);
    for (size_t i = 1; i < m_times.size(); ++i)
        if (!(m_times[i] < m_times[i - 1]))
            throw Error(ErrorCode::InvalidArgument, "nfe: too many steps for the schedule's time range (times must decrease)");
    m_historySize = static_cast<size_t>(std::max(m_config.order, m_config.dcOrder + 1));
}

int MultistepSampler::orderAt(int update) const {
    const int k = update + 1;  // 1-based update number
    const int steps = m_config.steps;
    int order = std::min(k, m_config.order);
    if (!m_config.lowerOrderFinal) return order;
    if (m_config.solver == SolverType::DpmSolverPlusPlus && steps >= 15) return order;
    return std::min(order, steps + 1 - k);
}

bool MultistepSampler::correctorAt(int update) const {
    if (m_config.solver != SolverType::UniPC || update >= m_config.steps - 1) return false;
    const auto& disabled = m_config.disabledCorrectors;
    return std::find(disabled.begin(), disabled.end(), update) == disabled.end();
}

SamplerState MultistepSampler::start(GuidedDenoiser& denoiser, const at::Tensor& noise) const {
    denoiser.validateNoise(noise);
    SamplerState state;
    state.step = 0;
    state.x = noise;
    state.history.push_back({m_times[0], m_lambdas[0], denoiser.dataPrediction(noise, m_times[0])});
    state.nfe = denoiser.nfe();
    return state;
}

SamplerState MultistepSampler::advance(GuidedDenoiser& denoiser, const SamplerState& state, double rho) const {
    return advanceImpl(denoiser, state, rho, nullptr, nullptr);
}

SamplerState MultistepSampler::advanceDifferentiable(GuidedDenoiser& denoiser, const SamplerState& state,
                                                     const at::Tensor& rho) const {
    return advanceImpl(denoiser, state, 1.0, &rho, nullptr);
}

at::Tensor MultistepSampler::trialState(GuidedDenoiser& denoiser, const SamplerState& state, double rho) const {
    return advanceImpl(denoiser, state, rho, nullptr, nullptr, false).x;
}

at::Tensor MultistepSampler::trialStateDifferentiable(GuidedDenoiser& denoiser, const SamplerState& state,
                                                      const at::Tensor& rho) const {
    return advanceImpl(denoiser, state, 1.0, &rho, nullptr, false).x;
}

SamplerState MultistepSampler::advanceImpl(GuidedDenoiser& denoiser, const SamplerState& state, double rho,
                                           const at::Tensor* rhoTensor, at::Tensor* usedModelOutput, bool evaluateNext) const {
    const int k = state.step;
    if (k < 0 || k >= m_config.steps) throw Error(ErrorCode::InvalidArgument, "advance: no update left after step " + std::to_string(k));
    if (!std::isfinite(rho)) throw Error(ErrorCode::InvalidArgument, "ratio: rho_" + std::to_string(k) + " is not finite");
    std::vector<HistoryEntry> history = state.history;
    const bool compensating = rhoTensor != nullptr || rho != 1.0;
    if (compensating) {
        const size_t needed = static_cast<size_t>(m_config.dcOrder) + 1;
        if (k < m_config.dcOrder || history.size() < needed)
            throw Error(ErrorCode::InvalidArgument, "ratios: rho_" + std::to_string(k) + " must be 1 (dynamic compensation of order " +
                                                        std::to_string(m_config.dcOrder) + " needs " + std::to_string(needed) + " outputs)");
        std::vector<at::Tensor> values;
        std::vector<double> times;
        for (size_t a = 0; a < needed; ++a) {
            const auto& entry = history[history.size() - 1 - a];
            values.push_back(entry.dataPrediction);
            times.push_back(entry.t);
        }
        // The replacement is permanent: later updates, correctors and compensations see it.
        history.back().dataPrediction = rhoTensor ? compensateDifferentiable(values, times, *rhoTensor)
                                                  : compensate(values, times, rho);
    }
    if (usedModelOutput) *usedModelOutput = history.back().dataPrediction;

    at::Tensor newDataPrediction;
    SamplerState next;
    next.step = k + 1;
    if (!compensating || rhoTensor) {
        next.x = update(state, history, denoiser, newDataPrediction, evaluateNext);
    } else {
        // A ratio far from 1 can blow the state up: name the step and the ratio, not the model
        // that was then handed the non-finite (or enormous) state.
        const auto blame = [&] {
            std::ostringstream message;
            message << "step " << k << ": compensation with rho_" << k << " = " << rho << " made the state non-finite";
            return Error(ErrorCode::NonFinite, message.str());
        };
        const bool check = denoiser.checksFinite();
        if (check && !at::isfinite(history.back().dataPrediction).all().item<bool>()) throw blame();
        try {
            next.x = update(state, history, denoiser, newDataPrediction, evaluateNext);
        } catch (const Error& e) {
            if (e.code() == ErrorCode::NonFinite) throw blame();
            throw;
        }
        if (check && !at::isfinite(next.x).all().item<bool>()) throw blame();
    }
    if (newDataPrediction.defined()) {
        history.push_back({m_times[size_t(k) + 1], m_lambdas[size_t(k) + 1], newDataPrediction});
        if (history.size() > m_historySize) history.erase(history.begin(), history.end() - static_cast<long>(m_historySize));
    }
    next.history = std::move(history);
    next.nfe = denoiser.nfe();
    return next;
}

at::Tensor MultistepSampler::update(const SamplerState& state, const std::vector<HistoryEntry>& history,
                                    GuidedDenoiser& denoiser, at::Tensor& newDataPrediction, bool evaluateNext) const {
    const int k = state.step;
    const bool last = k + 1 == m_config.steps;
    const int order = std::min(orderAt(k), static_cast<int>(history.size()));
    const double t = m_times[size_t(k) + 1];
    const double lambdaT = m_lambdas[size_t(k) + 1];
    const HistoryEntry& newest = history.back();
    const auto& ms = newest.dataPrediction;
    const double h = lambdaT - newest.lambda;
    const double alphaT = m_values[size_t(k) + 1].alpha;
    const double sigmaRatio = m_values[size_t(k) + 1].sigma / m_schedule.float32Values(newest.t).sigma;
    const double expm1MinusH = std::expm1(-h);
    const double baseModelCoefficient = -alphaT * expm1MinusH;  // base = sigmaRatio * x + this * m_s
    auto entry = [&](int back) -> const HistoryEntry& { return history[history.size() - 1 - size_t(back)]; };

    at::Tensor xNext;
    switch (m_config.solver) {
    case SolverType::Ddim:
        xNext = linearCombination(state.x, sigmaRatio, {{baseModelCoefficient, &ms}});
        break;
    case SolverType::DpmSolverPlusPlus: {
        if (order == 1) {
            xNext = linearCombination(state.x, sigmaRatio, {{baseModelCoefficient, &ms}});
        } else if (order == 2) {
            const auto& p = entry(1);
            const double r = (newest.lambda - p.lambda) / h;
            const double cD = -0.5 * alphaT * expm1MinusH / r;  // coefficient of (m_s - m_p)
            xNext = linearCombination(state.x, sigmaRatio, {{baseModelCoefficient + cD, &ms}, {-cD, &p.dataPrediction}});
        } else {
            const auto& p = entry(1);
            const auto& q = entry(2);
            const double h0 = newest.lambda - p.lambda, h1 = p.lambda - q.lambda;
            const double r0 = h0 / h, r1 = h1 / h;
            // D0, D1' and hence D1, D2 as coefficient vectors over (m_s, m_p, m_q).
            const std::array<double, 3> d0{1.0 / r0, -1.0 / r0, 0.0};
            const std::array<double, 3> d1Prime{0.0, 1.0 / r1, -1.0 / r1};
            std::array<double, 3> coefficients{baseModelCoefficient, 0.0, 0.0};
            const double c1 = alphaT * (expm1MinusH / h + 1.0);
            const double c2 = -alphaT * ((expm1MinusH + h) / (h * h) - 0.5);
            for (size_t i = 0; i < 3; ++i) {
                const double d1 = d0[i] + r0 / (r0 + r1) * (d0[i] - d1Prime[i]);
                const double d2 = (d0[i] - d1Prime[i]) / (r0 + r1);
                coefficients[i] += c1 * d1 + c2 * d2;
            }
            xNext = linearCombination(state.x, sigmaRatio,
                                      {{coefficients[0], &ms}, {coefficients[1], &p.dataPrediction}, {coefficients[2], &q.dataPrediction}});
        }
        break;
    }
    case SolverType::UniPC: {
        std::vector<double> nodes;
        for (int i = 1; i < order; ++i) nodes.push_back((entry(i).lambda - newest.lambda) / h);
        const UniPCCoefficients coefficients = computeUniPCCoefficients(h, nodes, m_config.variant);
        const double b = coefficients.b;
        const std::vector<double>& predictor = coefficients.predictor;
        const double scale = -alphaT * b;  // x = base + scale * sum(coefficient * D)
        // Predictor: x~ = base - alpha_t B sum_{i<p} a_i D_i with D_i = (m_i - m_s) / r_i.
        std::vector<Term> terms;
        double msCoefficient = baseModelCoefficient;
        for (size_t i = 0; i < predictor.size(); ++i) {
            const double c = scale * predictor[i] / nodes[i];
            terms.push_back({c, &entry(int(i) + 1).dataPrediction});
            msCoefficient -= c;
        }
        terms.push_back({msCoefficient, &ms});
        const at::Tensor predicted = linearCombination(state.x, sigmaRatio, terms);
        if (last) return predicted;  // the last update makes no model call
        if (!evaluateNext && !correctorAt(k)) return predicted;
        const at::Tensor modelAtPredicted = denoiser.dataPrediction(predicted, t);
        newDataPrediction = modelAtPredicted;
        if (!correctorAt(k)) return predicted;
        const std::vector<double>& corrector = coefficients.corrector;
        terms.clear();
        msCoefficient = baseModelCoefficient;
        for (int i = 0; i + 1 < order; ++i) {
            const double c = scale * corrector[size_t(i)] / nodes[size_t(i)];
            terms.push_back({c, &entry(i + 1).dataPrediction});
            msCoefficient -= c;
        }
        const double cT = scale * corrector.back();
        terms.push_back({cT, &modelAtPredicted});
        msCoefficient -= cT;
        terms.push_back({msCoefficient, &ms});
        return linearCombination(state.x, sigmaRatio, terms);
    }
    }
    if (!last && evaluateNext) newDataPrediction = denoiser.dataPrediction(xNext, t);
    return xNext;
}

StepReport MultistepSampler::report(const SamplerState& state, const at::Tensor& usedModelOutput, double rho) const {
    StepReport report;
    report.step = state.step;
    report.totalSteps = m_config.steps;
    report.t = m_times[size_t(state.step)];
    report.lambda = m_lambdas[size_t(state.step)];
    report.x = state.x;
    const bool haveOutputHere = !state.history.empty() && state.history.back().t == report.t;
    report.dataPrediction = haveOutputHere ? state.history.back().dataPrediction : state.x;
    report.modelOutput = usedModelOutput;
    report.ratio = rho;
    report.order = state.step > 0 ? orderAt(state.step - 1) : 0;
    report.nfe = state.nfe;
    return report;
}

at::Tensor MultistepSampler::run(GuidedDenoiser& denoiser, const at::Tensor& noise, const StepObserver& observer,
                                 std::vector<SamplerState>* states) const {
    at::NoGradGuard noGrad;  // sampling never needs autograd; the search enables it itself
    const SamplerState first = start(denoiser, noise);
    if (observer) observer(report(first, first.history.back().dataPrediction, 1.0));
    return resume(denoiser, first, observer, states);
}

at::Tensor MultistepSampler::resume(GuidedDenoiser& denoiser, const SamplerState& from, const StepObserver& observer,
                                    std::vector<SamplerState>* states) const {
    at::NoGradGuard noGrad;
    if (from.step < 0 || from.step > m_config.steps)
        throw Error(ErrorCode::InvalidArgument, "resume: step " + std::to_string(from.step) + " is outside 0.." + std::to_string(m_config.steps));
    if (states) {
        states->resize(size_t(m_config.steps) + 1);
        (*states)[size_t(from.step)] = from;
    }
    SamplerState state = from;
    for (int k = from.step; k < m_config.steps; ++k) {
        const double rho = m_config.ratios.empty() ? 1.0 : m_config.ratios[size_t(k)];
        at::Tensor used;
        state = advanceImpl(denoiser, state, rho, nullptr, observer ? &used : nullptr);
        if (observer) observer(report(state, used, rho));
        if (states) (*states)[size_t(k) + 1] = state;
    }
    return state.x;
}

at::Tensor sample(GuidedDenoiser& denoiser, const at::Tensor& noise, const SolverConfig& config, const StepObserver& observer) {
    const MultistepSampler sampler(denoiser.model().schedule(), config);
    return sampler.run(denoiser, noise, observer);
}

}  // namespace dcscope
