#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace dcscope {

/// One term of a linear combination.
struct WeightedTensor {
    double weight;
    const at::Tensor* tensor;
};

/// sum_j weight_j * tensor_j as a new tensor. The sampler's updates are all of this form, and on
/// large latents they are memory-bound: on contiguous CPU float tensors without autograd this
/// runs as ONE fused pass (each input read once, the output written once) instead of a chain of
/// torch ops that re-reads the growing result per term. Elsewhere (CUDA, autograd, mixed
/// dtypes) it falls back to torch ops with the same meaning. Terms with weight 0 are skipped.
at::Tensor linearCombination(const std::vector<WeightedTensor>& terms);

}  // namespace dcscope
