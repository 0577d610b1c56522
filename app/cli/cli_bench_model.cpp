// `dcscope-cli bench --model M`: milliseconds per network call (first call of each batch shape
// and steady state) for every way of preparing the TorchScript network, and the sampler's own
// time next to the model's in a real run.
#include "cli_bench_model.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli_common.h"
#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "dcscope/threads.h"
#include "dcscope/torchscript_model.h"

namespace dcscope::cli {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) { return 1000.0 * std::chrono::duration<double>(Clock::now() - start).count(); }

/// Forwards to a model and adds up the time spent inside its network calls.
class TimedModel : public DiffusionModel {
public:
    explicit TimedModel(std::shared_ptr<DiffusionModel> inner) : DiffusionModel(inner->info(), inner->schedule()), m_inner(std::move(inner)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& c) override {
        const auto start = Clock::now();
        at::Tensor out = m_inner->forward(x, t, c);
        (void)out.sum().item<double>();  // waits for asynchronous devices
        m_networkMs += msSince(start);
        return out;
    }
    void moveTo(const c10::Device& device) override { m_inner->moveTo(device); }
    double networkMs() const { return m_networkMs; }
    void resetTiming() { m_networkMs = 0.0; }

private:
    std::shared_ptr<DiffusionModel> m_inner;
    double m_networkMs = 0.0;
};

/// The datapoints' classes on `device` (undefined for unconditional models).
at::Tensor classesOn(const Datapoints& datapoints, const c10::Device& device) {
    return datapoints.classes.defined() ? datapoints.classes.to(device) : at::Tensor();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

struct CallTiming {
    double firstMs = 0.0;
    double steadyMs = 0.0;
};

/// One denoiser call per measurement: with guidance that is one network call on 2B samples.
CallTiming timeCalls(DiffusionModel& model, int batch, double guidance, int repeats, const c10::Device& device) {
    const Datapoints datapoints = makeDatapoints(model, 0, batch);
    GuidedDenoiser denoiser(model, Conditioning{classesOn(datapoints, device), guidance});
    const at::Tensor x = datapoints.noise.to(device);
    const double t = 0.5;
    CallTiming timing;
    std::vector<double> steady;
    for (int r = 0; r <= repeats; ++r) {
        const auto start = Clock::now();
        (void)denoiser.noise(x, t).sum().item<double>();
        (r == 0 ? timing.firstMs : steady.emplace_back()) = msSince(start);
    }
    timing.steadyMs = median(steady);
    return timing;
}

}  // namespace

std::vector<double> benchRatios(int steps, int dcOrder) {
    std::vector<double> ratios(size_t(steps), 1.0);
    for (int k = dcOrder; k < steps; ++k) ratios[size_t(k)] = 0.97 + 0.01 * (k % 3);
    return ratios;
}

void runModelBench(const ModelBenchOptions& options) {
    const c10::Device device = parseDevice(options.device);
    const std::string spec = resolveModelSpec(options.model);
    std::printf("dcscope bench --model %s: device %s, %s\n", spec.c_str(), options.device.c_str(),
                describe(currentIntraOpThreads()).c_str());
    std::printf("default network preparation: %s\n", toString(TorchScriptOptions{}.preparation).c_str());
    std::printf("\nms per model call (guided: one network call on 2B samples); first = first call of that batch shape\n");
    std::printf("%-10s %6s %8s %10s %10s\n", "network", "batch", "guidance", "first ms", "steady ms");
    const bool package = spec.rfind("builtin:", 0) != 0;
    std::vector<NetworkPreparation> preparations{TorchScriptOptions{}.preparation};
    if (package && !options.quick)
        preparations = {NetworkPreparation::AsSaved, NetworkPreparation::Frozen, NetworkPreparation::FrozenForInference};
    const std::vector<int> batches = options.quick ? std::vector<int>{1, 4} : std::vector<int>{1, 4, 16};
    for (const NetworkPreparation preparation : preparations) {
        TorchScriptOptions loadOptions;
        loadOptions.preparation = preparation;
        // A fresh load per preparation: its first calls then really are the first of each shape.
        auto model = package ? std::shared_ptr<DiffusionModel>(TorchScriptModel::open(spec, device, loadOptions))
                             : loadModel(spec, device);
        for (const int batch : batches)
            for (const double guidance : {1.0, 3.0}) {
                if (guidance != 1.0 && !model->isConditional()) continue;
                const CallTiming timing = timeCalls(*model, batch, guidance, options.repeats, device);
                std::printf("%-10s %6d %8.1f %10.2f %10.2f\n", package ? toString(preparation).c_str() : "builtin", batch,
                            guidance, timing.firstMs, timing.steadyMs);
            }
    }

    // The sampler's own share: a real UniPC + DC run, its wall time minus the network's.
    std::printf("\nsampler overhead in a run (UniPC bh2-2 + DC, NFE 10, guidance 3, default network preparation)\n");
    std::printf("%6s %12s %12s %14s %10s\n", "batch", "run ms", "network ms", "sampler ms/step", "share");
    auto timed = std::make_shared<TimedModel>(loadModel(spec, device));
    for (const int batch : batches) {
        const Datapoints datapoints = makeDatapoints(*timed, 0, batch);
        SolverConfig config;
        config.steps = 10;
        config.ratios = benchRatios(config.steps, config.dcOrder);
        const MultistepSampler sampler(timed->schedule(), config);
        std::vector<double> runs, overheads;
        for (int r = 0; r <= options.repeats; ++r) {
            GuidedDenoiser denoiser(*timed, Conditioning{classesOn(datapoints, device), timed->isConditional() ? 3.0 : 1.0});
            timed->resetTiming();
            const auto start = Clock::now();
            (void)sampler.run(denoiser, datapoints.noise.to(device)).sum().item<double>();
            const double runMs = msSince(start);
            if (r == 0) continue;
            runs.push_back(runMs);
            overheads.push_back(runMs - timed->networkMs());
        }
        const double runMs = median(runs), overheadMs = median(overheads);
        std::printf("%6d %12.2f %12.2f %14.3f %9.2f%%\n", batch, runMs, runMs - overheadMs, overheadMs / config.steps,
                    100.0 * overheadMs / std::max(1e-9, runMs - overheadMs));
    }
}

}  // namespace dcscope::cli
