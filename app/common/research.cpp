#include "research.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>

#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"

namespace dcscope {

std::string solverLabel(const SolverConfig& config) {
    switch (config.solver) {
    case SolverType::Ddim: return "ddim";
    case SolverType::DpmSolverPlusPlus: return "dpmpp-" + std::to_string(config.order);
    case SolverType::UniPC: return "unipc-" + toString(config.variant) + "-" + std::to_string(config.order);
    }
    return "?";
}

nlohmann::json searchMetadata(const SolverConfig& config, double cfg, const std::string& model, const SearchOptions& search,
                              int datapoints, uint64_t seed, const GroundTruthOptions& groundTruth, double groundTruthError,
                              const SearchResult& result) {
    nlohmann::json steps = nlohmann::json::array();
    const auto finiteOrNull = [](double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); };
    for (const auto& step : result.steps)
        steps.push_back({{"k", step.step}, {"searched", step.searched}, {"rho", step.rho}, {"loss_before", step.lossBefore},
                         {"loss_after", step.lossAfter}, {"prediction_loss_before", finiteOrNull(step.predictionLossBefore)},
                         {"prediction_loss_after", finiteOrNull(step.predictionLossAfter)}, {"refined", step.refined},
                         {"greedy_rho", step.greedyRho}, {"interpolated", step.interpolated}, {"evaluations", step.evaluations},
                         {"seconds", step.seconds}});
    return {{"nfe", config.steps},
            {"cfg", cfg},
            {"solver", toString(config.solver)},
            {"variant", toString(config.variant)},
            {"order", config.solver == SolverType::Ddim ? 1 : config.order},
            {"grid", toString(config.grid)},
            {"lower_order_final", config.lowerOrderFinal},
            {"disabled_correctors", config.disabledCorrectors},
            {"dc_order", config.dcOrder},
            {"optimizer", toString(search.optimizer)},
            {"shrink", search.optimizer == RatioOptimizer::AdamW ? nlohmann::json(nullptr) : nlohmann::json(search.shrink)},
            {"final_refine", search.optimizer == RatioOptimizer::Scan ? search.finalRefineSteps : 0},
            {"final_interpolating_ratios", search.optimizer == RatioOptimizer::Scan && search.finalRefineSteps > 0
                                               ? nlohmann::json(search.finalInterpolatingRatios)
                                               : nlohmann::json::array()},
            {"prediction_loss", search.optimizer == RatioOptimizer::Scan && search.predictionLoss},
            {"model", model},
            {"datapoints", datapoints},
            {"seed", seed},
            {"fine", resolveFineSteps(groundTruth.fineSteps, config.steps)},
            {"fine_solver", toString(groundTruth.fineSolver)},
            {"gt_error", std::isfinite(groundTruthError) ? nlohmann::json(groundTruthError) : nlohmann::json(nullptr)},
            {"steps", steps},
            {"evaluations", result.evaluations},
            {"seconds", result.seconds}};
}

RatioSearchRun runRatioSearch(DiffusionModel& model, const SolverConfig& config, const RatioSearchSettings& settings,
                              const CancelToken* cancel, const SearchObserver& observer, const GroundTruthProgress& truthProgress) {
    validate(settings.options);  // before the ground truth is computed
    if (settings.datapoints < 1)
        throw Error(ErrorCode::InvalidArgument, "datapoints: must be >= 1, got " + std::to_string(settings.datapoints));
    const Datapoints data = makeDatapoints(model, settings.seed, settings.datapoints);
    const at::Tensor noise = data.noise.to(settings.device);
    GuidedDenoiser denoiser(model, Conditioning{data.classes, settings.guidance}, cancel);
    const MultistepSampler sampler(model.schedule(), config);
    const GroundTruth truth = computeGroundTruth(denoiser, noise, sampler.times(), settings.groundTruth, truthProgress);
    RatioSearchRun run;
    run.groundTruthError = truth.error;
    run.groundTruthEvaluations = truth.modelEvaluations;
    run.groundTruthFromCache = truth.fromCache;
    run.result = searchRatios(denoiser, noise, config, truth, settings.options, observer);
    run.metadata = searchMetadata(config, settings.guidance, model.info().source, settings.options, settings.datapoints,
                                  settings.seed, settings.groundTruth, truth.error, run.result);
    return run;
}

