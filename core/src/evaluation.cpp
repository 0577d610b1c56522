#include "dcscope/evaluation.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <limits>
#include <map>

#include "dcscope/errors.h"

namespace dcscope {

double studentT975(int degreesOfFreedom) {
    if (degreesOfFreedom < 1) throw Error(ErrorCode::InvalidArgument, "t quantile: degrees of freedom must be >= 1");
    static const double kTable[] = {12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600, 2.26216, 2.22814,
                                    2.20099, 2.17881, 2.16037, 2.14479, 2.13145, 2.11991, 2.10982, 2.10092, 2.09302, 2.08596,
                                    2.07961, 2.07387, 2.06866, 2.06390, 2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227};
    if (degreesOfFreedom <= 30) return kTable[degreesOfFreedom - 1];
    // Cornish-Fisher expansion around the normal quantile; below 1e-5 relative error for df > 30.
    const double z = 1.959963984540054, n = degreesOfFreedom;
    const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

MeanInterval meanWithInterval(const std::vector<double>& values) {
    if (values.empty()) throw Error(ErrorCode::InvalidArgument, "evaluation: no datapoints");
    MeanInterval result;
    result.count = static_cast<int>(values.size());
    double sum = 0.0;
    for (double v : values) sum += v;
    result.mean = sum / result.count;
    if (result.count == 1) {
        result.lower = result.upper = result.mean;
        return result;
    }
    double squares = 0.0;
    for (double v : values) squares += (v - result.mean) * (v - result.mean);
    result.standardDeviation = std::sqrt(squares / (result.count - 1));
    const double half = studentT975(result.count - 1) * result.standardDeviation / std::sqrt(double(result.count));
    result.lower = result.mean - half;
    result.upper = result.mean + half;
    return result;
}

RatioInterval ratioOfMeansInterval(const std::vector<double>& numerator, const std::vector<double>& denominator, int resamples,
                                   uint64_t seed) {
    if (numerator.empty() || numerator.size() != denominator.size())
        throw Error(ErrorCode::InvalidArgument, "ratio interval: need two non-empty samples of equal size");
    if (resamples < 1) throw Error(ErrorCode::InvalidArgument, "ratio interval: resamples must be >= 1");
    const auto ratio = [](double top, double bottom) {
        return bottom > 0.0 ? top / bottom : std::numeric_limits<double>::infinity();
    };
    double top = 0.0, bottom = 0.0;
    for (size_t i = 0; i < numerator.size(); ++i) {
        top += numerator[i];
        bottom += denominator[i];
    }
    if (!(bottom > 0.0)) throw Error(ErrorCode::InvalidArgument, "ratio interval: the denominator's sum must be positive");
    RatioInterval result;
    result.ratio = top / bottom;
    std::mt19937_64 generator(seed);
    std::uniform_int_distribution<size_t> pick(0, numerator.size() - 1);
    std::vector<double> draws(static_cast<size_t>(resamples));
    for (double& draw : draws) {
        double resampledTop = 0.0, resampledBottom = 0.0;
        for (size_t i = 0; i < numerator.size(); ++i) {
            const size_t j = pick(generator);
            resampledTop += numerator[j];
            resampledBottom += denominator[j];
        }
        draw = ratio(resampledTop, resampledBottom);
    }
    std::sort(draws.begin(), draws.end());
    // Percentile interval: the 2.5% and 97.5% order statistics (linear interpolation).
    const auto quantile = [&](double q) {
        const double position = q * double(draws.size() - 1);
        const size_t below = size_t(std::floor(position));
        const size_t above = std::min(below + 1, draws.size() - 1);
        return draws[below] + (position - double(below)) * (draws[above] - draws[below]);
    };
    result.lower = quantile(0.025);
    result.upper = quantile(0.975);
    return result;
}

double worseGroundTruthError(double a, double b) {
    // std::max would drop a NaN depending on the argument order.
    return std::isnan(a) || std::isnan(b) ? std::numeric_limits<double>::quiet_NaN() : std::max(a, b);
}

bool groundTruthTooCoarse(double groundTruthErrorRms, double smallestMse) {
    if (std::isnan(groundTruthErrorRms)) return true;
    return !(groundTruthErrorRms < 0.1 * std::sqrt(std::max(0.0, smallestMse)));
}

std::vector<double> perDatapointSquaredError(const at::Tensor& x, const at::Tensor& reference) {
    const at::Tensor squared = (x.detach().to(at::kDouble) - reference.to(x.device(), at::kDouble)).pow(2);
    const at::Tensor perDatapoint = squared.reshape({squared.size(0), -1}).mean(1).to(at::kCPU).contiguous();
    return {perDatapoint.data_ptr<double>(), perDatapoint.data_ptr<double>() + perDatapoint.numel()};
}

HeldOutEvaluation evaluateHeldOut(GuidedDenoiser& denoiser, const at::Tensor& noise, const std::vector<EvaluationEntry>& entries,
                                  const GroundTruthOptions& groundTruthOptions) {
    at::NoGradGuard noGrad;
    HeldOutEvaluation result;
    result.groundTruthError = 0.0;
    result.groundTruthErrorRms = 0.0;
    // Entries with the same grid share one ground truth (the final GT state depends on the grid
    // only through where the fine steps are placed).
    std::map<std::vector<double>, at::Tensor> finals;
    for (const auto& entry : entries) {
        const MultistepSampler sampler(denoiser.model().schedule(), entry.config);
        auto found = finals.find(sampler.times());
        if (found == finals.end()) {
            const GroundTruth truth = computeGroundTruth(denoiser, noise, sampler.times(), groundTruthOptions);
            result.groundTruthEvaluations += truth.modelEvaluations;
            result.groundTruthError = worseGroundTruthError(result.groundTruthError, truth.error);
            result.groundTruthErrorRms = worseGroundTruthError(result.groundTruthErrorRms, truth.errorRms);
            found = finals.emplace(sampler.times(), truth.finalState()).first;
        }
        const int nfeBefore = denoiser.nfe();
        const at::Tensor final = sampler.run(denoiser, noise);
        EvaluationRow row;
        row.name = entry.name;
        row.config = entry.config;
        row.modelEvaluations = denoiser.nfe() - nfeBefore;
        row.perDatapoint = perDatapointSquaredError(final, found->second);
        row.mse = meanWithInterval(row.perDatapoint);
        result.rows.push_back(std::move(row));
    }
    return result;
}

}  // namespace dcscope
