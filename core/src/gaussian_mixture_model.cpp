#include "dcscope/gaussian_mixture_model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

#include "dcscope/errors.h"

namespace dcscope {
namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

ModelInfo GaussianMixtureModel::mixtureInfo(const std::string& name, const std::string& source, std::vector<int64_t> sampleShape,
                                            int numClasses, std::vector<std::string> labels, const std::string& description) {
    ModelInfo info;
    info.name = name;
    info.source = source;
    info.predictionType = PredictionType::Epsilon;
    info.sampleShape = std::move(sampleShape);
    info.numClasses = numClasses;
    info.nullClass = numClasses;
    info.labels = std::move(labels);
    info.description = description;
    return info;
}

// The DDPM linear schedule: the built-ins (and mixture files) pretend to be a model trained on it.
NoiseSchedule GaussianMixtureModel::builtinSchedule() { return NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000); }

GaussianMixtureModel::GaussianMixtureModel(ModelInfo info, NoiseSchedule schedule, std::vector<std::vector<double>> means,
                                           std::vector<int> componentClass, double componentStd)
    : GaussianMixtureModel(std::move(info), std::move(schedule), means, std::move(componentClass),
                           std::vector<double>(means.size(), 1.0), std::vector<double>(means.size(), componentStd)) {}

GaussianMixtureModel::GaussianMixtureModel(ModelInfo info, NoiseSchedule schedule, std::vector<std::vector<double>> means,
                                           std::vector<int> componentClass, std::vector<double> weights, std::vector<double> componentStds)
    : DiffusionModel(std::move(info), std::move(schedule)), m_meanValues(std::move(means)), m_weights(std::move(weights)),
      m_componentStds(std::move(componentStds)) {
    const size_t count = m_meanValues.size();
    if (count == 0 || count != componentClass.size())
        throw Error(ErrorCode::BadModel, "gaussian mixture: need one class per component");
    if (m_weights.size() != count || m_componentStds.size() != count)
        throw Error(ErrorCode::BadModel, "gaussian mixture: need one weight and one std per component");
    double totalWeight = 0;
    for (size_t i = 0; i < count; ++i) {
        if (!(std::isfinite(m_weights[i]) && m_weights[i] > 0))
            throw Error(ErrorCode::BadModel, "gaussian mixture: component " + std::to_string(i) + ": weight must be finite and > 0");
        // 0 is a point mass (the solver tests' exact case); files and the editor require > 0.
        if (!(std::isfinite(m_componentStds[i]) && m_componentStds[i] >= 0))
            throw Error(ErrorCode::BadModel, "gaussian mixture: component " + std::to_string(i) + ": std must be finite and >= 0");
        totalWeight += m_weights[i];
        if (m_weights[i] != m_weights[0] || m_componentStds[i] != m_componentStds[0]) m_uniform = false;
    }
    m_givenWeights = m_weights;
    for (double& weight : m_weights) weight /= totalWeight;

    const auto k = static_cast<int64_t>(count);
    const auto d = static_cast<int64_t>(m_meanValues[0].size());
    m_means = at::empty({k, d}, at::kDouble);
    auto accessor = m_means.accessor<double, 2>();
    for (int64_t i = 0; i < k; ++i) {
        if (static_cast<int64_t>(m_meanValues[size_t(i)].size()) != d) throw Error(ErrorCode::BadModel, "gaussian mixture: ragged means");
        for (int64_t j = 0; j < d; ++j) accessor[i][j] = m_meanValues[size_t(i)][size_t(j)];
    }
    m_means = m_means.to(at::kFloat);
    m_componentClass = at::empty({k}, at::kLong);
    for (int64_t i = 0; i < k; ++i) m_componentClass[i] = componentClass[size_t(i)];
}

std::vector<std::string> GaussianMixtureModel::builtinNames() { return {"gmm2d", "gmm-image"}; }