std::vector<EvaluationEntry> heldOutEntries(const SolverConfig& base, const std::vector<std::pair<std::string, std::vector<double>>>& dcRatios,
                                            const std::optional<std::vector<double>>& cprRatios, bool baselines) {
    SolverConfig plain = base;
    plain.ratios.clear();
    std::vector<EvaluationEntry> entries{{solverLabel(plain), plain}};
    for (const auto& [name, ratios] : dcRatios) {
        SolverConfig config = plain;
        config.ratios = ratios;
        entries.push_back({solverLabel(plain) + "+DC(" + name + ")", config});
    }
    if (cprRatios) {
        SolverConfig config = plain;
        config.ratios = *cprRatios;
        entries.push_back({solverLabel(plain) + "+CPR", config});
    }
    if (baselines) {
        for (SolverType type : {SolverType::DpmSolverPlusPlus, SolverType::Ddim}) {
            if (type == plain.solver) continue;
            SolverConfig config = plain;
            config.solver = type;
            config.order = type == SolverType::Ddim ? 1 : 2;
            config.disabledCorrectors.clear();
            entries.push_back({solverLabel(config), config});
        }
    }
    return entries;
}

HeldOutEvaluation runHeldOutEvaluation(DiffusionModel& model, const std::vector<EvaluationEntry>& entries,
                                       const HeldOutSettings& settings, const CancelToken* cancel) {
    if (settings.datapoints < 2) throw Error(ErrorCode::InvalidArgument, "heldout: need at least 2 datapoints for an interval");
    const Datapoints data = makeDatapoints(model, settings.seed + kHeldOutSeedOffset, settings.datapoints);
    GuidedDenoiser denoiser(model, Conditioning{data.classes, settings.guidance}, cancel);
    return evaluateHeldOut(denoiser, data.noise.to(settings.device), entries, settings.groundTruth);
}

namespace {

std::string configurationName(int nfe, double guidance) {
    char text[64];
    std::snprintf(text, sizeof text, "nfe %d, cfg %g", nfe, guidance);
    return text;
}

}  // namespace

CprGridFit fitCprFromSearchGrid(DiffusionModel& model, const SolverConfig& base, const CprGridSettings& settings,
                                const CancelToken* cancel, const CprGridObserver& observer) {
    // The same check fitCpr makes, on placeholder ratios: a grid that cannot determine the
    // coefficients is refused before hours of searching, with fitCpr's own message.
    std::vector<CprSample> placeholders;
    for (const int nfe : settings.nfes) {
        if (nfe < 1) throw Error(ErrorCode::InvalidArgument, "nfe: every value must be >= 1, got " + std::to_string(nfe));
        for (const double guidance : settings.guidances) {
            if (!std::isfinite(guidance)) throw Error(ErrorCode::InvalidArgument, "cfg: every value must be finite");
            placeholders.push_back({configurationName(nfe, guidance), guidance, std::vector<double>(size_t(nfe), 1.0)});
        }
    }
    fitCpr(placeholders);
    validate(settings.search.options);

    const auto start = std::chrono::steady_clock::now();
    CprGridFit grid;
    const int configurations = int(placeholders.size());
    int index = 0;
    for (const int nfe : settings.nfes) {
        for (const double guidance : settings.guidances) {
            SolverConfig config = base;
            config.steps = nfe;
            config.ratios.clear();
            RatioSearchSettings search = settings.search;
            search.guidance = guidance;
            const SearchObserver stepObserver = [&](const SearchStepReport& report) {
                if (observer) observer(index, configurations, nfe, guidance, report);
            };
            const RatioSearchRun run = runRatioSearch(model, config, search, cancel, stepObserver);
            grid.samples.push_back({configurationName(nfe, guidance), guidance, run.result.ratios});
            grid.metadata.push_back(run.metadata);
            grid.evaluations += run.result.evaluations + run.groundTruthEvaluations;
            ++index;
        }
    }
    grid.fit = fitCpr(grid.samples);
    grid.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return grid;
}

}  // namespace dcscope
