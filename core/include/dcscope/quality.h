#pragma once

#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "dcscope/cancel.h"
#include "dcscope/solver.h"

namespace dcscope {

class TorchScriptModel;

/// Frechet distance between Gaussians N(mu1, c1) and N(mu2, c2):
/// |mu1 - mu2|^2 + tr(c1 + c2 - 2 (c1^1/2 c2 c1^1/2)^1/2), with both matrix square roots taken
/// through symmetric eigendecompositions (negative round-off eigenvalues clipped to 0). Double.
double frechetDistance(const at::Tensor& mu1, const at::Tensor& c1, const at::Tensor& mu2, const at::Tensor& c2);

/// Mean [F] and unbiased covariance [F, F] (double) of feature rows [N, F].
std::pair<at::Tensor, at::Tensor> featureStatistics(const at::Tensor& features);

/// Sample-quality metrics of a batch of generated samples.
struct QualityReport {
    int samples = 0;
    double classAccuracy = 0.0;   ///< fraction whose classifier prediction equals the requested class
    double frechetDistance = 0.0; ///< against the package's reference feature statistics
};

/// The classifier shipped in a model package's "quality" section: TorchScript with forward(x) ->
/// logits [B, K] and features(x) -> [B, F], plus the reference feature mean/covariance (.npy).
class QualityModel {
public:
    /// Throws Error(BadFile/BadModel) naming the file when the section or its files are unusable.
    static std::unique_ptr<QualityModel> open(const TorchScriptModel& package);
    ~QualityModel();

    at::Tensor logits(const at::Tensor& images);
    at::Tensor features(const at::Tensor& images);
    const at::Tensor& referenceMean() const { return m_mean; }
    const at::Tensor& referenceCovariance() const { return m_covariance; }

    /// Metrics for generated images [N, C, H, W] (in the model's value range) with requested classes [N].
    QualityReport evaluate(const at::Tensor& images, const at::Tensor& requestedClasses);

private:
    QualityModel() = default;
    struct Module;
    std::unique_ptr<Module> m_module;
    at::Tensor m_mean, m_covariance;
    std::string m_path;
};

/// Generates `samples` class-balanced samples (sample i gets class i % K) with the given solver
/// and guidance in batches of `batchSize` from seed `seed`, then scores them. Cancellable.
QualityReport measureQuality(TorchScriptModel& model, QualityModel& quality, const SolverConfig& config, double guidance,
                             int samples, int batchSize, uint64_t seed, const CancelToken* cancel = nullptr,
                             const std::function<void(int done, int total)>& progress = {});

}  // namespace dcscope
