#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "app_version.h"
#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"
#include "dcscope/reproduction.h"
#include "reproduction_png.h"

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
    std::string fromPng;
    bool quiet = false;
    const CLI::Option* nfeOption = nullptr;  // required unless --from-png gives the NFE
};

/// What defines a run: from the flags, or restored from a PNG's reproduction record.
struct RunSettings {
    std::optional<ReproductionRecord> original;  ///< --from-png: the record being reproduced
    std::string modelSpec;                       ///< as given ("default" for the embedded package)
    std::string device;
    SolverConfig config;
    double guidance = 1.0;
    BatchFlags batch;                            ///< seed / noise file, for the start noise
};

RunSettings settingsFromFlags(const SampleFlags& flags) {
    if (flags.nfeOption->count() == 0) throw CLI::RequiredError(flags.nfeOption->get_name());
    RunSettings settings;
    settings.modelSpec = flags.model.model.empty() ? kDefaultModelSpec : flags.model.model;
    settings.device = flags.model.device;
    settings.config = toSolverConfig(flags.solver, flags.batch.cfg);
    settings.guidance = flags.batch.cfg;
    settings.batch = flags.batch;
    return settings;
}

RunSettings settingsFromPng(const std::string& path) {
    RunSettings settings;
    settings.original = readReproductionRecord(path);
    const ReproductionRecord& record = *settings.original;
    settings.modelSpec = record.modelSpec;
    settings.device = record.device;
    settings.config = record.solver;
    settings.guidance = record.guidance;
    settings.batch.seed = record.seed;
    settings.batch.batch = record.batchSize;
    settings.batch.noiseFile = record.noiseSource == NoiseSource::NpyFile ? record.noiseFile : std::string();
    settings.batch.cfg = record.guidance;
    return settings;
}

/// The record of this run (a reproduction keeps the original's optional fields).
ReproductionRecord describeRun(const RunSettings& settings, const DiffusionModel& model, const at::Tensor& classes,
                               const at::Tensor& result, int pngColumns) {
    ReproductionRecord record = settings.original.value_or(ReproductionRecord{});
    record.software = std::string("dcscope-cli ") + dcscopeVersion();
    setModel(record, settings.modelSpec, model);
    record.solver = settings.config;
    record.noiseSource = settings.batch.noiseFile.empty() ? NoiseSource::Datapoints : NoiseSource::NpyFile;
    record.noiseFile = settings.batch.noiseFile;
    record.seed = settings.batch.noiseFile.empty() ? settings.batch.seed : 0;
    record.batchSize = static_cast<int>(result.size(0));
    record.device = settings.device;
    record.guidance = settings.guidance;
    record.classes = classList(classes);
    record.pngColumns = pngColumns;
    setResult(record, result);
    return record;
}

std::string stepFile(const std::string& dir, const char* prefix, int step) {
    char stepName[32];
    std::snprintf(stepName, sizeof stepName, "%s_%03d.npy", prefix, step);
    return (std::filesystem::path(dir) / stepName).string();
}

void runSample(const SampleFlags& flags) {
    const RunSettings settings = flags.fromPng.empty() ? settingsFromFlags(flags) : settingsFromPng(flags.fromPng);
    const c10::Device device = parseDevice(settings.device);
    std::shared_ptr<DiffusionModel> model;
    try {
        model = loadModel(resolveModelSpec(settings.modelSpec), device);
    } catch (const Error& error) {
        if (!settings.original) throw;
        throw Error(error.code(), flags.fromPng + ": field 'model.spec': " + error.what());
    }
    const SolverConfig& config = settings.config;
    if (settings.original) checkModelMatches(*settings.original, *model, flags.fromPng);
    const at::Tensor noise = makeNoise(settings.batch, *model);
    if (settings.original && noise.size(0) != settings.original->batchSize)
        throw Error(ErrorCode::BadFile, flags.fromPng + ": the noise file " + settings.batch.noiseFile + " no longer holds " +
                                            std::to_string(settings.original->batchSize) + " samples");
    const at::Tensor classes = settings.original ? classesTensor(*settings.original)
                                                 : parseClasses(flags.batch.classes, noise.size(0), *model);
    if (!flags.trajectory.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(flags.trajectory, ec);
        if (ec) throw Error(ErrorCode::BadFile, flags.trajectory + ": cannot create trajectory folder");
    }
    GuidedDenoiser denoiser(*model, Conditioning{classes, settings.guidance}, &interruptToken());
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

    // Checked before anything is written: a reproduction that differs must not pass for one.
    const int columns = flags.pngColumns > 0 ? flags.pngColumns
                        : settings.original ? settings.original->pngColumns
                                            : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(result.size(0)))));
    const ReproductionRecord record =
        describeRun(settings, *model, classes, result, std::max(1, std::min(columns, static_cast<int>(result.size(0)))));
    if (settings.original && record.resultHash != settings.original->resultHash)
        throw Error(ErrorCode::BadFile, flags.fromPng + ": reproduction differs: the result hashes to " + record.resultHash +
                                            ", the file records " + settings.original->resultHash + " (fnv1a64 of the float32 samples)");
    if (!flags.trajectory.empty()) {
        const nlohmann::json index = {{"model", model->info().source}, {"solver", toString(config.solver)},
                                      {"nfe", config.steps}, {"cfg", settings.guidance}, {"steps", steps},
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
        writeImageGrid(flags.png, images, model->info().valueRange, record.pngColumns, reproductionText(record));
    }
    if (settings.original) std::printf("reproduced %s: identical (fnv1a64 %s)\n", flags.fromPng.c_str(), record.resultHash.c_str());
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
    const size_t firstRunFlag = command->get_options().size();
    addModelFlags(*command, flags->model);
    addBatchFlags(*command, flags->batch);
    addSolverFlags(*command, flags->solver);
    // Every flag added above defines the run; --from-png restores them all and excludes them, so a
    // reproduction never mixes two sources of settings. Output flags (added below) stay allowed.
    std::vector<CLI::Option*> runFlags = command->get_options();  // a copy, in the order added
    runFlags.erase(runFlags.begin(), runFlags.begin() + long(firstRunFlag));
    CLI::Option* nfe = command->get_option("--nfe");
    nfe->required(false);  // checked in settingsFromFlags: not needed with --from-png
    nfe->description(nfe->get_description() + " (required unless --from-png)");
    flags->nfeOption = nfe;
    CLI::Option* fromPng = command->add_option(
        "--from-png", flags->fromPng,
        "Re-run the sampling recorded in the dcscope chunk of a PNG dcscope wrote and check that the result is bit for bit "
        "the recorded one (exit 2 if not); the output flags below still apply");
    for (CLI::Option* option : runFlags) fromPng->excludes(option);
    command->add_option("--out", flags->out, "Final samples as .npy");
    command->add_option("--png", flags->png, "Final samples as a PNG grid");
    command->add_option("--png-columns", flags->pngColumns, "Columns of the PNG grid (default: square)");
    command->add_option("--trajectory", flags->trajectory, "Folder for per-step x and x0 (.npy) and trajectory.json");
    command->add_flag("--quiet,-q", flags->quiet, "No progress on stderr");
    command->callback([flags] { runSample(*flags); });
}

}  // namespace dcscope::cli
