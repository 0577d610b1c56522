#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dcscope/cancel.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/schedule.h"

namespace dcscope {

enum class SolverType { Ddim, DpmSolverPlusPlus, UniPC };
enum class UniPCVariant { Bh1, Bh2 };

SolverType parseSolverType(const std::string& name);  ///< ddim | dpmpp | unipc
std::string toString(SolverType type);
UniPCVariant parseUniPCVariant(const std::string& name);  ///< bh1 | bh2
std::string toString(UniPCVariant variant);

/// UniPC coefficients of one update (spec section 4): B(h), g_1..g_p, predictor a (p-1 values)
/// and corrector c (p values) for step size h = lambda_t - lambda_s and the earlier nodes
/// r_k = (lambda_{s_k} - lambda_s) / h (p - 1 of them).
struct UniPCCoefficients {
    double b = 0.0;
    std::vector<double> g;
    std::vector<double> predictor;
    std::vector<double> corrector;
};
UniPCCoefficients computeUniPCCoefficients(double h, const std::vector<double>& earlierNodes, UniPCVariant variant);

/// Everything that defines a sampling run apart from model, noise and conditioning.
struct SolverConfig {
    SolverType solver = SolverType::UniPC;
    UniPCVariant variant = UniPCVariant::Bh2;
    int order = 2;                       ///< 1..3 (DDIM is always 1)
    int steps = 10;                      ///< S = NFE
    TimeGrid grid = TimeGrid::TimeUniform;
    bool lowerOrderFinal = true;
    std::vector<int> disabledCorrectors; ///< 0-based update indices whose UniPC corrector is skipped
    int dcOrder = 2;                     ///< K, 1..3
    std::vector<double> ratios;          ///< rho_0..rho_{S-1}; empty = no compensation
};

/// The name shown to people for a solver: "DDIM", "DPM-Solver++ (2M)", "UniPC (bh2)" (the order
/// is named where it is not the default 2 of UniPC: "UniPC (bh1, order 3)").
std::string displayName(const SolverConfig& config);

/// Throws Error(InvalidArgument) naming the field for impossible settings (nfe < 1, order not in
/// 1..3, dc-order not in 1..3, wrong ratio count, non-finite ratios, rho_k != 1 for k < K, ...).
void validate(const SolverConfig& config);

/// One model output kept for the multistep formulas: m = x0-prediction at time t.
struct HistoryEntry {
    double t = 0.0;
    double lambda = 0.0;
    at::Tensor dataPrediction;
};

/// The complete state between two updates. Copies are cheap (tensors are shared, never mutated
/// in place once stored), so a search can branch from a state and try several ratios.
struct SamplerState {
    int step = 0;                        ///< index of the current time t_step (0..S)
    at::Tensor x;                        ///< state at t_step
    std::vector<HistoryEntry> history;   ///< oldest first; newest is the output at t_step
    int nfe = 0;
};

/// What an observer sees after the start (step 0) and after every update (steps 1..S).
struct StepReport {
    int step = 0;
    int totalSteps = 0;
    double t = 0.0;
    double lambda = 0.0;
    at::Tensor x;                  ///< state at t
    at::Tensor dataPrediction;     ///< x0-prediction of the model call at t (the state itself at step S)
    at::Tensor modelOutput;        ///< the (compensated) x0-prediction that drove the update into t
    double ratio = 1.0;            ///< rho used for that update
    int order = 1;                 ///< order used for that update
    int nfe = 0;                   ///< model calls so far
};
/// Called on the sampling thread; must not keep references to tensors it intends to mutate.
using StepObserver = std::function<void(const StepReport&)>;

/// Multistep DDIM / DPM-Solver++ / UniPC (bh1, bh2) with dynamic compensation, exactly as in
/// spec sections 4-5, run as a sequence of pure state transitions.
class MultistepSampler {
public:
    /// Validates the configuration; throws Error(InvalidArgument).
    MultistepSampler(const NoiseSchedule& schedule, SolverConfig config);

