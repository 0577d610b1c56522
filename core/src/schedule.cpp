#include "dcscope/schedule.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/npy.h"

namespace dcscope {
namespace {

// Linear interpolation through (xs[i], ys[i]) with xs increasing; extrapolates with the end segments.
double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
    const size_t n = xs.size();
    size_t segment;
    if (x <= xs.front()) {
        segment = 0;
    } else if (x >= xs.back()) {
        segment = n - 2;
    } else {
        segment = static_cast<size_t>(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin()) - 1;
    }
    const double x0 = xs[segment], x1 = xs[segment + 1];
    return ys[segment] + (x - x0) * (ys[segment + 1] - ys[segment]) / (x1 - x0);
}

}  // namespace

NoiseSchedule::NoiseSchedule(std::vector<double> betas) : m_betas(std::move(betas)) {
    if (m_betas.size() < 2) throw Error(ErrorCode::InvalidArgument, "noise schedule needs at least 2 betas");
    double cumulative = 0.0;
    m_knotLogAlpha.reserve(m_betas.size());
    for (size_t n = 0; n < m_betas.size(); ++n) {
        const double beta = m_betas[n];
        if (!(beta > 0.0 && beta < 1.0))
            throw Error(ErrorCode::InvalidArgument, "beta[" + std::to_string(n) + "] = " + std::to_string(beta) + " is outside (0, 1)");
        cumulative += 0.5 * std::log1p(-beta);
        m_knotLogAlpha.push_back(cumulative);
        m_negKnotLogAlpha.push_back(-cumulative);
        m_knotTimes.push_back(double(n + 1) / double(m_betas.size()));
        m_knotLogAlpha32.push_back(static_cast<float>(cumulative));
    }
    // torch.linspace(0, 1, N + 1)[1:] in float32, as the reference builds its knot times.
    const auto knotTimes = at::linspace(0.0, 1.0, static_cast<int64_t>(m_betas.size()) + 1, at::kFloat);
    const auto knotTimeValues = knotTimes.accessor<float, 1>();
    for (int64_t i = 1; i < knotTimes.size(0); ++i) m_knotTimes32.push_back(knotTimeValues[i]);
}

NoiseSchedule NoiseSchedule::fromName(const std::string& name, double betaStart, double betaEnd, int n) {
    if (n < 2) throw Error(ErrorCode::InvalidArgument, "num_train_timesteps must be >= 2, got " + std::to_string(n));
    std::vector<double> betas(static_cast<size_t>(n));
    if (name == "linear" || name == "scaled_linear") {
        if (!(betaStart > 0 && betaEnd > 0 && betaStart < 1 && betaEnd < 1))
            throw Error(ErrorCode::InvalidArgument, "beta_start/beta_end must be in (0, 1)");
        const bool scaled = name == "scaled_linear";
        const double a = scaled ? std::sqrt(betaStart) : betaStart;
        const double b = scaled ? std::sqrt(betaEnd) : betaEnd;
        for (int i = 0; i < n; ++i) {
            const double v = a + (b - a) * i / (n - 1);
            betas[size_t(i)] = scaled ? v * v : v;
        }
    } else if (name == "squaredcos_cap_v2") {
        const double pi = 3.14159265358979323846;
        auto alphaBar = [pi](double s) {
            const double c = std::cos((s + 0.008) / 1.008 * pi / 2);
            return c * c;
        };
        for (int i = 0; i < n; ++i)
            betas[size_t(i)] = std::min(1.0 - alphaBar(double(i + 1) / n) / alphaBar(double(i) / n), 0.999);
    } else {
        throw Error(ErrorCode::InvalidArgument,
                    "beta_schedule '" + name + "' is not one of linear, scaled_linear, squaredcos_cap_v2");
    }
    return NoiseSchedule(std::move(betas));
}

