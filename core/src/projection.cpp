#include "dcscope/projection.h"

#include <ATen/ATen.h>

#include "dcscope/errors.h"

namespace dcscope {
namespace {

at::Tensor flat(const at::Tensor& x) { return x.detach().to(at::kCPU, at::kDouble).reshape({x.size(0), -1}); }

}  // namespace

PrincipalPlane principalPlane(const std::vector<at::Tensor>& states) {
    if (states.empty()) throw Error(ErrorCode::InvalidArgument, "projection: no states");
    std::vector<at::Tensor> rows;
    for (const at::Tensor& state : states) {
        if (state.dim() < 2 || state.numel() / state.size(0) != states.front().numel() / states.front().size(0))
            throw Error(ErrorCode::InvalidArgument, "projection: states of different shapes");
        rows.push_back(flat(state));
    }
    const at::Tensor data = at::cat(rows);  // [N, D]
    PrincipalPlane plane;
    plane.mean = data.mean(0);
    const at::Tensor centred = data - plane.mean;
    const int64_t dimension = data.size(1);
    // Symmetric eigen-decomposition of the D x D covariance: eigenvalues come in ascending order.
    const at::Tensor covariance = centred.t().matmul(centred) / std::max<int64_t>(1, data.size(0) - 1);
    const auto [values, vectors] = at::linalg_eigh(covariance);
    at::Tensor axes = at::zeros({2, dimension}, data.options());
    axes[0] = vectors.select(1, dimension - 1);
    if (dimension > 1) axes[1] = vectors.select(1, dimension - 2);
    // A fixed sign (the largest component positive), so the picture does not flip between runs.
    for (int64_t a = 0; a < 2; ++a) {
        const at::Tensor row = axes[a];
        if (row.abs().max().item<double>() > 0 && row[row.abs().argmax()].item<double>() < 0) axes[a] = -row;
    }
    plane.axes = axes;
    return plane;
}

at::Tensor projectOnto(const PrincipalPlane& plane, const at::Tensor& x) {
    const at::Tensor rows = flat(x);
    if (rows.size(1) != plane.mean.size(0))
        throw Error(ErrorCode::InvalidArgument, "projection: a state of " + std::to_string(rows.size(1)) +
                                                    " values on a plane of " + std::to_string(plane.mean.size(0)));
    return (rows - plane.mean).matmul(plane.axes.t());
}

}  // namespace dcscope
