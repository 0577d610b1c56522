#include "dcscope/compensation.h"

#include <ATen/ATen.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/npy.h"

namespace dcscope {

std::vector<double> lagrangeWeights(const std::vector<double>& nodes, double x) {
    std::vector<double> weights(nodes.size(), 1.0);
    for (size_t a = 0; a < nodes.size(); ++a)
        for (size_t b = 0; b < nodes.size(); ++b)
            if (a != b) weights[a] *= (x - nodes[b]) / (nodes[a] - nodes[b]);
    return weights;
}

at::Tensor compensate(const std::vector<at::Tensor>& values, const std::vector<double>& times, double rho) {
    const double target = times[1] + rho * (times[0] - times[1]);
    const auto weights = lagrangeWeights(times, target);
    at::Tensor result = values[0] * weights[0];
    for (size_t a = 1; a < values.size(); ++a) result.add_(values[a], weights[a]);
    return result;
}

at::Tensor compensateDifferentiable(const std::vector<at::Tensor>& values, const std::vector<double>& times,
                                    const at::Tensor& rho) {
    const auto target = rho * (times[0] - times[1]) + times[1];
    at::Tensor result;
    for (size_t a = 0; a < values.size(); ++a) {
        at::Tensor weight = at::ones_like(target);
        for (size_t b = 0; b < values.size(); ++b)
            if (a != b) weight = weight * ((target - times[b]) / (times[a] - times[b]));
        const auto term = values[a] * weight.to(values[a].scalar_type());
        result = result.defined() ? result + term : term;
    }
    return result;
}

std::vector<double> loadRatios(const std::string& path) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(readFile(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::BadFile, path + ": malformed JSON (" + std::string(e.what()) + ")");
    }
    const nlohmann::json* list = &document;
    if (document.is_object()) {
        if (!document.contains("ratios")) throw Error(ErrorCode::BadFile, path + ": object has no 'ratios' field");
        list = &document["ratios"];
    }
    if (!list->is_array() || list->empty())
        throw Error(ErrorCode::BadFile, path + ": 'ratios' must be a non-empty list of numbers");
    std::vector<double> ratios;
    for (size_t i = 0; i < list->size(); ++i) {
        const auto& value = (*list)[i];
        if (!value.is_number()) throw Error(ErrorCode::BadFile, path + ": ratios[" + std::to_string(i) + "] is not a number");
        const double rho = value.get<double>();
        if (!std::isfinite(rho)) throw Error(ErrorCode::BadFile, path + ": ratios[" + std::to_string(i) + "] is not finite");
        ratios.push_back(rho);
    }
    return ratios;
}

void saveRatios(const std::string& path, const std::vector<double>& ratios, const nlohmann::json& metadata) {
    nlohmann::json document = metadata.is_object() ? metadata : nlohmann::json::object();
    document["ratios"] = ratios;
    writeFileAtomically(path, document.dump(2) + "\n");
}

}  // namespace dcscope