    const SolverConfig& config() const { return m_config; }
    const std::vector<double>& times() const { return m_times; }
    int steps() const { return m_config.steps; }
    /// Order of update `update` (0-based, from t_update to t_update+1).
    int orderAt(int update) const;
    /// Whether update `update` runs the UniPC corrector (never for the last update).
    bool correctorAt(int update) const;

    /// Evaluates the model at x_T = noise (one NFE) and returns the step-0 state.
    SamplerState start(GuidedDenoiser& denoiser, const at::Tensor& noise) const;
    /// Performs update state.step -> state.step + 1 with compensation ratio rho (1 = none),
    /// including the model call at the new time unless it is the last update.
    SamplerState advance(GuidedDenoiser& denoiser, const SamplerState& state, double rho) const;
    /// Same with rho as a 0-dim tensor, so gradients flow from the new state into rho.
    SamplerState advanceDifferentiable(GuidedDenoiser& denoiser, const SamplerState& state, const at::Tensor& rho) const;
    /// The state x at t_{step+1} that advance() would return for ratio rho, without the model call
    /// at the new time whenever x does not depend on it (DDIM, DPM-Solver++, UniPC updates without
    /// corrector: no NFE at all). UniPC updates with corrector still make their one model call.
    /// For trial evaluations of the ratio search.
    at::Tensor trialState(GuidedDenoiser& denoiser, const SamplerState& state, double rho) const;
    /// Same with rho as a 0-dim tensor, differentiable with respect to rho.
    at::Tensor trialStateDifferentiable(GuidedDenoiser& denoiser, const SamplerState& state, const at::Tensor& rho) const;

    /// Runs all S updates with the configured ratios. Reports every step to `observer` (may be
    /// empty). Throws Error(Cancelled) if the denoiser's token is set before a model call.
    /// `states`, when given, receives the state after every step (index = step, 0..S).
    at::Tensor run(GuidedDenoiser& denoiser, const at::Tensor& noise, const StepObserver& observer = {},
                   std::vector<SamplerState>* states = nullptr) const;
    /// Runs the updates after `state` to t_S. `state` must be what a run with the same ratios up
    /// to state.step reached there (typically kept in `states` by an earlier run whose ratios
    /// agree with this configuration's before index state.step); the result is then bit for bit
    /// the full run's. Reports steps state.step + 1..S; `states` is resized to S + 1 and receives
    /// the states from state.step on (earlier entries are left as they are).
    at::Tensor resume(GuidedDenoiser& denoiser, const SamplerState& state, const StepObserver& observer = {},
                      std::vector<SamplerState>* states = nullptr) const;

    /// The observer report for a state just produced (step > 0 needs the update's ratio).
    StepReport report(const SamplerState& state, const at::Tensor& usedModelOutput, double rho) const;

private:
    // evaluateNext = false: skip the model call at the new time unless the state needs it (the
    // returned history then lacks that entry; only trialState uses it).
    SamplerState advanceImpl(GuidedDenoiser& denoiser, const SamplerState& state, double rho, const at::Tensor* rhoTensor,
                             at::Tensor* usedModelOutput, bool evaluateNext = true) const;
    at::Tensor update(const SamplerState& state, const std::vector<HistoryEntry>& history, GuidedDenoiser& denoiser,
                      at::Tensor& newDataPrediction, bool evaluateNext = true) const;

    const NoiseSchedule& m_schedule;
    SolverConfig m_config;
    std::vector<double> m_times;
    std::vector<double> m_lambdas;
    std::vector<NoiseSchedule::Float32Values> m_values;  // alpha, sigma, lambda at each grid time
    size_t m_historySize;
};

/// Convenience: sample S steps from `noise` and return x at t_S.
at::Tensor sample(GuidedDenoiser& denoiser, const at::Tensor& noise, const SolverConfig& config,
                  const StepObserver& observer = {});

}  // namespace dcscope
