#include "dcscope/torchscript_model.h"

#include <torch/script.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dcscope/errors.h"
#include "dcscope/model_manifest.h"
#include "dcscope/npy.h"
#include "dcscope/package_compensation.h"

namespace dcscope {
namespace fs = std::filesystem;

namespace {

// c10 messages span many lines (with a C++ backtrace); keep the first for a one-line error.
std::string firstLine(const std::string& text) {
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

// An op failing inside the TorchScript interpreter arrives as a plain std::runtime_error: a
// multi-line TorchScript traceback whose last line is the actual error.
std::string lastLine(const std::string& text) {
    const auto end = text.find_last_not_of("\n ");
    if (end == std::string::npos) return text;
    const auto newline = text.rfind('\n', end);
    const size_t begin = newline == std::string::npos ? 0 : newline + 1;
    return text.substr(begin, end + 1 - begin);
}

torch::jit::Module loadModule(const std::string& file, const c10::Device& device) {
    std::error_code error;  // non-throwing: an unusable name (too long, ...) is "not found" too
    if (!fs::is_regular_file(file, error)) throw Error(ErrorCode::BadFile, file + ": file not found");
    try {
        auto module = torch::jit::load(file, device);
        module.eval();
        return module;
    } catch (const c10::Error& e) {
        throw Error(ErrorCode::BadModel, file + ": not a loadable TorchScript file (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {
        throw Error(ErrorCode::BadModel, file + ": not a loadable TorchScript file (" + firstLine(e.what()) + ")");
    }
}

/// Freezing needs an eval-mode module whose forward does not mutate attributes; a network that
/// cannot be frozen runs as saved (same results, only slower).
torch::jit::Module prepareModule(const torch::jit::Module& module, NetworkPreparation preparation, NetworkPreparation& applied) {
    applied = preparation;
    try {
        switch (preparation) {
        case NetworkPreparation::AsSaved: return module;
        case NetworkPreparation::Frozen: return torch::jit::freeze(module);
        case NetworkPreparation::FrozenForInference: {
            torch::jit::Module copy = module.clone();
            return torch::jit::optimize_for_inference(copy);
        }
        }
    } catch (const std::exception&) {
    }
    applied = NetworkPreparation::AsSaved;
    return module;
}

}  // namespace

std::string toString(NetworkPreparation preparation) {
    switch (preparation) {
    case NetworkPreparation::AsSaved: return "as-saved";
    case NetworkPreparation::Frozen: return "frozen";
    case NetworkPreparation::FrozenForInference: return "inference";
    }
    return "?";
}

NetworkPreparation parseNetworkPreparation(const std::string& name) {
    for (auto preparation : {NetworkPreparation::AsSaved, NetworkPreparation::Frozen, NetworkPreparation::FrozenForInference})
        if (toString(preparation) == name) return preparation;
    throw Error(ErrorCode::InvalidArgument, "network preparation: '" + name + "' is not one of as-saved, frozen, inference");
}

struct TorchScriptModel::Modules {
    torch::jit::Module network;
    torch::jit::Module savedNetwork;  // as loaded: re-prepared after a device move
    TorchScriptOptions options;
    NetworkPreparation applied = NetworkPreparation::AsSaved;
    std::optional<torch::jit::Module> decoder;
    std::string networkPath;
    std::string decoderPath;
    nlohmann::json manifest;
    c10::Device device{c10::kCPU};
};

TorchScriptModel::TorchScriptModel(ModelInfo info, NoiseSchedule schedule)
    : DiffusionModel(std::move(info), std::move(schedule)), m_modules(std::make_unique<Modules>()) {}

TorchScriptModel::~TorchScriptModel() = default;

const nlohmann::json& TorchScriptModel::manifest() const { return m_modules->manifest; }

c10::Device TorchScriptModel::device() const { return m_modules->device; }

NetworkPreparation TorchScriptModel::preparation() const { return m_modules->applied; }

std::shared_ptr<TorchScriptModel> TorchScriptModel::open(const std::string& path, const c10::Device& device,
                                                         const TorchScriptOptions& options) {
    fs::path manifestPath(path);
    std::error_code error;  // non-throwing checks: an unusable path is "not found", an Error
    if (fs::is_directory(manifestPath, error)) manifestPath /= "model.json";
    const std::string where = manifestPath.string();
    if (!fs::exists(manifestPath, error))
        throw Error(ErrorCode::BadFile, where + ": model package not found (need a folder with model.json)");
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(readFile(where));
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BadFile, where + ": malformed JSON (" + firstLine(e.what()) + ")");
    }
    ModelManifest parsed = readModelManifest(manifest, where);
    const ModelInfo& info = parsed.info;

