#pragma once

#include <memory>

#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/model.h"

namespace dcscope::testing {

/// Wraps a model and counts raw network calls, so tests can check NFE independently of
/// GuidedDenoiser's own counter.
class CountingModel : public DiffusionModel {
public:
    explicit CountingModel(std::shared_ptr<DiffusionModel> inner)
        : DiffusionModel(inner->info(), inner->schedule()), m_inner(std::move(inner)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) override {
        ++calls;
        return m_inner->forward(x, modelTime, classes);
    }
    void moveTo(const c10::Device& device) override { m_inner->moveTo(device); }
    int calls = 0;

private:
    std::shared_ptr<DiffusionModel> m_inner;
};

/// A single isotropic Gaussian N(mean, std^2 I) in `dims` dimensions (std 0: a point mass), on the
/// DDPM linear schedule. Its probability-flow ODE has the closed-form solution below.
inline std::shared_ptr<GaussianMixtureModel> singleGaussian(int dims, double std, double meanValue = 0.3) {
    ModelInfo info;
    info.name = "single-gaussian";
    info.sampleShape = {dims};
    std::vector<double> mean(static_cast<size_t>(dims));
    for (int i = 0; i < dims; ++i) mean[size_t(i)] = meanValue * ((i % 3) - 1.0);
    return std::make_shared<GaussianMixtureModel>(info, NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000),
                                                  std::vector<std::vector<double>>{mean}, std::vector<int>{0}, std);
}

}  // namespace dcscope::testing
