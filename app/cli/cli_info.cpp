#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_common.h"
#include "dcscope/threads.h"
#include "dcscope/torchscript_model.h"

namespace dcscope::cli {
namespace {

std::string joinShape(const std::vector<int64_t>& shape) {
    std::ostringstream text;
    for (size_t i = 0; i < shape.size(); ++i) text << (i ? "x" : "") << shape[i];
    return text.str();
}

void runInfo(const ModelFlags& flags) {
    const auto model = openModel(flags);
    const ModelInfo& info = model->info();
    const NoiseSchedule& schedule = model->schedule();
    std::printf("name:            %s\n", info.name.c_str());
    std::printf("source:          %s\n", info.source.c_str());
    std::printf("prediction type: %s\n", toString(info.predictionType).c_str());
    std::printf("sample shape:    %s\n", joinShape(info.sampleShape).c_str());
    std::printf("schedule:        %d train steps, beta %.6g .. %.6g, lambda(1) = %.5f, lambda(1/N) = %.5f\n",
                schedule.numTrainTimesteps(), schedule.betas().front(), schedule.betas().back(), schedule.lambda(1.0),
                schedule.lambda(schedule.tMin()));
    std::printf("value range:     [%g, %g]\n", info.valueRange.first, info.valueRange.second);
    if (info.numClasses > 0) {
        std::printf("conditioning:    %d classes, null class %d\n", info.numClasses, info.nullClass);
        for (size_t c = 0; c < info.labels.size(); ++c) std::printf("  %2zu  %s\n", c, info.labels[c].c_str());
    } else {
        std::printf("conditioning:    none\n");
    }
    std::printf("decoder:         %s\n", info.hasDecoder ? "yes" : "no");
    if (const auto* package = dynamic_cast<const TorchScriptModel*>(model.get())) {
        const auto& manifest = package->manifest();
        if (manifest.contains("quality")) std::printf("quality model:   %s\n", manifest["quality"].dump().c_str());
        std::printf("network:         %s (TorchScript, graph optimiser off)\n", toString(package->preparation()).c_str());
        if (manifest.contains("training")) std::printf("training:        %s\n", manifest["training"].dump().c_str());
    }
    if (!info.description.empty()) std::printf("description:     %s\n", info.description.c_str());
    std::printf("threads:         %s\n", describe(currentIntraOpThreads()).c_str());
}

}  // namespace

void registerInfoCommand(CLI::App& app) {
    auto flags = std::make_shared<ModelFlags>();
    CLI::App* command = app.add_subcommand("info", "Summary of a model package (default: the embedded package)");
    // Positional (info MODEL) or the flag every other command takes (info --model MODEL).
    command->add_option("model,--model", flags->model, "Model package folder, mixture model file (.json) or builtin:NAME");
    command->add_option("--device", flags->device, "cpu, cuda or cuda:N");
    command->callback([flags] { runInfo(*flags); });
}

}  // namespace dcscope::cli
