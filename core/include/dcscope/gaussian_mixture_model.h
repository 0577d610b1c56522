#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dcscope/model.h"

namespace dcscope {

/// An exact "network" for data drawn from a class-conditional mixture of isotropic Gaussians
/// sum_k w_k N(mu_k, s_k^2 I): the noise prediction is computed in closed form as the
/// posterior-weighted average over components (spec: built-in models). The null class means all
/// components. Differentiable (plain tensor ops), so the ratio search can backpropagate.
class GaussianMixtureModel : public DiffusionModel {
public:
    /// means: [K, D] flattened samples; componentClass: K entries in 0..numClasses-1. Equal
    /// weights and one shared std (the built-ins).
    GaussianMixtureModel(ModelInfo info, NoiseSchedule schedule, std::vector<std::vector<double>> means,
                         std::vector<int> componentClass, double componentStd);
    /// Per-component weights (> 0, normalised to sum 1) and stds (> 0), K of each. Throws
    /// Error(BadModel) on a count mismatch or a value that is not finite and positive.
    GaussianMixtureModel(ModelInfo info, NoiseSchedule schedule, std::vector<std::vector<double>> means,
                         std::vector<int> componentClass, std::vector<double> weights, std::vector<double> componentStds);

    /// Names accepted by builtin(): "gmm2d", "gmm-image".
    static std::vector<std::string> builtinNames();
    /// Throws Error(BadModel) for an unknown name.
    static std::shared_ptr<GaussianMixtureModel> builtin(const std::string& name);
    /// The schedule every mixture pretends to be trained on: DDPM linear, 1000 steps.
    static NoiseSchedule builtinSchedule();
    /// The ModelInfo of an exact mixture (epsilon prediction, null class = numClasses), as the
    /// built-ins and mixture files describe themselves.
    static ModelInfo mixtureInfo(const std::string& name, const std::string& source, std::vector<int64_t> sampleShape,
                                 int numClasses, std::vector<std::string> labels, const std::string& description);

    at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) override;
    void moveTo(const c10::Device& device) override;

    const at::Tensor& means() const { return m_means; }          ///< [K, D] float32
    /// The means exactly as given (means() is their float32 copy), so a saved model keeps them.
    const std::vector<std::vector<double>>& meanValues() const { return m_meanValues; }
    const at::Tensor& componentClass() const { return m_componentClass; }  ///< [K] int64
    const std::vector<double>& weights() const { return m_weights; }       ///< K, summing to 1
    /// The weights as given, before normalising (what a saved or edited model keeps: 5:3:2
    /// stays 5, 3, 2 and a saved model reads back exactly).
    const std::vector<double>& givenWeights() const { return m_givenWeights; }
    const std::vector<double>& componentStds() const { return m_componentStds; }  ///< K
    /// Exact samples from the data distribution for the given classes (null class = all).
    at::Tensor sampleData(const at::Tensor& classes, uint64_t seed) const;

private:
    at::Tensor m_means;
    at::Tensor m_componentClass;
    std::vector<std::vector<double>> m_meanValues;
    std::vector<double> m_weights;
    std::vector<double> m_givenWeights;
    std::vector<double> m_componentStds;
    // Equal weights and one std: forward() and sampleData() then take the original code path,
    // whose results (and the hashes stored from them) must stay bit-identical.
    bool m_uniform = true;
};

}  // namespace dcscope
