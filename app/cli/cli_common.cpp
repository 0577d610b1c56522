#include "cli_common.h"

#include <ATen/ATen.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli_search_common.h"
#include "default_model.h"
#include "image_grid.h"
#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/npy.h"
#include "dcscope/search.h"

namespace dcscope::cli {

void addModelFlags(CLI::App& command, ModelFlags& flags) {
    command.add_option("--model", flags.model, "Model package folder or builtin:NAME (default: the embedded Fashion-MNIST package)");
    command.add_option("--device", flags.device, "cpu, cuda or cuda:N")->capture_default_str();
}

std::string resolveModelSpec(const std::string& model) {
    if (!model.empty() && model != kDefaultModelSpec) return model;
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto found = findDefaultModel(exe);
    if (!found) {
        std::string places;
        for (const auto& candidate : defaultModelCandidates(exe)) places += (places.empty() ? "" : ", ") + candidate.string();
        throw Error(ErrorCode::BadFile, "model: no --model given and no default package found (looked in " + places + ")");
    }
    return found->string();
}

std::shared_ptr<DiffusionModel> openModel(const ModelFlags& flags) {
    return loadModel(resolveModelSpec(flags.model), parseDevice(flags.device));
}

void addSolverFlags(CLI::App& command, SolverFlags& flags, SolverFlagSet set) {
    if (set != SolverFlagSet::WithoutRatiosOrNfe)
        command.add_option("--nfe", flags.nfe, "Number of steps = model evaluations")->required();
    command.add_option("--solver", flags.solver, "ddim, dpmpp or unipc")->capture_default_str();
    command.add_option("--variant", flags.variant, "UniPC variant bh1 or bh2")->capture_default_str();
    command.add_option("--order", flags.order, "Solver order 1-3")->capture_default_str();
    command.add_option("--skip", flags.grid, "Time grid: time_uniform, logSNR or time_quadratic")->capture_default_str();
    command.add_flag("--no-lower-order-final", flags.noLowerOrderFinal, "Keep the full order in the last steps");
    command.add_option("--disable-corrector", flags.disabledCorrectors, "0-based update indices without UniPC corrector")
        ->delimiter(',');
    command.add_option("--dc-order", flags.dcOrder, "Dynamic compensation order K (1-3)")->capture_default_str();
    if (set == SolverFlagSet::All) {
        command.add_option("--ratios", flags.ratiosFile, "Compensation ratios (JSON list or dcscope ratio file)");
        command.add_option("--cpr", flags.cprFile, "CPR coefficients (.npy of 36, or a package folder with a compensation entry): ratios predicted for --nfe and --cfg")
            ->excludes("--ratios");
    }
}

SolverConfig toSolverConfig(const SolverFlags& flags, std::optional<double> guidance) {
    SolverConfig config;
    config.solver = parseSolverType(flags.solver);
    config.variant = parseUniPCVariant(flags.variant);
    config.order = flags.order;
    config.steps = flags.nfe;
    config.grid = parseTimeGrid(flags.grid);
    config.lowerOrderFinal = !flags.noLowerOrderFinal;
    config.disabledCorrectors = flags.disabledCorrectors;
    config.dcOrder = flags.dcOrder;
    if (!flags.ratiosFile.empty()) {
        config.ratios = loadRatios(flags.ratiosFile);
        // Checked before validate() so that the message names the file, not just the field.
        if (config.ratios.size() != size_t(config.steps))
            throw Error(ErrorCode::InvalidArgument, flags.ratiosFile + ": has " + std::to_string(config.ratios.size()) +
                                                        " ratios, --nfe is " + std::to_string(config.steps));
    }
    if (!flags.cprFile.empty()) {
        if (!guidance) throw Error(ErrorCode::InvalidArgument, "--cpr: this command does not use CPR ratios");
        config.ratios = cprRatiosForConfig(flags.cprFile, config, *guidance);  // validated there, naming the file
    }
    validate(config);
    return config;
}

void addBatchFlags(CLI::App& command, BatchFlags& flags) {
    command.add_option("--noise", flags.noiseFile, "Start noise x_T as .npy [B, C, H, W]");
    command.add_option("--seed", flags.seed, "Seed of the start noise")->capture_default_str();
    command.add_option("--batch", flags.batch, "Number of samples")->capture_default_str();
    command.add_option("--class", flags.classes, "Class per sample, or one for all (omitted = unconditional)");
    command.add_option("--cfg", flags.cfg, "Classifier-free guidance scale")->capture_default_str();
}

at::Tensor makeNoise(const BatchFlags& flags, const DiffusionModel& model) {
    if (!flags.noiseFile.empty()) {
        at::Tensor noise = loadNpy(flags.noiseFile);
        if (!noise.is_floating_point()) throw Error(ErrorCode::InvalidArgument, flags.noiseFile + ": noise must be float32 or float64");
        noise = noise.to(at::kFloat);
        const auto& shape = model.info().sampleShape;
        if (noise.dim() == static_cast<int64_t>(shape.size())) noise = noise.unsqueeze(0);  // a single sample
        if (noise.dim() != static_cast<int64_t>(shape.size()) + 1 || noise.sizes().slice(1) != c10::IntArrayRef(shape)) {
            std::ostringstream msg;
            msg << flags.noiseFile << ": shape " << noise.sizes() << " does not match the model's [B, " << c10::IntArrayRef(shape) << "]";
            throw Error(ErrorCode::InvalidArgument, msg.str());
        }
        if (!at::isfinite(noise).all().item<bool>()) throw Error(ErrorCode::NonFinite, flags.noiseFile + ": contains NaN or Inf");
        return noise;
    }
    if (flags.batch < 1 || flags.batch > 100000) throw Error(ErrorCode::InvalidArgument, "batch: must be in 1..100000");
    // Sample b is datapoint seed + b: the same start noise as the window and the search.
    if (flags.batch < 1) throw Error(ErrorCode::InvalidArgument, "--batch: must be >= 1, got " + std::to_string(flags.batch));
    return makeDatapoints(model, flags.seed, flags.batch).noise;
}

at::Tensor parseClasses(const std::string& text, int64_t batch, const DiffusionModel& model) {
    if (text.empty()) return {};
    const auto& info = model.info();
    if (!model.isConditional()) throw Error(ErrorCode::InvalidArgument, "class: model '" + info.name + "' is unconditional");
    std::vector<int64_t> values;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        size_t used = 0;
        long long value = -1;
        try {
            value = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size()) throw Error(ErrorCode::InvalidArgument, "class: '" + item + "' is not an integer");
        if (value < 0 || value >= info.numClasses)
            throw Error(ErrorCode::InvalidArgument, "class: " + item + " is outside 0.." + std::to_string(info.numClasses - 1));
        values.push_back(value);
    }
    if (values.size() == 1) values.assign(size_t(batch), values[0]);
    if (static_cast<int64_t>(values.size()) != batch)
        throw Error(ErrorCode::InvalidArgument, "class: " + std::to_string(values.size()) + " classes for " + std::to_string(batch) +
                                                    " samples (give one per sample or one for all)");
    return at::tensor(values, at::TensorOptions().dtype(at::kLong));
}

