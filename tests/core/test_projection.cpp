// The principal plane used to draw image trajectories in 2-D, against constructed data whose
// principal directions are known.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include "dcscope/errors.h"
#include "dcscope/projection.h"

class TestProjection : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void findsTheDirectionsOfLargestVariance() {
        // Points 3 a u + b v + 5 e (a, b, spread over a grid) in 6-D, u and v orthonormal, e a
        // constant offset: the plane is (u, v) through e, in that order.
        const at::Tensor u = at::tensor({1.0, 1.0, 0.0, 0.0, 0.0, 0.0}, at::kDouble) / std::sqrt(2.0);
        const at::Tensor v = at::tensor({0.0, 0.0, 0.0, 1.0, 0.0, 0.0}, at::kDouble);
        const at::Tensor e = at::tensor({0.0, 0.0, 1.0, 0.0, 1.0, 1.0}, at::kDouble);
        std::vector<at::Tensor> states;
        for (int i = -3; i <= 3; ++i) {
            std::vector<at::Tensor> batch;
            for (int j = -3; j <= 3; ++j) batch.push_back(3.0 * i * u + double(j) * v + 5.0 * e);
            states.push_back(at::stack(batch).reshape({7, 1, 2, 3}).to(at::kFloat));  // images of 1x2x3
        }
        const auto plane = dcscope::principalPlane(states);
        QVERIFY(at::allclose(plane.mean, 5.0 * e, 1e-9, 1e-6));
        QVERIFY(at::allclose(plane.axes[0], u, 1e-6, 1e-6));
        QVERIFY(at::allclose(plane.axes[1], v, 1e-6, 1e-6));
        QVERIFY(at::allclose(plane.axes.matmul(plane.axes.t()), at::eye(2, at::kDouble), 1e-9, 1e-9));
        // A point's coordinates are its (a-scaled, b) amounts.
        const at::Tensor point = (3.0 * 2 * u - 1.0 * v + 5.0 * e).reshape({1, 1, 2, 3});
        const at::Tensor projected = dcscope::projectOnto(plane, point);
        QVERIFY(at::allclose(projected, at::tensor({6.0, -1.0}, at::kDouble).reshape({1, 2}), 1e-9, 1e-6));
    }

    void refusesWhatCannotBeProjected() {
        QVERIFY_THROWS_EXCEPTION(dcscope::Error, dcscope::principalPlane({}));
        QVERIFY_THROWS_EXCEPTION(dcscope::Error, dcscope::principalPlane({at::zeros({2, 3}), at::zeros({2, 4})}));
        const auto plane = dcscope::principalPlane({at::randn({5, 3})});
        QVERIFY_THROWS_EXCEPTION(dcscope::Error, dcscope::projectOnto(plane, at::zeros({1, 4})));
    }
};

QTEST_MAIN(TestProjection)
#include "test_projection.moc"
