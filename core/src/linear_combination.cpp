#include "linear_combination.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace dcscope {
namespace {

// Fixed term counts let the compiler unroll the inner loop and vectorise over elements.
template <typename T, int N>
void fusedLoop(T* __restrict out, const T* const* inputs, const T* weights, int64_t begin, int64_t end) {
    T w[N];
    const T* __restrict p[N];
    for (int j = 0; j < N; ++j) {
        w[j] = weights[j];
        p[j] = inputs[j];
    }
    for (int64_t i = begin; i < end; ++i) {
        T acc = w[0] * p[0][i];
        for (int j = 1; j < N; ++j) acc += w[j] * p[j][i];
        out[i] = acc;
    }
}

template <typename T>
void fusedCombination(T* out, const std::vector<const T*>& inputs, const std::vector<T>& weights, int64_t count) {
    constexpr int64_t kGrain = 32768;  // below this, threading costs more than it saves
    at::parallel_for(0, count, kGrain, [&](int64_t begin, int64_t end) {
        switch (inputs.size()) {
        case 1: fusedLoop<T, 1>(out, inputs.data(), weights.data(), begin, end); break;
        case 2: fusedLoop<T, 2>(out, inputs.data(), weights.data(), begin, end); break;
        case 3: fusedLoop<T, 3>(out, inputs.data(), weights.data(), begin, end); break;
        case 4: fusedLoop<T, 4>(out, inputs.data(), weights.data(), begin, end); break;
        case 5: fusedLoop<T, 5>(out, inputs.data(), weights.data(), begin, end); break;
        case 6: fusedLoop<T, 6>(out, inputs.data(), weights.data(), begin, end); break;
        default:
            for (int64_t i = begin; i < end; ++i) {
                T acc = 0;
                for (size_t j = 0; j < inputs.size(); ++j) acc += weights[j] * inputs[j][i];
                out[i] = acc;
            }
        }
    });
}

bool canFuse(const std::vector<WeightedTensor>& terms) {
    const at::Tensor& first = *terms.front().tensor;
    if (!first.device().is_cpu() || !(first.scalar_type() == at::kFloat || first.scalar_type() == at::kDouble)) return false;
    const bool tracking = at::GradMode::is_enabled();
    for (const auto& term : terms) {
        const at::Tensor& t = *term.tensor;
        if (!t.device().is_cpu() || t.scalar_type() != first.scalar_type() || !t.is_contiguous() || t.sizes() != first.sizes())
            return false;
        if (tracking && t.requires_grad()) return false;
    }
    return true;
}

template <typename T>
at::Tensor fused(const std::vector<WeightedTensor>& terms) {
    at::Tensor out = at::empty_like(*terms.front().tensor, at::MemoryFormat::Contiguous);
    std::vector<const T*> inputs;
    std::vector<T> weights;
    for (const auto& term : terms) {
        inputs.push_back(term.tensor->data_ptr<T>());
        weights.push_back(static_cast<T>(term.weight));
    }
    fusedCombination<T>(out.data_ptr<T>(), inputs, weights, out.numel());
    return out;
}

}  // namespace

at::Tensor linearCombination(const std::vector<WeightedTensor>& allTerms) {
    std::vector<WeightedTensor> terms;
    for (const auto& term : allTerms)
        if (term.weight != 0.0) terms.push_back(term);
    if (terms.empty()) return at::zeros_like(*allTerms.front().tensor);
    if (canFuse(terms))
        return terms.front().tensor->scalar_type() == at::kFloat ? fused<float>(terms) : fused<double>(terms);
    at::Tensor result = at::mul(*terms.front().tensor, terms.front().weight);
    for (size_t j = 1; j < terms.size(); ++j) result = at::add(result, *terms[j].tensor, terms[j].weight);
    return result;
}

}  // namespace dcscope
