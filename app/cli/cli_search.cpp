// `dcscope-cli search`: the greedy per-step search of the compensation ratios (spec section 6).
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"

namespace dcscope::cli {
namespace {

struct SearchFlags {
    ModelFlags model;
    SolverFlags solver;
    GroundTruthFlags truth;
    double cfg = 1.0;
    std::string optimizer = "scan";
    int datapoints = 10;
    uint64_t seed = 0;
    SearchOptions search;
    std::string out;
    bool quiet = false;
};

void runSearch(const SearchFlags& flags) {
    const auto model = openModel(flags.model);
    const SolverConfig config = toSolverConfig(flags.solver);
    RatioSearchSettings settings;
    settings.guidance = flags.cfg;
    settings.datapoints = flags.datapoints;
    settings.seed = flags.seed;
    settings.options = flags.search;
    settings.options.optimizer = parseRatioOptimizer(flags.optimizer);
    settings.groundTruth = toGroundTruthOptions(flags.truth);
    settings.device = parseDevice(flags.model.device);
    const RatioSearchRun run = runRatioSearch(*model, config, settings, &interruptToken(), searchProgressPrinter(flags.quiet));
    if (!flags.quiet)
        std::fprintf(stderr, "ground truth: %s, error %.3e\n",
                     run.groundTruthFromCache ? "from the cache" : (std::to_string(run.groundTruthEvaluations) + " model calls").c_str(),
                     run.groundTruthError);
    const SearchResult& result = run.result;
    if (!flags.quiet) {
        for (const auto& step : result.steps) {
            const char* choice = finalStateChoice(step);
            if (!choice) continue;
            if (step.rho == step.greedyRho)
                std::fprintf(stderr, "final-state step %d/%d  rho = %.5g (%s)\n", step.step, step.totalSteps, step.rho, choice);
            else
                std::fprintf(stderr, "final-state step %d/%d  rho = %.5g from the greedy %.5g (%s)\n", step.step, step.totalSteps,
                             step.rho, step.greedyRho, choice);
        }
    }
    if (!flags.quiet && result.steps.back().refined)
        std::fprintf(stderr, "search batch final-state mse %.4e\n", result.finalLoss);
    saveRatios(flags.out, result.ratios, run.metadata);
    std::printf("searched %d ratios (%s, %s, nfe %d, cfg %g) on %d datapoints: %d model evaluations, %.3f s -> %s\n",
                config.steps, solverLabel(config).c_str(), toString(settings.options.optimizer).c_str(), config.steps, flags.cfg,
                flags.datapoints, result.evaluations, result.seconds, flags.out.c_str());
    nlohmann::json list = result.ratios;
    std::printf("%s\n", list.dump().c_str());
}

}  // namespace

void registerSearchCommand(CLI::App& app) {
    auto flags = std::make_shared<SearchFlags>();
    CLI::App* command = app.add_subcommand("search", "Search the dynamic-compensation ratios against a fine ground truth");
    addModelFlags(*command, flags->model);
    addSolverFlags(*command, flags->solver, SolverFlagSet::WithoutRatios);
    command->add_option("--cfg", flags->cfg, "Classifier-free guidance scale")->capture_default_str();
    command->add_option("--optimizer", flags->optimizer, "scan (global scan + Brent), golden (bracket from 1 + Brent) or adamw (the paper's)")->capture_default_str();
    command->add_option("--datapoints", flags->datapoints, "Search batch: seeds seed..seed+n-1, classes cycled")->capture_default_str();
    command->add_option("--seed", flags->seed, "First seed of the search batch")->capture_default_str();
    addOptimizerFlags(*command, flags->search);
    addGroundTruthFlags(*command, flags->truth);
    command->add_option("--out", flags->out, "Ratio file to write (JSON with metadata)")->required();
    command->add_flag("--quiet,-q", flags->quiet, "No progress on stderr");
    command->callback([flags] { runSearch(*flags); });
}

}  // namespace dcscope::cli