std::shared_ptr<GaussianMixtureModel> GaussianMixtureModel::builtin(const std::string& name) {
    if (name == "gmm2d") {
        // Eight modes on a ring, adjacent pairs forming four classes: trajectories in the plane.
        std::vector<std::vector<double>> means;
        std::vector<int> classes;
        for (int i = 0; i < 8; ++i) {
            const double angle = 2 * kPi * i / 8 + kPi / 8;
            means.push_back({0.7 * std::cos(angle), 0.7 * std::sin(angle)});
            classes.push_back(i / 2);
        }
        auto info = mixtureInfo("gmm2d", "builtin:gmm2d", {2}, 4, {"north-east", "north-west", "south-west", "south-east"},
                                "gmm2d: exact 2-D Gaussian mixture, 8 modes on a ring (radius 0.7, std 0.08), 4 classes");
        return std::make_shared<GaussianMixtureModel>(info, builtinSchedule(), means, classes, 0.08);
    }
    if (name == "gmm-image") {
        // 24 8x8 patterns, 6 per class: stripes (horizontal, vertical, diagonal) and rings, each
        // class varying frequency and phase. Deterministic closed forms, no RNG involved.
        std::vector<std::vector<double>> means;
        std::vector<int> classes;
        for (int c = 0; c < 4; ++c) {
            for (int v = 0; v < 6; ++v) {
                const double frequency = 0.5 + 0.25 * (v % 3);
                const double phase = kPi * (v / 3) / 2 + 0.3 * c;
                std::vector<double> image(64);
                for (int y = 0; y < 8; ++y)
                    for (int x = 0; x < 8; ++x) {
                        double u;
                        switch (c) {
                        case 0: u = y; break;
                        case 1: u = x; break;
                        case 2: u = (x + y) / std::sqrt(2.0); break;
                        default: u = std::hypot(x - 3.5, y - 3.5); break;
                        }
                        image[size_t(y * 8 + x)] = 0.8 * std::sin(frequency * u + phase);
                    }
                means.push_back(image);
                classes.push_back(c);
            }
        }
        auto info = mixtureInfo("gmm-image", "builtin:gmm-image", {1, 8, 8}, 4, {"horizontal", "vertical", "diagonal", "rings"},
                                "gmm-image: exact 1x8x8 Gaussian mixture, 24 components (std 0.15), 4 classes");
        return std::make_shared<GaussianMixtureModel>(info, builtinSchedule(), means, classes, 0.15);
    }
    std::string names;
    for (const auto& n : builtinNames()) names += (names.empty() ? "builtin:" : ", builtin:") + n;
    throw Error(ErrorCode::BadModel, "builtin:" + name + " is not a built-in model (have " + names + ")");
}

