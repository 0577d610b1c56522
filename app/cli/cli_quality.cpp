#include <chrono>
#include <cstdio>

#include "cli_commands.h"
#include "cli_common.h"
#include "dcscope/errors.h"
#include "dcscope/quality.h"
#include "dcscope/torchscript_model.h"

namespace dcscope::cli {
namespace {

struct QualityFlags {
    ModelFlags model;
    SolverFlags solver;
    double cfg = 1.0;
    int samples = 1000;
    int batchSize = 250;
    uint64_t seed = 0;
    bool quiet = false;
};

void runQuality(const QualityFlags& flags) {
    const auto model = std::dynamic_pointer_cast<TorchScriptModel>(openModel(flags.model));
    if (!model) throw Error(ErrorCode::InvalidArgument, "model: quality metrics need a model package with a 'quality' section");
    const auto quality = QualityModel::open(*model);
    const SolverConfig config = toSolverConfig(flags.solver, flags.cfg);
    const auto begin = std::chrono::steady_clock::now();
    const QualityReport report = measureQuality(
        *model, *quality, config, flags.cfg, flags.samples, flags.batchSize, flags.seed, &interruptToken(), [&](int done, int total) {
            if (!flags.quiet) std::fprintf(stderr, "\rquality: %d/%d samples", done, total);
        });
    if (!flags.quiet) std::fputc('\n', stderr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::printf("model %s, solver %s%s, nfe %d, cfg %g, %d samples (%.1f s)\n", model->info().name.c_str(),
                toString(config.solver).c_str(), config.ratios.empty() ? "" : flags.solver.cprFile.empty() ? "+DC" : "+DC(CPR)", config.steps, flags.cfg, report.samples, seconds);
    std::printf("class accuracy:   %.4f\n", report.classAccuracy);
    std::printf("frechet distance: %.4f\n", report.frechetDistance);
}

}  // namespace

void registerQualityCommand(CLI::App& app) {
    auto flags = std::make_shared<QualityFlags>();
    CLI::App* command = app.add_subcommand("quality", "Class accuracy and Frechet distance of generated samples");
    addModelFlags(*command, flags->model);
    addSolverFlags(*command, flags->solver);
    command->add_option("--cfg", flags->cfg, "Classifier-free guidance scale")->capture_default_str();
    command->add_option("--samples", flags->samples, "Number of samples (class-balanced)")->capture_default_str();
    command->add_option("--batch-size", flags->batchSize, "Samples per model batch")->capture_default_str();
    command->add_option("--seed", flags->seed, "Seed of the start noise")->capture_default_str();
    command->add_flag("--quiet,-q", flags->quiet, "No progress on stderr");
    command->callback([flags] { runQuality(*flags); });
}

}  // namespace dcscope::cli