NoiseSchedule NoiseSchedule::fromConfig(const nlohmann::json& config, const std::string& source) {
    if (!config.is_object()) throw Error(ErrorCode::BadFile, source + ": scheduler config must be a JSON object");
    auto number = [&](const char* key, double fallback) {
        if (!config.contains(key)) return fallback;
        if (!config[key].is_number()) throw Error(ErrorCode::BadFile, source + ": field '" + key + "' must be a number");
        return config[key].get<double>();
    };
    const double steps = number("num_train_timesteps", 1000);
    if (steps != std::floor(steps) || steps < 2 || steps > 1e6)
        throw Error(ErrorCode::BadFile, source + ": field 'num_train_timesteps' must be an integer >= 2");
    if (config.contains("trained_betas") && config["trained_betas"].is_array() && !config["trained_betas"].empty()) {
        std::vector<double> betas;
        for (const auto& b : config["trained_betas"]) {
            if (!b.is_number()) throw Error(ErrorCode::BadFile, source + ": field 'trained_betas' must hold numbers");
            betas.push_back(b.get<double>());
        }
        try {
            return NoiseSchedule(std::move(betas));
        } catch (const Error& e) {
            throw Error(ErrorCode::BadFile, source + ": field 'trained_betas': " + e.what());
        }
    }
    std::string name = "linear";
    if (config.contains("beta_schedule")) {
        if (!config["beta_schedule"].is_string()) throw Error(ErrorCode::BadFile, source + ": field 'beta_schedule' must be a string");
        name = config["beta_schedule"].get<std::string>();
    }
    try {
        return fromName(name, number("beta_start", 0.0001), number("beta_end", 0.02), static_cast<int>(steps));
    } catch (const Error& e) {
        throw Error(ErrorCode::BadFile, source + ": " + e.what());
    }
}

NoiseSchedule NoiseSchedule::fromConfigFile(const std::string& path) {
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(readFile(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BadFile, path + ": malformed JSON (" + std::string(e.what()) + ")");
    }
    return fromConfig(config, path);
}

double NoiseSchedule::logAlpha(double t) const {
    const int n = numTrainTimesteps();
    // Knot t_i = (i+1)/N: locate the segment directly instead of searching.
    const double position = t * n - 1.0;  // fractional knot index
    const auto segment = static_cast<size_t>(std::clamp(std::floor(position), 0.0, double(n - 2)));
    const double fraction = position - double(segment);
    return m_knotLogAlpha[segment] + fraction * (m_knotLogAlpha[segment + 1] - m_knotLogAlpha[segment]);
}

double NoiseSchedule::alpha(double t) const { return std::exp(logAlpha(t)); }

double NoiseSchedule::sigma(double t) const { return std::sqrt(-std::expm1(2.0 * logAlpha(t))); }

double NoiseSchedule::lambda(double t) const {
    const double la = logAlpha(t);
    return la - 0.5 * std::log(-std::expm1(2.0 * la));
}

double NoiseSchedule::inverseLambda(double lambda) const {
    // log_alpha = -0.5 * logaddexp(0, -2 lambda), computed stably for either sign.
    const double x = -2.0 * lambda;
    const double logAddExp = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    const double la = -0.5 * logAddExp;
    // Invert the decreasing map n -> l_n: interpolate t over increasing -l.
    return interpolate(m_negKnotLogAlpha, m_knotTimes, -la);
}

double NoiseSchedule::modelTime(double t) const { return (t - tMin()) * numTrainTimesteps(); }

TimeGrid parseTimeGrid(const std::string& name) {
    if (name == "time_uniform") return TimeGrid::TimeUniform;
    if (name == "logSNR") return TimeGrid::LogSnr;
    if (name == "time_quadratic") return TimeGrid::TimeQuadratic;
    throw Error(ErrorCode::InvalidArgument, "time grid '" + name + "' is not one of time_uniform, logSNR, time_quadratic");
}

