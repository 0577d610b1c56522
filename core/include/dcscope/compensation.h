#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

namespace dcscope {

/// Lagrange basis weights at `x` for the nodes (distinct). sum_a w_a * p(node_a) == p(x) for
/// every polynomial p of degree < nodes.size().
std::vector<double> lagrangeWeights(const std::vector<double>& nodes, double x);

/// Dynamic compensation (spec section 5): given the newest K+1 outputs `values` at times `times`
/// (newest first: t_k, t_{k-1}, ..., t_{k-K}), returns the Lagrange interpolant evaluated at
/// t' = t_{k-1} + rho (t_k - t_{k-1}). Interpolation is in t.
at::Tensor compensate(const std::vector<at::Tensor>& values, const std::vector<double>& times, double rho);
/// Same with rho as a 0-dim tensor, differentiable with respect to rho.
at::Tensor compensateDifferentiable(const std::vector<at::Tensor>& values, const std::vector<double>& times,
                                    const at::Tensor& rho);

/// Reads ratios from a JSON list or an object with a "ratios" list. Throws Error(BadFile) naming
/// the file and entry for malformed JSON or non-finite values.
std::vector<double> loadRatios(const std::string& path);
/// The same from the file's text in memory; `source` names the file in errors. Any thread.
std::vector<double> parseRatios(const std::string& text, const std::string& source);
/// Writes {"ratios": [...], <metadata>} atomically.
void saveRatios(const std::string& path, const std::vector<double>& ratios, const nlohmann::json& metadata);

}  // namespace dcscope
