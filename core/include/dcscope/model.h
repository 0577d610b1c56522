#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "dcscope/schedule.h"

namespace dcscope {

/// What the network's raw output means (spec section 2).
enum class PredictionType { Epsilon, VPrediction, Sample };

PredictionType parsePredictionType(const std::string& name);
std::string toString(PredictionType type);

/// Static description of a model: everything a caller needs without running it.
struct ModelInfo {
    std::string name;
    std::string source;                  ///< folder path, mixture file path, "builtin:NAME" or empty (an unsaved mixture)
    PredictionType predictionType = PredictionType::Epsilon;
    std::vector<int64_t> sampleShape;    ///< one sample, without the batch dimension
    int numClasses = 0;                  ///< 0: unconditional
    int nullClass = -1;                  ///< class index meaning "no condition"
    std::vector<std::string> labels;     ///< one per class
    std::pair<double, double> valueRange{-1.0, 1.0};
    bool hasDecoder = false;
    std::string description;             ///< one line for `info`
};

/// A diffusion network with its noise schedule. forward() is the raw network call; callers go
/// through GuidedDenoiser, which converts outputs and applies guidance. A model is used by one
/// thread at a time (the inference worker); it is not internally synchronised.
class DiffusionModel {
public:
    virtual ~DiffusionModel() = default;
    const ModelInfo& info() const { return m_info; }
    const NoiseSchedule& schedule() const { return m_schedule; }
    bool isConditional() const { return m_info.numClasses > 0; }

    /// x: float32 [B, sampleShape...]; modelTime: float32 [B] in network units ((t - 1/N) * N);
    /// classes: int64 [B] (ignored by unconditional models). Returns the raw output, shaped like x.
    virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) = 0;
    /// Moves parameters to `device`; subsequent inputs are expected there.
    virtual void moveTo(const c10::Device& device) = 0;
    /// Maps a latent sample to an image in valueRange (identity unless the package has a decoder).
    virtual at::Tensor decode(const at::Tensor& x) { return x; }

protected:
    DiffusionModel(ModelInfo info, NoiseSchedule schedule) : m_info(std::move(info)), m_schedule(std::move(schedule)) {}
    ModelInfo m_info;
    NoiseSchedule m_schedule;
};

/// Opens a model from a package folder (or its model.json), a mixture model file (any other
/// NAME.json, see mixture_definition.h) or a "builtin:NAME" spec, on `device`.
/// Throws Error(BadFile/BadModel) with a one-line message naming the file and field.
std::shared_ptr<DiffusionModel> loadModel(const std::string& spec, const c10::Device& device = c10::Device(c10::kCPU));

/// Parses "cpu", "cuda", "cuda:N"; throws Error(Device) when CUDA is requested but unavailable.
c10::Device parseDevice(const std::string& name);

/// The devices a model can run on here, as parseDevice() accepts them: "cpu", then "cuda:0",
/// "cuda:1", ... for every CUDA device LibTorch sees. Any thread.
std::vector<std::string> availableDevices();

}  // namespace dcscope
