#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "dcscope/model.h"

namespace dcscope {

/// A model package (spec section 8): model.json + TorchScript network (+ optional decoder).
/// Every manifest field is validated and the network is probed once for its output shape.
class TorchScriptModel : public DiffusionModel {
public:
    /// `path`: the package folder or its model.json. Throws Error(BadFile/BadModel).
    static std::shared_ptr<TorchScriptModel> open(const std::string& path, const c10::Device& device);
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

private:
    struct Modules;
    TorchScriptModel(ModelInfo info, NoiseSchedule schedule);
    std::unique_ptr<Modules> m_modules;
    std::string m_folder;
};

}  // namespace dcscope