    const fs::path folder = manifestPath.parent_path();
    auto model = std::shared_ptr<TorchScriptModel>(new TorchScriptModel(info, std::move(parsed.schedule)));
    model->m_folder = folder.string();
    model->m_modules->manifest = manifest;
    model->m_compensation = std::move(parsed.compensation);
    model->m_modules->device = device;
    model->m_modules->networkPath = (folder / parsed.networkFile).string();
    model->m_modules->options = options;
    model->m_modules->savedNetwork = loadModule(model->m_modules->networkPath, device);
    model->m_modules->network = prepareModule(model->m_modules->savedNetwork, options.preparation, model->m_modules->applied);
    if (!parsed.decoderFile.empty()) {
        model->m_modules->decoderPath = (folder / parsed.decoderFile).string();
        model->m_modules->decoder = loadModule(model->m_modules->decoderPath, device);
        model->m_info.hasDecoder = true;
    }

    // Probe: one tiny call proves the signature and the output shape before anyone samples. It
    // also pays the one-time costs of the first call (kernel selection, allocator warm-up) here,
    // at load, instead of in the first result the user waits for.
    {
        torch::NoGradGuard noGrad;
        std::vector<int64_t> probeShape{2};
        probeShape.insert(probeShape.end(), info.sampleShape.begin(), info.sampleShape.end());
        const auto options = torch::TensorOptions().device(device);
        const auto x = torch::zeros(probeShape, options);
        const auto t = torch::full({2}, 0.5 * (model->schedule().numTrainTimesteps() - 1), options);
        at::Tensor classes;
        if (info.numClasses > 0) classes = torch::tensor({int64_t(0), int64_t(info.nullClass)}, options.dtype(torch::kLong));
        at::Tensor out;
        try {
            out = model->forward(x, t, classes);
        } catch (const Error&) {
            throw;
        } catch (const c10::Error& e) {
            throw Error(ErrorCode::BadModel, model->m_modules->networkPath + ": probe call forward(x, t" +
                                                 std::string(info.numClasses > 0 ? ", c" : "") + ") failed (" +
                                                 firstLine(e.what_without_backtrace()) + ")");
        }
        if (out.sizes() != x.sizes()) {
            std::ostringstream msg;
            msg << model->m_modules->networkPath << ": network returned shape " << out.sizes() << " for input " << x.sizes()
                << " (sample_shape in model.json is " << c10::IntArrayRef(info.sampleShape) << ")";
            throw Error(ErrorCode::BadModel, msg.str());
        }
        if (out.scalar_type() != at::kFloat)
            throw Error(ErrorCode::BadModel, model->m_modules->networkPath + ": network must return float32");
        if (!torch::isfinite(out).all().item<bool>())
            throw Error(ErrorCode::BadModel, model->m_modules->networkPath + ": network returned NaN/Inf on the probe input");
    }
    std::ostringstream description;
    description << info.name << ": " << toString(info.predictionType) << " model, sample shape "
                << c10::IntArrayRef(info.sampleShape) << ", " << model->schedule().numTrainTimesteps() << " train steps, "
                << (info.numClasses > 0 ? std::to_string(info.numClasses) + " classes" : std::string("unconditional"));
    model->m_info.description = description.str();
    return model;
}

at::Tensor TorchScriptModel::forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) {
    std::vector<torch::jit::IValue> inputs{x, modelTime};
    if (isConditional()) inputs.emplace_back(classes);
    torch::jit::IValue output;
    try {
        // Thread-local, so it holds for this call on whichever thread runs the model.
        const torch::jit::GraphOptimizerEnabledGuard optimizer(m_modules->options.graphOptimizer);
        output = m_modules->network.forward(inputs);
    } catch (const c10::Error& e) {
        throw Error(ErrorCode::BadModel, m_modules->networkPath + ": forward failed (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {
        throw Error(ErrorCode::BadModel, m_modules->networkPath + ": forward failed (" + lastLine(e.what()) + ")");
    }
    if (!output.isTensor()) throw Error(ErrorCode::BadModel, m_modules->networkPath + ": forward must return one tensor");
    return output.toTensor();
}

void TorchScriptModel::moveTo(const c10::Device& device) {
    // A frozen module holds its weights as graph constants, which Module::to cannot move: move
    // the module as saved and prepare it again.
    m_modules->savedNetwork.to(device);
    m_modules->network = prepareModule(m_modules->savedNetwork, m_modules->options.preparation, m_modules->applied);
    if (m_modules->decoder) m_modules->decoder->to(device);
    m_modules->device = device;
}

at::Tensor TorchScriptModel::decode(const at::Tensor& x) {
    if (!m_modules->decoder) return x;
    try {
        const torch::jit::GraphOptimizerEnabledGuard optimizer(m_modules->options.graphOptimizer);
        return m_modules->decoder->forward({x}).toTensor();
    } catch (const c10::Error& e) {
        throw Error(ErrorCode::BadModel, m_modules->decoderPath + ": decoder failed (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {
        throw Error(ErrorCode::BadModel, m_modules->decoderPath + ": decoder failed (" + lastLine(e.what()) + ")");
    }
}

}  // namespace dcscope
