#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dcscope {

/// Variance-preserving noise schedule of a discrete-time model (spec section 1), evaluated in
/// double precision. Continuous time t runs over [1/N, 1]; log-alpha is piecewise linear between
/// the knots t_n = (n+1)/N and extended linearly beyond them. Immutable and thread-safe.
class NoiseSchedule {
public:
    /// From explicit betas (each in (0, 1)). Throws Error(InvalidArgument) otherwise.
    explicit NoiseSchedule(std::vector<double> betas);

    /// `linear`, `scaled_linear` or `squaredcos_cap_v2` with N training steps.
    static NoiseSchedule fromName(const std::string& betaSchedule, double betaStart, double betaEnd, int numTrainTimesteps);
    /// From a diffusers scheduler config object; `source` names the file/field in errors.
    static NoiseSchedule fromConfig(const nlohmann::json& config, const std::string& source);
    /// Reads a diffusers `scheduler_config.json`.
    static NoiseSchedule fromConfigFile(const std::string& path);

    int numTrainTimesteps() const { return static_cast<int>(m_betas.size()); }
    const std::vector<double>& betas() const { return m_betas; }
    double tMin() const { return 1.0 / numTrainTimesteps(); }

    double logAlpha(double t) const;
    double alpha(double t) const;
    double sigma(double t) const;
    /// Half log-SNR: log(alpha) - log(sigma).
    double lambda(double t) const;
    /// Continuous time for a half log-SNR (inverse of lambda()).
    double inverseLambda(double lambda) const;
    /// The network's time input for continuous t: (t - 1/N) * N.
    double modelTime(double t) const;

    /// alpha, sigma and lambda at t evaluated in float32 arithmetic exactly as the reference
    /// implementation does (float32 knots and interpolation, lambda = la - 0.5 log(1 - e^{2 la})).
    /// The solvers use these so results match the reference to float32 rounding; near t = 1/N
    /// float32 lambda differs from the exact one by ~1e-4, which the double functions above avoid.
    struct Float32Values {
        double alpha, sigma, lambda;
    };
    Float32Values float32Values(double t) const;
    /// float32 log-alpha (the reference's interpolate_fn).
    float logAlphaFloat32(float t) const;
    /// float32 inverse of lambda (the reference's inverse_lambda).
    float inverseLambdaFloat32(float lambda) const;

private:
    std::vector<double> m_betas;
    std::vector<double> m_knotLogAlpha;     // l_n, strictly decreasing in n
    std::vector<double> m_negKnotLogAlpha;  // -l_n, increasing: the inverse map's abscissae
    std::vector<double> m_knotTimes;        // t_n = (n+1)/N
    std::vector<float> m_knotLogAlpha32;    // float32 copies for the reference arithmetic
    std::vector<float> m_knotTimes32;
};

/// How the S+1 sampling times are spaced (spec section 3).
enum class TimeGrid { TimeUniform, LogSnr, TimeQuadratic };

TimeGrid parseTimeGrid(const std::string& name);
std::string toString(TimeGrid grid);

/// S+1 times from t_0 = 1 down to t_S = 1/N. Throws Error(InvalidArgument) for steps < 1.
std::vector<double> makeTimeGrid(const NoiseSchedule& schedule, TimeGrid grid, int steps);

}  // namespace dcscope
