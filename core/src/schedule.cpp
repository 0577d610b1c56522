#include "dcscope/schedule.h"

#include <algorithm>
#include <cmath>

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
    }
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

std::vector<double> makeTimeGrid(const NoiseSchedule& schedule, TimeGrid grid, int steps) {
    if (steps < 1) throw Error(ErrorCode::InvalidArgument, "nfe (steps) must be >= 1, got " + std::to_string(steps));
    const double tStart = 1.0, tEnd = schedule.tMin();
    std::vector<double> times(size_t(steps) + 1);
    for (int i = 0; i <= steps; ++i) {
        const double u = double(i) / steps;
        switch (grid) {
        case TimeGrid::TimeUniform: times[size_t(i)] = tStart + (tEnd - tStart) * u; break;
        case TimeGrid::TimeQuadratic: {
            const double s = std::sqrt(tStart) + (std::sqrt(tEnd) - std::sqrt(tStart)) * u;
            times[size_t(i)] = s * s;
            break;
        }
        case TimeGrid::LogSnr: {
            const double l0 = schedule.lambda(tStart), l1 = schedule.lambda(tEnd);
            times[size_t(i)] = schedule.inverseLambda(l0 + (l1 - l0) * u);
            break;
        }
        }
    }
    // Pin the ends exactly: the solver's first and last times are 1 and 1/N by definition.
    times.front() = tStart;
    times.back() = tEnd;
    return times;
}

}  // namespace dcscope
