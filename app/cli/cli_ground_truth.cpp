// `dcscope-cli gt`: the fine ground-truth trajectory through the coarse grid of a run.
#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"

namespace dcscope::cli {
namespace {

struct GroundTruthCommandFlags {
    ModelFlags model;
    BatchFlags batch;
    GroundTruthFlags truth;
    int nfe = 0;
    std::string grid = "time_uniform";
    std::string out;
    bool quiet = false;
};

void runGroundTruth(const GroundTruthCommandFlags& flags) {
    const auto model = openModel(flags.model);
    const GroundTruthOptions options = toGroundTruthOptions(flags.truth);
    const auto times = makeTimeGrid(model->schedule(), parseTimeGrid(flags.grid), flags.nfe);
    const at::Tensor noise = makeNoise(flags.batch, *model);
    const at::Tensor classes = parseClasses(flags.batch.classes, noise.size(0), *model);
    if (!flags.out.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(flags.out, ec);
        if (ec) throw Error(ErrorCode::BadFile, flags.out + ": cannot create output folder");
    }
    GuidedDenoiser denoiser(*model, Conditioning{classes, flags.batch.cfg}, &interruptToken());
    GroundTruthProgress progress;
    if (!flags.quiet)
        progress = [](int done, int total) {
            if (done % 10 == 0 || done == total) std::fprintf(stderr, "\rground truth: model call %d/%d   ", done, total);
            if (done == total) std::fputc('\n', stderr);
        };
    const auto begin = std::chrono::steady_clock::now();
    const GroundTruth truth = computeGroundTruth(denoiser, noise.to(parseDevice(flags.model.device)), times, options, progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

    if (!flags.out.empty()) {
        nlohmann::json files = nlohmann::json::array();
        for (size_t k = 0; k < truth.states.size(); ++k) {
            char name[32];
            std::snprintf(name, sizeof name, "gt_%03zu.npy", k);
            saveNpy((std::filesystem::path(flags.out) / name).string(), truth.states[k]);
            files.push_back({{"k", k}, {"t", truth.coarseTimes[k]}, {"file", name}});
        }
        const nlohmann::json index = {{"model", model->info().source}, {"nfe", flags.nfe}, {"grid", flags.grid},
                                      {"cfg", flags.batch.cfg}, {"fine", resolveFineSteps(options.fineSteps, flags.nfe)},
                                      {"fine_per_interval", truth.finePerInterval}, {"fine_solver", toString(options.fineSolver)},
                                      {"error", std::isfinite(truth.error) ? nlohmann::json(truth.error) : nlohmann::json(nullptr)},
                                      {"error_rms", std::isfinite(truth.errorRms) ? nlohmann::json(truth.errorRms) : nlohmann::json(nullptr)},
                                      {"states", files}};
        writeFileAtomically((std::filesystem::path(flags.out) / "gt.json").string(), index.dump(2) + "\n");
    }
    if (truth.discardedCorruptEntry) std::fprintf(stderr, "ground truth: discarded a corrupt cache entry and recomputed it\n");
    std::printf("ground truth: %zu states at the nfe-%d %s grid, %d fine %s steps per interval (%d in all)\n", truth.states.size(),
                flags.nfe, flags.grid.c_str(), truth.finePerInterval, toString(options.fineSolver).c_str(),
                truth.finePerInterval * flags.nfe);
    if (std::isfinite(truth.error))
        std::printf("ground-truth error: max %.6e, rms %.6e (change of the final state with half the fine steps)\n", truth.error,
                    truth.errorRms);
    else
        std::printf("ground-truth error: unknown (one fine step per interval cannot be halved)\n");
    std::printf("%s in %.3f s%s%s\n",
                truth.fromCache ? "read from the cache" : ("computed with " + std::to_string(truth.modelEvaluations) + " model calls").c_str(),
                seconds, truth.cacheFile.empty() ? "" : (" (" + truth.cacheFile + ")").c_str(),
                flags.out.empty() ? "" : (" -> " + flags.out).c_str());
}

}  // namespace

void registerGroundTruthCommand(CLI::App& app) {
    auto flags = std::make_shared<GroundTruthCommandFlags>();
    CLI::App* command = app.add_subcommand("gt", "Fine ground-truth states at every coarse time of an NFE grid");
    addModelFlags(*command, flags->model);
    addBatchFlags(*command, flags->batch);
    command->add_option("--nfe", flags->nfe, "Coarse steps S (the grid the ground truth lands on)")->required();
    command->add_option("--skip", flags->grid, "Time grid: time_uniform, logSNR or time_quadratic")->capture_default_str();
    addGroundTruthFlags(*command, flags->truth);
    command->add_option("--out", flags->out, "Folder for gt_KKK.npy (state at t_k) and gt.json");
    command->add_flag("--quiet,-q", flags->quiet, "No progress on stderr");
    command->callback([flags] { runGroundTruth(*flags); });
}

}  // namespace dcscope::cli
