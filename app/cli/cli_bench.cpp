// `dcscope-cli bench`: per-step sampler overhead with a zero-cost model, and per-step time with
// the built-in models. Timing lives here, never in unit tests.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli_bench_model.h"
#include "cli_commands.h"
#include "cli_common.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "dcscope/threads.h"

namespace dcscope::cli {
namespace {

/// A "network" that costs nothing: it returns a cached zero tensor of the input's shape, so the
/// measured time is the sampler's own work (coefficients, linear combinations, checks).
class ZeroCostModel : public DiffusionModel {
public:
    explicit ZeroCostModel(std::vector<int64_t> shape)
        : DiffusionModel(makeInfo(std::move(shape)), NoiseSchedule::fromName("scaled_linear", 0.00085, 0.012, 1000)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor&, const at::Tensor&) override {
        if (!m_output.defined() || m_output.sizes() != x.sizes() || m_output.device() != x.device()) m_output = at::zeros_like(x);
        return m_output;
    }
    void moveTo(const c10::Device&) override {}

private:
    static ModelInfo makeInfo(std::vector<int64_t> shape) {
        ModelInfo info;
        info.name = "zero-cost";
        info.sampleShape = std::move(shape);
        return info;
    }
    at::Tensor m_output;
};

struct BenchFlags {
    int steps = 20;
    int repeats = 5;
    std::string device = "cpu";
    bool quick = false;
    std::string model;
};

// Median over repeats of (seconds per step) for a full run; a warm-up run is discarded.
double msPerStep(DiffusionModel& model, const at::Tensor& noise, const Conditioning& conditioning, const SolverConfig& config,
                 int repeats) {
    const MultistepSampler sampler(model.schedule(), config);
    std::vector<double> times;
    for (int r = 0; r <= repeats; ++r) {
        GuidedDenoiser denoiser(model, conditioning);
        const auto begin = std::chrono::steady_clock::now();
        const auto result = sampler.run(denoiser, noise);
        (void)result.sum().item<double>();  // waits for asynchronous devices
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        if (r > 0) times.push_back(1000.0 * seconds / config.steps);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

void runBench(const BenchFlags& flags) {
    const c10::Device device = parseDevice(flags.device);
    const int steps = flags.quick ? 6 : flags.steps;
    const int repeats = flags.quick ? 1 : flags.repeats;
    std::printf("dcscope bench: %d steps, median of %d runs, device %s, %s\n", steps, repeats, flags.device.c_str(),
                describe(currentIntraOpThreads()).c_str());
    std::printf("\nSampler overhead per step with a zero-cost model (DC on, dc-order 2, unconditional):\n");
    std::printf("%-18s %-22s %12s\n", "shape", "solver", "ms/step");
    const std::vector<std::vector<int64_t>> shapes =
        flags.quick ? std::vector<std::vector<int64_t>>{{1, 4, 64, 64}}
                    : std::vector<std::vector<int64_t>>{{1, 4, 64, 64}, {1, 4, 96, 96}, {10, 4, 96, 96}};
    struct Variant {
        const char* label;
        SolverType solver;
        int order;
    };
    const Variant variants[] = {{"ddim+DC", SolverType::Ddim, 1},
                                {"dpmpp-2M+DC", SolverType::DpmSolverPlusPlus, 2},
                                {"dpmpp-3M+DC", SolverType::DpmSolverPlusPlus, 3},
                                {"unipc-bh2-2+DC", SolverType::UniPC, 2},
                                {"unipc-bh2-3+DC", SolverType::UniPC, 3}};
    for (const auto& shape : shapes) {
        ZeroCostModel model(std::vector<int64_t>(shape.begin() + 1, shape.end()));
        const auto noise = makeDatapoints(model, 0, int(shape[0])).noise.to(device);
        const std::string shapeText = "[" + std::to_string(shape[0]) + "," + std::to_string(shape[1]) + "," +
                                      std::to_string(shape[2]) + "," + std::to_string(shape[3]) + "]";
        for (const auto& variant : variants) {
            SolverConfig config;
            config.solver = variant.solver;
            config.order = variant.order;
            config.steps = steps;
            config.ratios = benchRatios(steps, config.dcOrder);
            std::printf("%-18s %-22s %12.3f\n", shapeText.c_str(), variant.label, msPerStep(model, noise, {}, config, repeats));
        }
    }
    std::printf("\nPer-step time with the built-in exact models (UniPC bh2 order 2 + DC, guidance 7.5):\n");
    std::printf("%-12s %8s %12s\n", "model", "batch", "ms/step");
    for (const auto& [name, batch] : std::vector<std::pair<std::string, int64_t>>{{"gmm2d", 256}, {"gmm-image", 64}}) {
        auto model = GaussianMixtureModel::builtin(name);
        model->moveTo(device);
        const auto noise = makeDatapoints(*model, 1, int(batch)).noise.to(device);
        const auto classes = at::arange(batch, at::TensorOptions().dtype(at::kLong)).remainder(model->info().numClasses);
        SolverConfig config;
        config.steps = steps;
        config.ratios = benchRatios(steps, config.dcOrder);
        std::printf("%-12s %8lld %12.3f\n", name.c_str(), static_cast<long long>(batch),
                    msPerStep(*model, noise, Conditioning{classes, 7.5}, config, repeats));
    }
}

}  // namespace

void registerBenchCommand(CLI::App& app) {
    auto flags = std::make_shared<BenchFlags>();
    CLI::App* command = app.add_subcommand("bench", "Per-step sampler overhead and built-in model timings");
    command->add_option("--steps", flags->steps, "Steps per run")->capture_default_str();
    command->add_option("--repeats", flags->repeats, "Timed runs per entry (median reported)")->capture_default_str();
    command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str();
    command->add_flag("--quick", flags->quick, "A seconds-long smoke run (used by the tests)");
    command->add_option("--model", flags->model,
                        "Time this model's network calls instead (package folder or builtin:NAME; 'default': the embedded package)");
    command->callback([flags] {
        if (flags->model.empty()) return runBench(*flags);
        ModelBenchOptions options;
        options.model = flags->model;
        options.device = flags->device;
        options.repeats = flags->quick ? 2 : std::max(2, flags->repeats * 2);
        options.quick = flags->quick;
        runModelBench(options);
    });
}

}  // namespace dcscope::cli
