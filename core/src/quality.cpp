#include "dcscope/quality.h"

#include <ATen/ATen.h>
#include <torch/script.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"
#include "dcscope/search.h"
#include "dcscope/torchscript_model.h"

namespace dcscope {
namespace fs = std::filesystem;

namespace {

// Square root of a symmetric positive semi-definite matrix via its eigendecomposition.
at::Tensor symmetricSqrt(const at::Tensor& matrix) {
    const auto symmetric = 0.5 * (matrix + matrix.transpose(0, 1));
    at::Tensor values, vectors;
    std::tie(values, vectors) = at::linalg_eigh(symmetric);
    return at::matmul(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.transpose(0, 1));
}

}  // namespace

double frechetDistance(const at::Tensor& mu1, const at::Tensor& c1, const at::Tensor& mu2, const at::Tensor& c2) {
    const auto m1 = mu1.to(at::kDouble), m2 = mu2.to(at::kDouble);
    const auto a = c1.to(at::kDouble), b = c2.to(at::kDouble);
    if (m1.sizes() != m2.sizes() || a.dim() != 2 || a.sizes() != b.sizes() || a.size(0) != m1.size(0) || a.size(0) != a.size(1))
        throw Error(ErrorCode::InvalidArgument, "frechet distance: mean/covariance shapes do not match");
    const auto rootA = symmetricSqrt(a);
    const auto inner = at::matmul(at::matmul(rootA, b), rootA);
    const auto innerValues = at::linalg_eigvalsh(0.5 * (inner + inner.transpose(0, 1)));
    const double traceSqrt = innerValues.clamp_min(0).sqrt().sum().item<double>();
    const double meanTerm = (m1 - m2).pow(2).sum().item<double>();
    return meanTerm + a.trace().item<double>() + b.trace().item<double>() - 2.0 * traceSqrt;
}

std::pair<at::Tensor, at::Tensor> featureStatistics(const at::Tensor& features) {
    const auto f = features.to(at::kDouble);
    if (f.dim() != 2 || f.size(0) < 2) throw Error(ErrorCode::InvalidArgument, "feature statistics need at least 2 rows [N, F]");
    const auto mean = f.mean(0);
    const auto centered = f - mean;
    return {mean, at::matmul(centered.transpose(0, 1), centered) / double(f.size(0) - 1)};
}

struct QualityModel::Module {
    torch::jit::Module module;
};

QualityModel::~QualityModel() = default;

std::unique_ptr<QualityModel> QualityModel::open(const TorchScriptModel& package) {
    const auto& manifest = package.manifest();
    const std::string where = (fs::path(package.folder()) / "model.json").string();
    if (!manifest.contains("quality") || !manifest["quality"].is_object())
        throw Error(ErrorCode::BadFile, where + ": no 'quality' section (classifier and feature statistics)");
    const auto& section = manifest["quality"];
    auto file = [&](const char* key) {
        if (!section.contains(key) || !section[key].is_string())
            throw Error(ErrorCode::BadFile, where + ": field 'quality." + std::string(key) + "' must be a file name");
        return (fs::path(package.folder()) / section[key].get<std::string>()).string();
    };
    std::unique_ptr<QualityModel> quality(new QualityModel());
    quality->m_path = file("classifier");
    quality->m_module = std::make_unique<Module>();
    std::error_code error;  // non-throwing: an unusable name (too long, ...) is "not found" too
    if (!fs::is_regular_file(quality->m_path, error)) throw Error(ErrorCode::BadFile, quality->m_path + ": file not found");
    try {
        quality->m_module->module = torch::jit::load(quality->m_path, c10::Device(c10::kCPU));
        quality->m_module->module.eval();
    } catch (const c10::Error& e) {
        std::string message = e.what_without_backtrace();
        throw Error(ErrorCode::BadModel, quality->m_path + ": not a loadable TorchScript file (" + message.substr(0, message.find('\n')) + ")");
    }
    if (!quality->m_module->module.find_method("features"))
        throw Error(ErrorCode::BadModel, quality->m_path + ": classifier lacks a features(x) method");
    quality->m_mean = loadNpy(file("feature_mean")).to(at::kDouble);
    quality->m_covariance = loadNpy(file("feature_cov")).to(at::kDouble);
    const auto f = quality->m_mean.numel();
    if (quality->m_mean.dim() != 1 || quality->m_covariance.sizes() != c10::IntArrayRef{f, f})
        throw Error(ErrorCode::BadFile, file("feature_cov") + ": covariance must be [F, F] for a mean of " + std::to_string(f) + " values");
    return quality;
}

at::Tensor QualityModel::logits(const at::Tensor& images) {
    at::NoGradGuard noGrad;
    return m_module->module.forward({images.to(at::kCPU, at::kFloat)}).toTensor();
}

at::Tensor QualityModel::features(const at::Tensor& images) {
    at::NoGradGuard noGrad;
    return m_module->module.get_method("features")({images.to(at::kCPU, at::kFloat)}).toTensor();
}

QualityReport QualityModel::evaluate(const at::Tensor& images, const at::Tensor& requestedClasses) {
    QualityReport report;
    report.samples = static_cast<int>(images.size(0));
    const auto predicted = logits(images).argmax(1);
    report.classAccuracy = (predicted == requestedClasses.to(at::kCPU, at::kLong)).to(at::kDouble).mean().item<double>();
    const auto [mean, covariance] = featureStatistics(features(images));
    if (mean.numel() != m_mean.numel())
        throw Error(ErrorCode::BadModel, m_path + ": features() returned " + std::to_string(mean.numel()) + " values, statistics have " +
                                             std::to_string(m_mean.numel()));
    report.frechetDistance = frechetDistance(mean, covariance, m_mean, m_covariance);
    return report;
}

QualityReport measureQuality(TorchScriptModel& model, QualityModel& quality, const SolverConfig& config, double guidance,
                             int samples, int batchSize, uint64_t seed, const CancelToken* cancel,
                             const std::function<void(int, int)>& progress) {
    if (samples < 2) throw Error(ErrorCode::InvalidArgument, "samples: need at least 2");
    if (batchSize < 1) throw Error(ErrorCode::InvalidArgument, "batch size: must be >= 1");
    const int classes = std::max(1, model.info().numClasses);
    const MultistepSampler sampler(model.schedule(), config);
    std::vector<at::Tensor> images;
    std::vector<int64_t> requested;
    for (int done = 0; done < samples;) {
        const int count = std::min(batchSize, samples - done);
        // Sample j is datapoint seed + j: its noise, and its class datapointClass(j).
        const auto noise = makeDatapoints(model, seed + uint64_t(done), count).noise;
        std::vector<int64_t> batchClasses;
        for (int i = 0; i < count; ++i) batchClasses.push_back(datapointClass(done + i, classes));
        at::Tensor classTensor;
        if (model.isConditional()) classTensor = at::tensor(batchClasses, at::TensorOptions().dtype(at::kLong));
        GuidedDenoiser denoiser(model, Conditioning{classTensor, guidance}, cancel);
        // Noise is drawn on the CPU (reproducible everywhere) and sampled on the model's device.
        at::Tensor result = sampler.run(denoiser, noise.to(model.device()));
        {
            at::NoGradGuard noGrad;
            images.push_back(model.decode(result).to(at::kCPU));
        }
        requested.insert(requested.end(), batchClasses.begin(), batchClasses.end());
        done += count;
        if (progress) progress(done, samples);
    }
    return quality.evaluate(at::cat(images), at::tensor(requested, at::TensorOptions().dtype(at::kLong)));
}

}  // namespace dcscope
