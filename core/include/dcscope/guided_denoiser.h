#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "dcscope/cancel.h"
#include "dcscope/model.h"

namespace dcscope {

/// Conditioning of one batch: per-sample classes (int64 [B]) or undefined for unconditional
/// sampling, and the classifier-free guidance scale w.
struct Conditioning {
    at::Tensor classes;
    double guidanceScale = 1.0;
};

/// Turns a raw network into the noise / data predictions the solvers use, with classifier-free
/// guidance as ONE batched network call (spec section 2). Counts model calls (NFE), checks the
/// cancel token before each call and rejects non-finite outputs. Used by one thread at a time.
class GuidedDenoiser {
public:
    /// `cancel` may be null. Throws Error(InvalidArgument) on classes out of range.
    GuidedDenoiser(DiffusionModel& model, Conditioning conditioning, const CancelToken* cancel = nullptr);

    DiffusionModel& model() const { return m_model; }
    const Conditioning& conditioning() const { return m_conditioning; }
    /// Noise prediction e(x, t) for continuous time t; one NFE.
    at::Tensor noise(const at::Tensor& x, double t);
    /// Data prediction x0 = (x - sigma_t e) / alpha_t; one NFE.
    at::Tensor dataPrediction(const at::Tensor& x, double t);
    int nfe() const { return m_nfe; }
    /// Checks a start noise: floating point, shape [B, sampleShape...], B >= 1, all finite, and
    /// one class per sample when classes are given. Throws Error(InvalidArgument) naming `source`.
    void validateNoise(const at::Tensor& noise, const std::string& source = "noise") const;
    void resetNfe() { m_nfe = 0; }
    /// When false, outputs are not scanned for NaN/Inf (the search checks its loss instead).
    void setCheckFinite(bool check) { m_checkFinite = check; }
    bool checksFinite() const { return m_checkFinite; }

private:
    at::Tensor toNoise(const at::Tensor& raw, const at::Tensor& x, double t) const;
    DiffusionModel& m_model;
    Conditioning m_conditioning;
    const CancelToken* m_cancel;
    int m_nfe = 0;
    bool m_checkFinite = true;
    at::Tensor m_guidedClasses;  // [null; cond] cached per batch size
};

}  // namespace dcscope
