#include "dcscope/model.h"

#include <torch/cuda.h>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/mixture_definition.h"
#include "dcscope/torchscript_model.h"

namespace dcscope {

PredictionType parsePredictionType(const std::string& name) {
    if (name == "epsilon") return PredictionType::Epsilon;
    if (name == "v_prediction") return PredictionType::VPrediction;
    if (name == "sample") return PredictionType::Sample;
    throw Error(ErrorCode::InvalidArgument, "'" + name + "' is not one of epsilon, v_prediction, sample");
}

std::string toString(PredictionType type) {
    switch (type) {
    case PredictionType::Epsilon: return "epsilon";
    case PredictionType::VPrediction: return "v_prediction";
    case PredictionType::Sample: return "sample";
    }
    return "?";
}

std::shared_ptr<DiffusionModel> loadModel(const std::string& spec, const c10::Device& device) {
    const std::string prefix = "builtin:";
    if (spec.rfind(prefix, 0) == 0) {
        auto model = GaussianMixtureModel::builtin(spec.substr(prefix.size()));
        model->moveTo(device);
        return model;
    }
    if (isMixtureModelSpec(spec)) {
        auto model = makeMixtureModel(readMixtureDefinition(spec), spec);
        model->moveTo(device);
        return model;
    }
    return TorchScriptModel::open(spec, device);
}

c10::Device parseDevice(const std::string& name) {
    if (name == "cpu") return c10::Device(c10::kCPU);
    if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
        int index = 0;
        if (name.size() > 5) {
            try {
                size_t used = 0;
                index = std::stoi(name.substr(5), &used);
                if (used != name.size() - 5 || index < 0) throw std::invalid_argument(name);
            } catch (const std::exception&) {
                throw Error(ErrorCode::Device, "device: '" + name + "' is not cpu, cuda or cuda:N");
            }
        }
        const auto count = static_cast<int>(torch::cuda::device_count());
        if (index >= count)
            throw Error(ErrorCode::Device, "device: " + name + " is not available (" + std::to_string(count) + " CUDA devices)");
        return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw Error(ErrorCode::Device, "device: '" + name + "' is not cpu, cuda or cuda:N");
}

std::vector<std::string> availableDevices() {
    std::vector<std::string> devices{"cpu"};
    const auto count = static_cast<int>(torch::cuda::device_count());
    for (int index = 0; index < count; ++index) devices.push_back("cuda:" + std::to_string(index));
    return devices;
}

}  // namespace dcscope
