#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

namespace dcscope {

/// A plane through the data: the mean of a set of states and its two principal directions
/// (orthonormal, the largest variance first), for drawing high-dimensional trajectories in 2-D.
struct PrincipalPlane {
    at::Tensor mean;  ///< [D] float64
    at::Tensor axes;  ///< [2, D] float64, orthonormal rows
};

/// The principal plane of all samples of all `states` (each [B, ...] with the same trailing
/// shape; D = the product of the trailing sizes), computed in float64 from their covariance.
/// With D = 1 the second axis is zero. Throws Error(InvalidArgument) for no states or mismatched
/// shapes. Any thread.
PrincipalPlane principalPlane(const std::vector<at::Tensor>& states);

/// `x` ([B, ...], D values per sample) in the plane's coordinates: [B, 2] float64.
at::Tensor projectOnto(const PrincipalPlane& plane, const at::Tensor& x);

}  // namespace dcscope