void writeImageGrid(const std::string& path, const at::Tensor& images, std::pair<double, double> valueRange, int columns,
                    const std::vector<PngTextChunk>& text) {
    if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
        throw Error(ErrorCode::InvalidArgument, "png: samples must be images [B, 1 or 3, H, W]");
    const int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
    const at::Tensor bytes = ((images.detach().to(at::kCPU, at::kFloat) - valueRange.first) / (valueRange.second - valueRange.first))
                                 .clamp(0, 1)
                                 .mul(255)
                                 .round()
                                 .to(at::kByte)
                                 .permute({0, 2, 3, 1})
                                 .contiguous();
    std::vector<PngImage> tiles(static_cast<size_t>(batch));
    for (int64_t b = 0; b < batch; ++b) {
        PngImage& tile = tiles[size_t(b)];
        tile.width = int(width);
        tile.height = int(height);
        tile.channels = int(channels);
        const uint8_t* first = bytes[b].data_ptr<uint8_t>();
        tile.pixels.assign(first, first + height * width * channels);
    }
    // The window's pane export lays its images out with the same function.
    const PngImage image = composeImageGrid(tiles, columns);
    writePng(path, image, text);
}

CancelToken& interruptToken() {
    static CancelToken token;
    return token;
}

namespace {
extern "C" void onInterrupt(int) { interruptToken().requestCancel(); }
}  // namespace

void installInterruptHandler() { std::signal(SIGINT, onInterrupt); }

StepObserver progressPrinter(bool quiet, const std::string& label) {
    if (quiet) return {};
    return [label](const StepReport& report) {
        std::fprintf(stderr, "\r%s step %d/%d  t=%.4f  nfe=%d   ", label.c_str(), report.step, report.totalSteps, report.t, report.nfe);
        if (report.step == report.totalSteps) std::fputc('\n', stderr);
        std::fflush(stderr);
    };
}

}  // namespace dcscope::cli