std::string toString(TimeGrid grid) {
    switch (grid) {
    case TimeGrid::TimeUniform: return "time_uniform";
    case TimeGrid::LogSnr: return "logSNR";
    case TimeGrid::TimeQuadratic: return "time_quadratic";
    }
    return "?";
}

float NoiseSchedule::logAlphaFloat32(float t) const {
    const auto& xs = m_knotTimes32;
    const auto& ys = m_knotLogAlpha32;
    const size_t n = xs.size();
    size_t segment;
    if (t <= xs.front()) segment = 0;
    else if (t >= xs.back()) segment = n - 2;
    else segment = static_cast<size_t>(std::upper_bound(xs.begin(), xs.end(), t) - xs.begin()) - 1;
    return ys[segment] + (t - xs[segment]) * (ys[segment + 1] - ys[segment]) / (xs[segment + 1] - xs[segment]);
}

NoiseSchedule::Float32Values NoiseSchedule::float32Values(double t) const {
    const float la = logAlphaFloat32(static_cast<float>(t));
    const float oneMinusAlpha2 = 1.0f - std::exp(2.0f * la);
    return {std::exp(la), std::sqrt(oneMinusAlpha2), la - 0.5f * std::log(oneMinusAlpha2)};
}

float NoiseSchedule::inverseLambdaFloat32(float lambda) const {
    const float x = -2.0f * lambda;
    const float la = -0.5f * (std::max(x, 0.0f) + std::log1p(std::exp(-std::abs(x))));
    // Interpolate t over -log_alpha, which increases with n.
    const size_t n = m_knotLogAlpha32.size();
    const float target = -la;
    size_t segment;
    if (target <= -m_knotLogAlpha32.front()) segment = 0;
    else if (target >= -m_knotLogAlpha32.back()) segment = n - 2;
    else {
        segment = 0;
        size_t low = 0, high = n - 1;  // -knot[low] <= target < -knot[high]
        while (high - low > 1) {
            const size_t mid = (low + high) / 2;
            if (-m_knotLogAlpha32[mid] <= target) low = mid; else high = mid;
        }
        segment = low;
    }
    const float x0 = m_knotLogAlpha32[segment], x1 = m_knotLogAlpha32[segment + 1];
    const float y0 = m_knotTimes32[segment], y1 = m_knotTimes32[segment + 1];
    return y0 + (la - x0) * (y1 - y0) / (x1 - x0);
}

std::vector<double> makeTimeGrid(const NoiseSchedule& schedule, TimeGrid grid, int steps) {
    if (steps < 1) throw Error(ErrorCode::InvalidArgument, "nfe (steps) must be >= 1, got " + std::to_string(steps));
    // The reference builds its grids in float32 tensor arithmetic. Grid times feed every later
    // coefficient, so the same arithmetic is used here to land on the very same times.
    const float tStart = 1.0f, tEnd = 1.0f / float(schedule.numTrainTimesteps());
    at::Tensor grid32;
    switch (grid) {
    case TimeGrid::TimeUniform: grid32 = at::linspace(tStart, tEnd, steps + 1, at::kFloat); break;
    case TimeGrid::TimeQuadratic: grid32 = at::linspace(std::sqrt(tStart), std::sqrt(tEnd), steps + 1, at::kFloat).pow(2); break;
    case TimeGrid::LogSnr: {
        const float lambdaStart = static_cast<float>(schedule.float32Values(tStart).lambda);
        const float lambdaEnd = static_cast<float>(schedule.float32Values(tEnd).lambda);
        grid32 = at::linspace(lambdaStart, lambdaEnd, steps + 1, at::kFloat);
        auto values = grid32.accessor<float, 1>();
        for (int i = 0; i <= steps; ++i) values[i] = schedule.inverseLambdaFloat32(values[i]);
        break;
    }
    }
    std::vector<double> times(size_t(steps) + 1);
    const auto values = grid32.accessor<float, 1>();
    for (int i = 0; i <= steps; ++i) times[size_t(i)] = values[i];
    return times;
}

}  // namespace dcscope
