#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "dcscope/model.h"
#include "dcscope/package_compensation.h"

namespace dcscope {

/// How the TorchScript network is prepared at load. `dcscope-cli bench --model` measures all three;
/// Frozen is the default: within 8% of PyTorch on the same file in every cell of that table,
/// where FrozenForInference is 10-20% faster at batch 1 but up to 14% slower at batch 16 with
/// guidance, the window's first comparison (README, "Interactive speed").
enum class NetworkPreparation {
    AsSaved,             ///< the module as saved
    Frozen,              ///< torch::jit::freeze: parameters inlined as constants, foldable ops folded
    FrozenForInference,  ///< torch::jit::optimize_for_inference (freeze + oneDNN layout passes)
};

std::string toString(NetworkPreparation preparation);
NetworkPreparation parseNetworkPreparation(const std::string& name);  ///< as-saved | frozen | inference

struct TorchScriptOptions {
    NetworkPreparation preparation = NetworkPreparation::Frozen;
    /// false: run the graph without the profiling executor's optimisation passes, so every call,
    /// the first of each new batch shape included, runs at steady speed (no warm-up stalls).
    bool graphOptimizer = false;
};

/// A model package (spec section 8): model.json + TorchScript network (+ optional decoder).
/// Every manifest field is validated and the network is probed once for its output shape.
class TorchScriptModel : public DiffusionModel {
public:
    /// `path`: the package folder or its model.json. Throws Error(BadFile/BadModel).
    static std::shared_ptr<TorchScriptModel> open(const std::string& path, const c10::Device& device,
                                                  const TorchScriptOptions& options = {});
    ~TorchScriptModel() override;

    at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) override;
    void moveTo(const c10::Device& device) override;
    at::Tensor decode(const at::Tensor& x) override;
    /// Where the network's parameters live.
    c10::Device device() const;
    /// Folder holding model.json.
    const std::string& folder() const { return m_folder; }
    /// The parsed manifest (for optional sections such as "quality").
    const nlohmann::json& manifest() const;
    /// The package's compensation entry (fitted CPR coefficients, searched ratio files), if any.
    const std::optional<PackageCompensation>& compensation() const { return m_compensation; }
    /// How the network was actually prepared (freezing falls back to AsSaved where it fails).
    NetworkPreparation preparation() const;

private:
    struct Modules;
    TorchScriptModel(ModelInfo info, NoiseSchedule schedule);
    std::unique_ptr<Modules> m_modules;
    std::string m_folder;
    std::optional<PackageCompensation> m_compensation;
};

}  // namespace dcscope
