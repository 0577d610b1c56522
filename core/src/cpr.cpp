#include "dcscope/cpr.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <sstream>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/npy.h"

namespace dcscope {
namespace {

constexpr int kFirstFittedStep = 3;  // 1-based: rho_1 = rho_2 = 1 by definition

std::string formatNumber(double value) {
    std::ostringstream text;
    text << value;
    return text.str();
}

std::string listValues(const std::set<double>& values) {
    std::string text;
    for (double v : values) text += (text.empty() ? "" : ", ") + formatNumber(v);
    return text.empty() ? "none" : text;
}

}  // namespace

CprCoefficients loadCprCoefficients(const std::string& path) { return parseCprCoefficients(readFile(path), path); }

CprCoefficients parseCprCoefficients(const std::string& bytes, const std::string& source) {
    const at::Tensor tensor = parseNpy(bytes, source);
    if (!tensor.is_floating_point()) throw Error(ErrorCode::BadFile, source + ": CPR coefficients must be float64 (or float32)");
    if (tensor.numel() != 36)
        throw Error(ErrorCode::BadFile, source + ": has " + std::to_string(tensor.numel()) + " values, CPR needs 36 (index m*9 + j*3 + l)");
    const at::Tensor flat = tensor.to(at::kDouble).reshape({36}).contiguous();
    CprCoefficients coefficients{};
    for (int i = 0; i < 36; ++i) {
        coefficients[size_t(i)] = flat.data_ptr<double>()[i];
        if (!std::isfinite(coefficients[size_t(i)]))
            throw Error(ErrorCode::BadFile, source + ": coefficient " + std::to_string(i) + " is not finite");
    }
    return coefficients;
}

void saveCprCoefficients(const std::string& path, const CprCoefficients& coefficients) {
    at::Tensor tensor = at::empty({36}, at::kDouble);
    for (int i = 0; i < 36; ++i) tensor.data_ptr<double>()[i] = coefficients[size_t(i)];
    saveNpy(path, tensor);
}

std::array<double, 36> cprFeatures(double guidance, int steps, int k) {
    const double g = guidance / 12.0, n = steps / 50.0, x = double(k) / steps;
    const double gPowers[3] = {g * g, g, 1.0}, nPowers[3] = {n * n, n, 1.0};
    std::array<double, 36> features{};
    double xPower = 1.0;
    for (int m = 0; m < 4; ++m, xPower *= x)
        for (int j = 0; j < 3; ++j)
            for (int l = 0; l < 3; ++l) features[size_t(m * 9 + j * 3 + l)] = xPower * gPowers[j] * nPowers[l];
    return features;
}

std::vector<double> predictCprRatios(const CprCoefficients& coefficients, double guidance, int steps) {
    if (steps < 1) throw Error(ErrorCode::InvalidArgument, "nfe: must be >= 1, got " + std::to_string(steps));
    if (!std::isfinite(guidance)) throw Error(ErrorCode::InvalidArgument, "cfg: guidance scale must be finite");
    std::vector<double> ratios(size_t(steps), 1.0);
    for (int k = kFirstFittedStep; k <= steps; ++k) {
        const auto features = cprFeatures(guidance, steps, k);
        double rho = 0.0;
        for (size_t i = 0; i < 36; ++i) rho += features[i] * coefficients[i];
        if (!std::isfinite(rho))
            throw Error(ErrorCode::NonFinite, "cpr: predicted rho_" + std::to_string(k - 1) + " is not finite");
        ratios[size_t(k) - 1] = rho;
    }
    return ratios;
}

CprSample loadCprSample(const std::string& path) { return parseCprSample(readFile(path), path); }

CprSample parseCprSample(const std::string& text, const std::string& source) {
    CprSample sample;
    sample.source = source;
    sample.ratios = parseRatios(text, source);  // validates the list and names bad entries
    const auto document = nlohmann::json::parse(text);
    if (!document.is_object() || !document.contains("cfg"))
        throw Error(ErrorCode::BadFile, source + ": no 'cfg' (CPR fitting needs ratio files with metadata, as written by search)");
    if (!document["cfg"].is_number()) throw Error(ErrorCode::BadFile, source + ": 'cfg' is not a number");
    sample.guidance = document["cfg"].get<double>();
    if (!std::isfinite(sample.guidance)) throw Error(ErrorCode::BadFile, source + ": 'cfg' is not finite");
    if (document.contains("nfe")) {
        if (!document["nfe"].is_number_integer() || document["nfe"].get<long long>() != static_cast<long long>(sample.ratios.size()))
            throw Error(ErrorCode::BadFile, source + ": 'nfe' does not match its " + std::to_string(sample.ratios.size()) + " ratios");
    }
    return sample;
}

CprFit fitCpr(const std::vector<CprSample>& samples) {
    std::set<double> guidances, stepCounts;
    std::vector<std::array<double, 36>> rows;
    std::vector<double> targets;
    for (const auto& sample : samples) {
        const int steps = static_cast<int>(sample.ratios.size());
        if (!std::isfinite(sample.guidance)) throw Error(ErrorCode::InvalidArgument, sample.source + ": guidance is not finite");
        for (size_t i = 0; i < sample.ratios.size(); ++i)
            if (!std::isfinite(sample.ratios[i]))
                throw Error(ErrorCode::InvalidArgument, sample.source + ": ratios[" + std::to_string(i) + "] is not finite");
        if (steps < kFirstFittedStep) continue;  // only rho_1 = rho_2 = 1: no equation
        guidances.insert(sample.guidance);
        stepCounts.insert(steps);
        for (int k = kFirstFittedStep; k <= steps; ++k) {
            rows.push_back(cprFeatures(sample.guidance, steps, k));
            targets.push_back(sample.ratios[size_t(k) - 1]);
        }
    }
    auto refuse = [](const std::string& what) {
        throw Error(ErrorCode::InvalidArgument, "cpr fit: the grid cannot determine the 36 coefficients: " + what);
    };
    if (guidances.size() < 3)
        refuse("need at least 3 distinct guidance values, have " + std::to_string(guidances.size()) + " (" + listValues(guidances) + ")");
    if (stepCounts.size() < 3)
        refuse("need at least 3 distinct step counts (nfe >= 3), have " + std::to_string(stepCounts.size()) + " (" +
               listValues(stepCounts) + ")");
    if (rows.size() < 36)
        refuse("need at least 36 equations (one per step k = 3..S of every file), have " + std::to_string(rows.size()));

    const int64_t count = static_cast<int64_t>(rows.size());
    at::Tensor design = at::empty({count, 36}, at::kDouble);
    at::Tensor target = at::empty({count, 1}, at::kDouble);
    for (int64_t r = 0; r < count; ++r) {
        for (int64_t c = 0; c < 36; ++c) design.data_ptr<double>()[r * 36 + c] = rows[size_t(r)][size_t(c)];
        target.data_ptr<double>()[r] = targets[size_t(r)];
    }
    // Unit-norm columns: the monomials span orders of magnitude (n^2 x^3 g^2 vs 1), and scaling
    // removes that part of the conditioning before the rank decision.
    const at::Tensor norms = design.pow(2).sum(0).sqrt();
    const at::Tensor scaled = design / norms;
    const at::Tensor singular = at::linalg_svdvals(scaled);
    const double largest = singular.max().item<double>(), smallest = singular.min().item<double>();
    const double threshold = largest * 1e-12 * double(count);
    const int64_t rank = (singular > threshold).sum().item<int64_t>();
    if (rank < 36)
        refuse("the design matrix has rank " + std::to_string(rank) + " < 36 (use more distinct guidance values and step "
               "counts, with several steps nfe >= 6 so each configuration has 4 or more distinct k/S)");
    const at::Tensor solution = std::get<0>(at::linalg_lstsq(scaled, target, c10::nullopt, c10::string_view("gelsd")));
    const at::Tensor coefficients = (solution.view({36}) / norms).contiguous();

    CprFit fit;
    for (int i = 0; i < 36; ++i) fit.coefficients[size_t(i)] = coefficients.data_ptr<double>()[i];
    fit.equations = static_cast<int>(count);
    fit.conditionNumber = largest / smallest;
    for (const auto& sample : samples) {
        CprResidual residual;
        residual.source = sample.source;
        residual.guidance = sample.guidance;
        residual.steps = static_cast<int>(sample.ratios.size());
        const auto predicted = predictCprRatios(fit.coefficients, sample.guidance, residual.steps);
        int terms = 0;
        double squares = 0.0;
        for (int k = kFirstFittedStep; k <= residual.steps; ++k) {
            const double difference = predicted[size_t(k) - 1] - sample.ratios[size_t(k) - 1];
            squares += difference * difference;
            residual.maxAbs = std::max(residual.maxAbs, std::abs(difference));
            ++terms;
        }
        residual.rms = terms > 0 ? std::sqrt(squares / terms) : 0.0;
        fit.residuals.push_back(residual);
    }
    return fit;
}

}  // namespace dcscope
