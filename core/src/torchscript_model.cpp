#include "dcscope/torchscript_model.h"

#include <torch/script.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dcscope/errors.h"
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

[[noreturn]] void badManifest(const std::string& path, const std::string& message) {
    throw Error(ErrorCode::BadFile, path + ": " + message);
}

const nlohmann::json& requireField(const nlohmann::json& object, const char* key, const std::string& path,
                                   const std::string& prefix = "") {
    if (!object.contains(key)) badManifest(path, "missing field '" + prefix + key + "'");
    return object[key];
}

std::string requireString(const nlohmann::json& object, const char* key, const std::string& path, const std::string& prefix = "") {
    const auto& value = requireField(object, key, path, prefix);
    if (!value.is_string() || value.get<std::string>().empty()) badManifest(path, "field '" + prefix + key + "' must be a non-empty string");
    return value.get<std::string>();
}

int requireInt(const nlohmann::json& object, const char* key, const std::string& path, const std::string& prefix = "") {
    const auto& value = requireField(object, key, path, prefix);
    if (!value.is_number_integer()) badManifest(path, "field '" + prefix + key + "' must be an integer");
    return value.get<int>();
}

torch::jit::Module loadModule(const std::string& file, const c10::Device& device) {
    if (!fs::is_regular_file(file)) throw Error(ErrorCode::BadFile, file + ": file not found");
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
    if (fs::is_directory(manifestPath)) manifestPath /= "model.json";
    const std::string where = manifestPath.string();
    if (!fs::exists(manifestPath))
        throw Error(ErrorCode::BadFile, where + ": model package not found (need a folder with model.json)");
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(readFile(where));
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BadFile, where + ": malformed JSON (" + firstLine(e.what()) + ")");
    }
    if (!manifest.is_object()) badManifest(where, "top level must be an object");

    ModelInfo info;
    info.source = fs::absolute(manifestPath.parent_path()).lexically_normal().string();
    info.name = requireString(manifest, "name", where);
    const std::string networkFile = requireString(manifest, "network", where);
    try {
        info.predictionType = parsePredictionType(requireString(manifest, "prediction_type", where));
    } catch (const Error& e) {
        badManifest(where, std::string("field 'prediction_type': ") + e.what());
    }
    const auto& schedulerJson = requireField(manifest, "scheduler", where);
    NoiseSchedule schedule = NoiseSchedule::fromConfig(schedulerJson, where + " (field 'scheduler')");

    const auto& shape = requireField(manifest, "sample_shape", where);
    if (!shape.is_array() || shape.empty() || shape.size() > 4) badManifest(where, "field 'sample_shape' must be a list of 1-4 positive integers");
    for (const auto& dim : shape) {
        if (!dim.is_number_integer() || dim.get<int64_t>() <= 0 || dim.get<int64_t>() > 65536)
            badManifest(where, "field 'sample_shape' must be a list of 1-4 positive integers");
        info.sampleShape.push_back(dim.get<int64_t>());
    }

    const auto& conditioning = requireField(manifest, "conditioning", where);
    if (!conditioning.is_object()) badManifest(where, "field 'conditioning' must be an object");
    const std::string type = requireString(conditioning, "type", where, "conditioning.");
    if (type == "class") {
        info.numClasses = requireInt(conditioning, "num_classes", where, "conditioning.");
        if (info.numClasses < 1 || info.numClasses > 100000) badManifest(where, "field 'conditioning.num_classes' must be >= 1");
        info.nullClass = requireInt(conditioning, "null_class", where, "conditioning.");
        if (info.nullClass >= 0 && info.nullClass < info.numClasses)
            badManifest(where, "field 'conditioning.null_class' must not be one of the classes 0.." + std::to_string(info.numClasses - 1));
        if (info.nullClass < 0) badManifest(where, "field 'conditioning.null_class' must be >= 0");
        if (conditioning.contains("labels")) {
            const auto& labels = conditioning["labels"];
            if (!labels.is_array() || labels.size() != size_t(info.numClasses))
                badManifest(where, "field 'conditioning.labels' must list num_classes strings");
            for (const auto& label : labels) {
                if (!label.is_string()) badManifest(where, "field 'conditioning.labels' must list num_classes strings");
                info.labels.push_back(label.get<std::string>());
            }
        } else {
            for (int c = 0; c < info.numClasses; ++c) info.labels.push_back("class " + std::to_string(c));
        }
    } else if (type != "none") {
        badManifest(where, "field 'conditioning.type' must be 'none' or 'class'");
    }

    if (manifest.contains("value_range")) {
        const auto& range = manifest["value_range"];
        if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number() ||
            !(range[0].get<double>() < range[1].get<double>()))
            badManifest(where, "field 'value_range' must be [low, high] with low < high");
        info.valueRange = {range[0].get<double>(), range[1].get<double>()};
    }

    // Checked here so that a package naming a missing or malformed ratio file fails at load.
    const auto compensation = readPackageCompensation(manifest, where);

    const fs::path folder = manifestPath.parent_path();
    auto model = std::shared_ptr<TorchScriptModel>(new TorchScriptModel(info, std::move(schedule)));
    model->m_folder = folder.string();
    model->m_modules->manifest = manifest;
    model->m_compensation = compensation;
    model->m_modules->device = device;
    model->m_modules->networkPath = (folder / networkFile).string();
    model->m_modules->options = options;
    model->m_modules->savedNetwork = loadModule(model->m_modules->networkPath, device);
    model->m_modules->network = prepareModule(model->m_modules->savedNetwork, options.preparation, model->m_modules->applied);
    if (manifest.contains("decoder")) {
        model->m_modules->decoderPath = (folder / requireString(manifest, "decoder", where)).string();
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
