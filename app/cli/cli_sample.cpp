#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"

namespace dcscope::cli {
namespace {

struct SampleFlags {
    ModelFlags model;
    BatchFlags batch;
    SolverFlags solver;
    std::string out;
    std::string png;
    int pngColumns = 0;
    std::string trajectory;
    bool quiet = false;
};

std::string stepFile(const std::string& dir, const char* prefix, int step) {
    char stepName[32];
    std::snprintf(stepName, sizeof stepName, "%s_%03d.npy", prefix, step);
    return (std::filesystem::path(dir) / stepName).string();
}

void runSample(const SampleFlags& flags) {
    const auto model = openModel(flags.model);
    const SolverConfig config = toSolverConfig(flags.solver, flags.batch.cfg);
    const at::Tensor noise = makeNoise(flags.batch, *model);
    const at::Tensor classes = parseClasses(flags.batch.classes, noise.size(0), *model);
    const c10::Device device = parseDevice(flags.model.device);
    if (!flags.trajectory.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(flags.trajectory, ec);
        if (ec) throw Error(ErrorCode::BadFile, flags.trajectory + ": cannot create trajectory folder");
    }
    GuidedDenoiser denoiser(*model, Conditioning{classes, flags.batch.cfg}, &interruptToken());
    const MultistepSampler sampler(model->schedule(), config);

    nlohmann::json steps = nlohmann::json::array();
    const StepObserver progress = progressPrinter(flags.quiet, "sample");
    const StepObserver observer = [&](const StepReport& report) {
        if (progress) progress(report);
        if (flags.trajectory.empty()) return;
        saveNpy(stepFile(flags.trajectory, "x", report.step), report.x);
        saveNpy(stepFile(flags.trajectory, "x0", report.step), report.dataPrediction);
        steps.push_back({{"step", report.step}, {"t", report.t}, {"lambda", report.lambda}, {"ratio", report.ratio},
                         {"order", report.order}, {"nfe", report.nfe}});
    };
    const auto begin = std::chrono::steady_clock::now();
    const at::Tensor result = sampler.run(denoiser, noise.to(device), observer);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

    if (!flags.trajectory.empty()) {
        const nlohmann::json index = {{"model", model->info().source}, {"solver", toString(config.solver)},
                                      {"nfe", config.steps}, {"cfg", flags.batch.cfg}, {"steps", steps},
                                      {"files", "x_NNN.npy: state at step NNN; x0_NNN.npy: data prediction there"}};
        writeFileAtomically((std::filesystem::path(flags.trajectory) / "trajectory.json").string(), index.dump(2) + "\n");
    }
    if (!flags.out.empty()) saveNpy(flags.out, result);
    if (!flags.png.empty()) {
        at::Tensor images;
        {
            at::NoGradGuard noGrad;
            images = model->decode(result);
        }
        const int columns = flags.pngColumns > 0 ? flags.pngColumns
                                                 : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(images.size(0)))));
        writeImageGrid(flags.png, images, model->info().valueRange, columns);
    }
    std::printf("sampled %lld x %s with %s (order %d%s), nfe %d, %.3f s (%.2f ms/step)%s%s\n",
                static_cast<long long>(result.size(0)), model->info().name.c_str(), toString(config.solver).c_str(),
                config.solver == SolverType::Ddim ? 1 : config.order,
                config.ratios.empty() ? "" : ", compensated", denoiser.nfe(), seconds, 1000.0 * seconds / config.steps,
                flags.out.empty() ? "" : (" -> " + flags.out).c_str(), flags.png.empty() ? "" : (" -> " + flags.png).c_str());
}

}  // namespace

void registerSampleCommand(CLI::App& app) {
    auto flags = std::make_shared<SampleFlags>();
    CLI::App* command = app.add_subcommand("sample", "Sample a batch and write it as .npy / PNG / per-step trajectory");
    addModelFlags(*command, flags->model);
    addBatchFlags(*command, flags->batch);
    addSolverFlags(*command, flags->solver);
    command->add_option("--out", flags->out, "Final samples as .npy");
    command->add_option("--png", flags->png, "Final samples as a PNG grid");
    command->add_option("--png-columns", flags->pngColumns, "Columns of the PNG grid (default: square)");
    command->add_option("--trajectory", flags->trajectory, "Folder for per-step x and x0 (.npy) and trajectory.json");
    command->add_flag("--quiet,-q", flags->quiet, "No progress on stderr");
    command->callback([flags] { runSample(*flags); });
}

}  // namespace dcscope::cli