at::Tensor GaussianMixtureModel::forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) {
    const int64_t batch = x.size(0);
    const int64_t count = m_means.size(0), dims = m_means.size(1);
    const auto options = x.options();
    // Continuous time back from network units; alpha/sigma per sample in double, then float.
    const auto times = modelTime.to(at::kCPU, at::kDouble).contiguous();
    const double* timeData = times.data_ptr<double>();
    const int n = schedule().numTrainTimesteps();
    auto alpha = at::empty({batch}, at::kDouble), sigma = at::empty({batch}, at::kDouble);
    // Uniform: [B], one variance per sample. Otherwise [B, K]: variance_k = alpha^2 s_k^2 +
    // sigma^2, and the logits' constant log w_k - D/2 log variance_k, both in double.
    auto variance = m_uniform ? at::empty({batch}, at::kDouble) : at::empty({batch, count}, at::kDouble);
    auto logitOffset = m_uniform ? at::Tensor() : at::empty({batch, count}, at::kDouble);
    for (int64_t b = 0; b < batch; ++b) {
        const double t = timeData[b] / n + 1.0 / n;
        const double a = schedule().alpha(t), sg = schedule().sigma(t);
        alpha[b] = a;
        sigma[b] = sg;
        if (m_uniform) {
            const double s2 = m_componentStds[0] * m_componentStds[0];
            variance[b] = a * a * s2 + sg * sg;
            continue;
        }
        auto varianceRow = variance.accessor<double, 2>()[b];
        auto offsetRow = logitOffset.accessor<double, 2>()[b];
        for (int64_t k = 0; k < count; ++k) {
            const double s = m_componentStds[size_t(k)];
            const double v = a * a * s * s + sg * sg;
            varianceRow[k] = v;
            offsetRow[k] = std::log(m_weights[size_t(k)]) - 0.5 * double(dims) * std::log(v);
        }
    }
    const auto alphaT = alpha.to(options).view({batch, 1, 1});
    const auto sigmaT = sigma.to(options).view({batch, 1});
    // [B,1] when uniform, [B,K] otherwise: broadcasts against the [B,K] logits either way.
    const auto varianceT = variance.to(options).view({batch, -1});

    const auto flat = x.reshape({batch, 1, -1});                 // [B,1,D]
    const auto diff = flat - alphaT * m_means.unsqueeze(0);       // [B,K,D]
    // Uniform: the equal weights and the shared variance's normaliser cancel in the softmax.
    auto logits = -0.5 * diff.pow(2).sum(-1) / varianceT;        // [B,K]
    if (!m_uniform) logits = logits + logitOffset.to(options);
    if (isConditional() && classes.defined()) {
        const auto c = classes.to(m_componentClass.device()).view({batch, 1});
        const auto allowed = (m_componentClass.unsqueeze(0) == c) | (c == m_info.nullClass);
        logits = logits.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
    }
    const auto responsibilities = at::softmax(logits, 1);        // posterior over components
    // eps = -sigma * score, score = -sum_k r_k (x - alpha mu_k) / var_k.
    if (m_uniform) {
        const auto meanDiff = (responsibilities.unsqueeze(-1) * diff).sum(1);  // [B,D]
        return (meanDiff * (sigmaT / varianceT)).reshape(x.sizes());
    }
    const auto scaledDiff = ((responsibilities / varianceT).unsqueeze(-1) * diff).sum(1);  // [B,D]
    return (scaledDiff * sigmaT).reshape(x.sizes());
}

void GaussianMixtureModel::moveTo(const c10::Device& device) {
    m_means = m_means.to(device);
    m_componentClass = m_componentClass.to(device);
}

at::Tensor GaussianMixtureModel::sampleData(const at::Tensor& classes, uint64_t seed) const {
    auto generator = at::detail::createCPUGenerator(seed);
    const auto cpuClasses = classes.to(at::kCPU, at::kLong);
    const auto means = m_means.to(at::kCPU);
    const auto componentClass = m_componentClass.to(at::kCPU);
    const int64_t batch = cpuClasses.size(0);
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), m_info.sampleShape.begin(), m_info.sampleShape.end());
    auto result = at::empty({batch, means.size(1)});
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t c = cpuClasses[b].item<int64_t>();
        const auto candidates = (c == m_info.nullClass || !isConditional()) ? at::arange(means.size(0))
                                                                            : at::nonzero(componentClass == c).view({-1});
        if (m_uniform) {
            const auto pick = at::randint(candidates.size(0), {1}, generator, at::kLong).item<int64_t>();
            result[b] = means[candidates[pick].item<int64_t>()] + m_componentStds[0] * at::randn({means.size(1)}, generator);
            continue;
        }
        if (candidates.size(0) == 0)
            throw Error(ErrorCode::InvalidArgument, "class " + std::to_string(c) + " has no components to sample from");
        // In proportion to the weights among the allowed components: invert their cumulative sum.
        const auto candidateData = candidates.contiguous();
        const int64_t* candidateIndex = candidateData.data_ptr<int64_t>();
        double total = 0;
        for (int64_t i = 0; i < candidateData.size(0); ++i) total += m_weights[size_t(candidateIndex[i])];
        const double u = at::rand({1}, generator, at::kDouble).item<double>() * total;
        int64_t component = candidateIndex[candidateData.size(0) - 1];  // u at the very top (rounding)
        double cumulative = 0;
        for (int64_t i = 0; i < candidateData.size(0); ++i) {
            cumulative += m_weights[size_t(candidateIndex[i])];
            if (u < cumulative) {
                component = candidateIndex[i];
                break;
            }
        }
        result[b] = means[component] + m_componentStds[size_t(component)] * at::randn({means.size(1)}, generator);
    }
    return result.view(shape);
}

}  // namespace dcscope
