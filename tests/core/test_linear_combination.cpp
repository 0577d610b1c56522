// The sampler's linear combinations: the fused single-pass CPU path against the torch-op
// fallback and against a double-precision reference.
#include <ATen/ATen.h>

#include <limits>
#include <vector>

#include "../../core/src/linear_combination.h"
#include "support/test_support.h"

using dcscope::linearCombination;
using dcscope::WeightedTensor;

namespace {

// sum_j w_j x_j in double, the reference both paths must match.
at::Tensor reference(const std::vector<double>& weights, const std::vector<at::Tensor>& tensors) {
    at::Tensor sum = at::zeros_like(tensors.front(), at::kDouble);
    for (size_t j = 0; j < tensors.size(); ++j) sum += weights[j] * tensors[j].to(at::kDouble);
    return sum;
}

std::vector<WeightedTensor> termsOf(const std::vector<double>& weights, const std::vector<at::Tensor>& tensors) {
    std::vector<WeightedTensor> terms;
    for (size_t j = 0; j < tensors.size(); ++j) terms.push_back({weights[j], &tensors[j]});
    return terms;
}

}  // namespace

class TestLinearCombination : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fusedAndFallbackPathsAgree_data() {
        QTest::addColumn<int>("terms");
        QTest::newRow("one term") << 1;
        QTest::newRow("two terms") << 2;
        QTest::newRow("five terms") << 5;
    }
    void fusedAndFallbackPathsAgree() {
        QFETCH(int, terms);
        auto generator = at::detail::createCPUGenerator(11);
        std::vector<at::Tensor> tensors;
        std::vector<double> weights;
        for (int j = 0; j < terms; ++j) {
            tensors.push_back(at::randn({3, 4, 17, 5}, generator, at::kFloat));  // odd sizes: no vector-width luck
            weights.push_back(0.37 * (j + 1) * (j % 2 ? -1.0 : 1.0));
        }
        const at::Tensor expected = reference(weights, tensors);
        // Fused: contiguous float CPU tensors without autograd.
        const at::Tensor fused = linearCombination(termsOf(weights, tensors));
        QCOMPARE(fused.scalar_type(), at::kFloat);
        QCOMPARE(fused.sizes(), tensors.front().sizes());
        QVERIFY(fused.is_contiguous());
        QVERIFY2((fused.to(at::kDouble) - expected).abs().max().item<double>() < 1e-5, "fused path");
        // Fallback 1: non-contiguous views of the same values.
        std::vector<at::Tensor> strided;
        for (const auto& t : tensors) strided.push_back(t.transpose(1, 3).contiguous().transpose(1, 3));
        QVERIFY(!strided.front().is_contiguous());
        const at::Tensor viaStrides = linearCombination(termsOf(weights, strided));
        QVERIFY2((viaStrides.to(at::kDouble) - expected).abs().max().item<double>() < 1e-5, "strided fallback");
        // Fallback 2: autograd, which the search needs: the gradient of sum(result) w.r.t. x_j is w_j.
        std::vector<at::Tensor> differentiable;
        for (const auto& t : tensors) differentiable.push_back(t.clone().requires_grad_(true));
        const at::Tensor withGrad = linearCombination(termsOf(weights, differentiable));
        QVERIFY(withGrad.requires_grad());
        QVERIFY2((withGrad.detach().to(at::kDouble) - expected).abs().max().item<double>() < 1e-5, "autograd fallback");
        withGrad.sum().backward();
        for (int j = 0; j < terms; ++j)
            QVERIFY(at::allclose(differentiable[size_t(j)].grad(), at::full_like(tensors.front(), weights[size_t(j)])));
        // Double inputs stay double, to double precision.
        std::vector<at::Tensor> doubles;
        for (const auto& t : tensors) doubles.push_back(t.to(at::kDouble));
        const at::Tensor inDouble = linearCombination(termsOf(weights, doubles));
        QCOMPARE(inDouble.scalar_type(), at::kDouble);
        QVERIFY((inDouble - expected).abs().max().item<double>() < 1e-12);
    }

    void zeroWeightsAreSkippedAndTheResultIsNew() {
        auto generator = at::detail::createCPUGenerator(3);
        const std::vector<at::Tensor> tensors{at::randn({64}, generator, at::kFloat), at::randn({64}, generator, at::kFloat)};
        // A NaN behind a zero weight must not reach the result (0 * NaN would).
        std::vector<at::Tensor> withNaN = tensors;
        withNaN[1] = withNaN[1].clone();
        withNaN[1][5] = std::numeric_limits<float>::quiet_NaN();
        const at::Tensor result = linearCombination(termsOf({2.0, 0.0}, withNaN));
        QVERIFY(at::isfinite(result).all().item<bool>());
        QVERIFY(at::allclose(result, 2.0 * tensors[0]));
        // Never an alias of an input: the sampler keeps its inputs in the history.
        const at::Tensor single = linearCombination(termsOf({1.0}, {tensors[0]}));
        QVERIFY(single.data_ptr() != tensors[0].data_ptr());
        QVERIFY(at::equal(single, tensors[0]));
    }
};

QTEST_APPLESS_MAIN(TestLinearCombination)
#include "test_linear_combination.moc"
