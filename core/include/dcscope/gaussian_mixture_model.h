#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dcscope/model.h"

namespace dcscope {

/// An exact "network" for data drawn from a class-conditional mixture of isotropic Gaussians
/// N(mu_k, s^2 I) with equal weights: the noise prediction is computed in closed form as the
/// posterior-weighted average over components (spec: built-in models). The null class means all
/// components. Differentiable (plain tensor ops), so the ratio search can backpropagate.
class GaussianMixtureModel : public DiffusionModel {
public:
    /// means: [K, D] flattened samples; componentClass: K entries in 0..numClasses-1.
    GaussianMixtureModel(ModelInfo info, NoiseSchedule schedule, std::vector<std::vector<double>> means,
                         std::vector<int> componentClass, double componentStd);

    /// Names accepted by builtin(): "gmm2d", "gmm-image".
    static std::vector<std::string> builtinNames();
    /// Throws Error(BadModel) for an unknown name.
    static std::shared_ptr<GaussianMixtureModel> builtin(const std::string& name);

    at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) override;
    void moveTo(const c10::Device& device) override;

    const at::Tensor& means() const { return m_means; }          ///< [K, D] float32
    const at::Tensor& componentClass() const { return m_componentClass; }  ///< [K] int64
    double componentStd() const { return m_componentStd; }
    /// Exact samples from the data distribution for the given classes (null class = all).
    at::Tensor sampleData(const at::Tensor& classes, uint64_t seed) const;

private:
    at::Tensor m_means;
    at::Tensor m_componentClass;
    double m_componentStd;
};

}  // namespace dcscope
