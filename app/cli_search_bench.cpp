// `dcscope-cli search-bench`: cost and held-out quality of the ratio search, rho = 1 vs adamw vs
// golden, over several NFE. Timing lives here, never in unit tests.
#include <ATen/ATen.h>

#include <cstdio>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/evaluation.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"

namespace dcscope::cli {
namespace {

struct SearchBenchFlags {
    ModelFlags model{"builtin:gmm-image", "cpu"};
    SolverFlags solver;
    GroundTruthFlags truth;
    std::vector<int> nfes{5, 6, 8, 10};
    double cfg = 7.5;
    int datapoints = 10;
    int heldout = 32;
    uint64_t seed = 0;
    int budget = GoldenOptions{}.budget;
};

void runSearchBench(const SearchBenchFlags& flags) {
    const auto model = openModel(flags.model);
    const c10::Device device = parseDevice(flags.model.device);
    const GroundTruthOptions truthOptions = toGroundTruthOptions(flags.truth);
    const Datapoints search = makeDatapoints(*model, flags.seed, flags.datapoints);
    const Datapoints heldOut = makeDatapoints(*model, flags.seed + kHeldOutSeedOffset, flags.heldout);
    GuidedDenoiser searchDenoiser(*model, Conditioning{search.classes, flags.cfg}, &interruptToken());
    GuidedDenoiser heldOutDenoiser(*model, Conditioning{heldOut.classes, flags.cfg}, &interruptToken());
    const at::Tensor searchNoise = search.noise.to(device), heldOutNoise = heldOut.noise.to(device);

    SolverFlags solverFlags = flags.solver;
    solverFlags.nfe = flags.nfes.empty() ? 0 : flags.nfes.front();
    std::printf("search-bench: %s, %s, cfg %g, search on %d datapoints (seeds %llu..), held-out %d (seeds %llu..), "
                "ground truth %d %s steps\n",
                model->info().source.c_str(), solverLabel(toSolverConfig(solverFlags)).c_str(), flags.cfg, flags.datapoints,
                static_cast<unsigned long long>(flags.seed), flags.heldout,
                static_cast<unsigned long long>(flags.seed + kHeldOutSeedOffset), truthOptions.fineSteps,
                toString(truthOptions.fineSolver).c_str());
    std::printf("%4s  %-8s %7s %9s %12s  %-27s %9s\n", "NFE", "method", "evals", "seconds", "held-out MSE", "95% interval",
                "vs rho=1");
    for (int nfe : flags.nfes) {
        solverFlags.nfe = nfe;
        const SolverConfig config = toSolverConfig(solverFlags);
        const MultistepSampler sampler(model->schedule(), config);
        const GroundTruth truth = computeGroundTruth(searchDenoiser, searchNoise, sampler.times(), truthOptions);
        std::vector<EvaluationEntry> entries{{"rho=1", config}};
        std::vector<SearchResult> results(1);
        for (RatioOptimizer optimizer : {RatioOptimizer::AdamW, RatioOptimizer::Golden}) {
            SearchOptions options;
            options.optimizer = optimizer;
            options.golden.budget = flags.budget;
            results.push_back(searchRatios(searchDenoiser, searchNoise, config, truth, options));
            SolverConfig searched = config;
            searched.ratios = results.back().ratios;
            entries.push_back({toString(optimizer), searched});
        }
        const HeldOutEvaluation evaluation = evaluateHeldOut(heldOutDenoiser, heldOutNoise, entries, truthOptions);
        const double reference = evaluation.rows.front().mse.mean;
        for (size_t i = 0; i < entries.size(); ++i) {
            const auto& row = evaluation.rows[i];
            std::printf("%4d  %-8s %7d %9.3f %12.4e  [%11.4e, %11.4e] %9.4f\n", nfe, row.name.c_str(), results[i].evaluations,
                        results[i].seconds, row.mse.mean, row.mse.lower, row.mse.upper, row.mse.mean / reference);
        }
        const auto& adamw = evaluation.rows[1];
        const auto& golden = evaluation.rows[2];
        std::printf("%4d  golden/adamw: evaluations %.3f (target <= 0.333), held-out MSE %.4f (target <= 1); "
                    "ground-truth error %.2e\n",
                    nfe, double(results[2].evaluations) / std::max(1, results[1].evaluations), golden.mse.mean / adamw.mse.mean,
                    evaluation.groundTruthError);
        std::fflush(stdout);
    }
}

}  // namespace

void registerSearchBenchCommand(CLI::App& app) {
    auto flags = std::make_shared<SearchBenchFlags>();
    CLI::App* command = app.add_subcommand("search-bench", "Ratio search cost and held-out MSE: rho = 1 vs adamw vs golden");
    command->add_option("--model", flags->model.model, "Model package folder or builtin:NAME")->capture_default_str();
    command->add_option("--device", flags->model.device, "cpu, cuda or cuda:N")->capture_default_str();
    command->add_option("--nfe", flags->nfes, "NFE values")->delimiter(',')->capture_default_str();
    command->add_option("--solver", flags->solver.solver, "ddim, dpmpp or unipc")->capture_default_str();
    command->add_option("--variant", flags->solver.variant, "UniPC variant bh1 or bh2")->capture_default_str();
    command->add_option("--order", flags->solver.order, "Solver order 1-3")->capture_default_str();
    command->add_option("--skip", flags->solver.grid, "Time grid: time_uniform, logSNR or time_quadratic")->capture_default_str();
    command->add_option("--dc-order", flags->solver.dcOrder, "Dynamic compensation order K (1-3)")->capture_default_str();
    command->add_option("--cfg", flags->cfg, "Classifier-free guidance scale")->capture_default_str();
    command->add_option("--datapoints", flags->datapoints, "Search batch size")->capture_default_str();
    command->add_option("--heldout", flags->heldout, "Held-out datapoints")->capture_default_str();
    command->add_option("--seed", flags->seed, "First search seed (held-out from seed + 1000000)")->capture_default_str();
    command->add_option("--budget", flags->budget, "golden: loss evaluations per step")->capture_default_str();
    addGroundTruthFlags(*command, flags->truth);
    command->callback([flags] { runSearchBench(*flags); });
}

}  // namespace dcscope::cli
