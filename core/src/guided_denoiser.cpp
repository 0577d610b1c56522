#include "dcscope/guided_denoiser.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

#include "dcscope/errors.h"
#include "linear_combination.h"

namespace dcscope {

GuidedDenoiser::GuidedDenoiser(DiffusionModel& model, Conditioning conditioning, const CancelToken* cancel)
    : m_model(model), m_conditioning(std::move(conditioning)), m_cancel(cancel) {
    const auto& info = model.info();
    if (!std::isfinite(m_conditioning.guidanceScale))
        throw Error(ErrorCode::InvalidArgument, "cfg: guidance scale must be finite");
    if (m_conditioning.classes.defined()) {
        if (!model.isConditional())
            throw Error(ErrorCode::InvalidArgument, "class: model '" + info.name + "' is unconditional");
        const auto classes = m_conditioning.classes.to(at::kCPU, at::kLong);
        const auto low = classes.min().item<int64_t>(), high = classes.max().item<int64_t>();
        if (low < 0 || high >= info.numClasses)
            throw Error(ErrorCode::InvalidArgument, "class: values must be in 0.." + std::to_string(info.numClasses - 1) +
                                                        " for model '" + info.name + "'");
        m_conditioning.classes = classes;
    }
}

at::Tensor GuidedDenoiser::toNoise(const at::Tensor& raw, const at::Tensor& x, double t) const {
    const auto values = m_model.schedule().float32Values(t);
    switch (m_model.info().predictionType) {
    case PredictionType::Epsilon: return raw;
    case PredictionType::VPrediction: return at::add(raw * values.alpha, x, values.sigma);
    case PredictionType::Sample: return at::sub(x, raw, values.alpha) / values.sigma;
    }
    return raw;
}

at::Tensor GuidedDenoiser::noise(const at::Tensor& x, double t) {
    if (m_cancel) m_cancel->throwIfCancelled();
    const int64_t batch = x.size(0);
    const auto options = x.options();
    const double modelTime = m_model.schedule().modelTime(t);
    const auto& info = m_model.info();
    at::Tensor result;
    const bool conditional = m_model.isConditional();
    const bool haveClasses = m_conditioning.classes.defined();
    const double w = m_conditioning.guidanceScale;
    if (haveClasses && m_conditioning.classes.size(0) != batch)
        throw Error(ErrorCode::InvalidArgument, "class: " + std::to_string(m_conditioning.classes.size(0)) +
                                                    " classes for a batch of " + std::to_string(batch));
    if (conditional && haveClasses && w != 1.0) {
        if (!m_guidedClasses.defined() || m_guidedClasses.size(0) != 2 * batch || m_guidedClasses.device() != x.device()) {
            auto nullClasses = at::full({batch}, info.nullClass, at::TensorOptions().dtype(at::kLong));
            m_guidedClasses = at::cat({nullClasses, m_conditioning.classes}).to(x.device());
        }
        const auto xx = at::cat({x, x});
        const auto tt = at::full({2 * batch}, modelTime, options.dtype(at::kFloat));
        const auto out = toNoise(m_model.forward(xx, tt, m_guidedClasses), xx, t);
        const auto unconditional = out.narrow(0, 0, batch);
        const auto conditionalOut = out.narrow(0, batch, batch);
        result = at::add(unconditional, conditionalOut - unconditional, w);
    } else {
        at::Tensor classes;
        if (conditional)
            classes = haveClasses ? m_conditioning.classes.to(x.device())
                                  : at::full({batch}, info.nullClass, at::TensorOptions().dtype(at::kLong).device(x.device()));
        const auto tt = at::full({batch}, modelTime, options.dtype(at::kFloat));
        result = toNoise(m_model.forward(x, tt, classes), x, t);
    }
    ++m_nfe;
    if (result.sizes() != x.sizes()) {
        std::ostringstream msg;
        msg << "model '" << info.name << "' returned shape " << result.sizes() << " for input " << x.sizes();
        throw Error(ErrorCode::BadModel, msg.str());
    }
    // One reduction instead of an elementwise mask: NaN and Inf both propagate into the sum.
    if (m_checkFinite && !std::isfinite(result.sum().item<double>())) {
        std::ostringstream msg;
        msg << "model '" << info.name << "' produced NaN/Inf at t = " << t << " (model call " << m_nfe << ")";
        throw Error(ErrorCode::NonFinite, msg.str());
    }
    return result;
}

void GuidedDenoiser::validateNoise(const at::Tensor& noise, const std::string& source) const {
    const auto& shape = m_model.info().sampleShape;
    std::ostringstream expected;
    expected << "[B, " << c10::IntArrayRef(shape) << "]";
    if (!noise.defined() || noise.dim() != static_cast<int64_t>(shape.size()) + 1 || noise.size(0) < 1 ||
        noise.sizes().slice(1) != c10::IntArrayRef(shape)) {
        std::ostringstream msg;
        msg << source << ": shape " << (noise.defined() ? noise.sizes() : c10::IntArrayRef{}) << " does not match the model's "
            << expected.str();
        throw Error(ErrorCode::InvalidArgument, msg.str());
    }
    if (!noise.is_floating_point()) throw Error(ErrorCode::InvalidArgument, source + ": must be floating point");
    if (!at::isfinite(noise).all().item<bool>()) throw Error(ErrorCode::NonFinite, source + ": contains NaN or Inf");
    if (m_conditioning.classes.defined() && m_conditioning.classes.size(0) != noise.size(0))
        throw Error(ErrorCode::InvalidArgument, "class: " + std::to_string(m_conditioning.classes.size(0)) +
                                                    " classes for " + std::to_string(noise.size(0)) + " samples");
}

at::Tensor GuidedDenoiser::dataPrediction(const at::Tensor& x, double t) {
    const auto values = m_model.schedule().float32Values(t);
    const auto e = noise(x, t);
    return linearCombination({{1.0 / values.alpha, &x}, {-values.sigma / values.alpha, &e}});
}

}  // namespace dcscope
