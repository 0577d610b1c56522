// `dcscope-cli evaluate`: held-out final-state MSE against the ground truth (the paper's metric).
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/evaluation.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"
#include "dcscope/search.h"

namespace dcscope::cli {
namespace {

struct EvaluateFlags {
    ModelFlags model;
    SolverFlags solver;
    GroundTruthFlags truth;
    double cfg = 1.0;
    int heldout = 32;
    uint64_t seed = 0;
    std::vector<std::string> ratios;
    std::string cpr;
    bool noBaselines = false;
    std::string details;
};

// A ratio file searched under other settings still evaluates, but the user should know.
void warnOnMismatch(const std::string& path, const SolverConfig& config, double cfg, const std::string& model) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(readFile(path));
    } catch (const std::exception&) {
        return;  // loadRatios already accepted it; a plain list has no metadata
    }
    if (!document.is_object()) return;
    const nlohmann::json expected = {{"cfg", cfg},
                                     {"solver", toString(config.solver)},
                                     {"order", config.solver == SolverType::Ddim ? 1 : config.order},
                                     {"grid", toString(config.grid)},
                                     {"dc_order", config.dcOrder},
                                     {"model", model}};
    for (const auto& [key, value] : expected.items())
        if (document.contains(key) && document[key] != value)
            std::fprintf(stderr, "warning: %s was searched with %s = %s, evaluating with %s\n", path.c_str(), key.c_str(),
                         document[key].dump().c_str(), value.dump().c_str());
}

void runEvaluate(const EvaluateFlags& flags) {
    const auto model = openModel(flags.model);
    if (flags.heldout < 2) throw Error(ErrorCode::InvalidArgument, "heldout: need at least 2 datapoints for an interval");
    const SolverConfig base = toSolverConfig(flags.solver);
    const GroundTruthOptions truthOptions = toGroundTruthOptions(flags.truth);

    std::vector<std::pair<std::string, std::vector<double>>> dcRatios;
    for (const auto& path : flags.ratios) {
        dcRatios.emplace_back(std::filesystem::path(path).filename().string(), ratiosForConfig(path, base));
        warnOnMismatch(path, base, flags.cfg, model->info().source);
    }
    std::optional<std::vector<double>> cprRatios;
    if (!flags.cpr.empty()) cprRatios = cprRatiosForConfig(flags.cpr, base, flags.cfg);
    const std::vector<EvaluationEntry> entries = heldOutEntries(base, dcRatios, cprRatios, !flags.noBaselines);

    HeldOutSettings settings;
    settings.guidance = flags.cfg;
    settings.datapoints = flags.heldout;
    settings.seed = flags.seed;
    settings.groundTruth = truthOptions;
    settings.device = parseDevice(flags.model.device);
    const HeldOutEvaluation evaluation = runHeldOutEvaluation(*model, entries, settings, &interruptToken());
    const uint64_t firstSeed = flags.seed + kHeldOutSeedOffset;

    std::printf("held-out evaluation: %s, nfe %d, cfg %g, %d datapoints (seeds %llu..%llu), ground-truth error max %.3e, rms %.3e\n",
                model->info().source.c_str(), base.steps, flags.cfg, flags.heldout, static_cast<unsigned long long>(firstSeed),
                static_cast<unsigned long long>(firstSeed + uint64_t(flags.heldout) - 1), evaluation.groundTruthError,
                evaluation.groundTruthErrorRms);
    std::printf("%-36s %5s %12s  %-27s %10s\n", "configuration", "NFE", "MSE mean", "95% interval",
                ("vs " + entries.front().name).c_str());
    const double reference = evaluation.rows.front().mse.mean;
    for (const auto& row : evaluation.rows)
        std::printf("%-36s %5d %12.4e  [%11.4e, %11.4e] %10.4f\n", row.name.c_str(), row.config.steps, row.mse.mean, row.mse.lower,
                    row.mse.upper, row.mse.mean / reference);
    warnIfGroundTruthTooCoarse(evaluation, truthOptions.fineSolver);
    if (!flags.details.empty()) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& row : evaluation.rows)
            rows.push_back({{"name", row.name}, {"ratios", row.config.ratios}, {"mse_mean", row.mse.mean}, {"mse_lower", row.mse.lower},
                            {"mse_upper", row.mse.upper}, {"per_datapoint", row.perDatapoint}});
        const nlohmann::json document = {{"model", model->info().source}, {"nfe", base.steps}, {"cfg", flags.cfg},
                                         {"first_seed", firstSeed}, {"datapoints", flags.heldout},
                                         {"gt_error", evaluation.groundTruthError},
                                         {"gt_error_rms", evaluation.groundTruthErrorRms}, {"rows", rows}};
        writeFileAtomically(flags.details, document.dump(2) + "\n");
    }
}

}  // namespace

void registerEvaluateCommand(CLI::App& app) {
    auto flags = std::make_shared<EvaluateFlags>();
    CLI::App* command = app.add_subcommand("evaluate", "Held-out final-state MSE vs the ground truth, with 95% intervals");
    addModelFlags(*command, flags->model);
    addSolverFlags(*command, flags->solver, SolverFlagSet::WithoutRatios);
    command->add_option("--cfg", flags->cfg, "Classifier-free guidance scale")->capture_default_str();
    command->add_option("--heldout", flags->heldout, "Held-out datapoints (seeds from seed + 1000000)")->capture_default_str();
    command->add_option("--seed", flags->seed, "Search seed; held-out seeds start at seed + 1000000")->capture_default_str();
    command->add_option("--ratios", flags->ratios, "Searched ratio file(s) to evaluate with the solver flags");
    command->add_option("--cpr", flags->cpr, "CPR coefficients to evaluate: a .npy of 36, or a package folder with a compensation entry");
    command->add_flag("--no-baselines", flags->noBaselines, "Skip the DPM-Solver++ and DDIM reference rows");
    command->add_option("--details", flags->details, "JSON file for the per-datapoint MSE of every configuration");
    addGroundTruthFlags(*command, flags->truth);
    command->callback([flags] { runEvaluate(*flags); });
}

}  // namespace dcscope::cli
