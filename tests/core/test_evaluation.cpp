// Held-out evaluation: the interval arithmetic against closed forms, and the per-datapoint MSE of
// solver configurations against the ground truth.
#include <cmath>

#include "dcscope/evaluation.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "support/fixtures.h"
#include "support/test_support.h"

using namespace dcscope;
using dcscope::testing::configFor;
using dcscope::testing::uncached;

class TestEvaluation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void studentQuantiles() {
        QVERIFY(std::abs(studentT975(1) - 12.7062) < 1e-4);
        QVERIFY(std::abs(studentT975(9) - 2.26216) < 1e-5);
        QVERIFY(std::abs(studentT975(30) - 2.04227) < 1e-5);
        QVERIFY(std::abs(studentT975(31) - 2.03951) < 1e-5);
        QVERIFY(std::abs(studentT975(100) - 1.98397) < 1e-5);
        QVERIFY(std::abs(studentT975(100000) - 1.95999) < 1e-5);
        DCSCOPE_EXPECT_ERROR(studentT975(0), ErrorCode::InvalidArgument, "degrees of freedom");
    }

    void ratioOfMeansIntervalAgreesWithTheDeltaMethod() {
        // Paired samples: b lognormal, a = b * (0.8 + noise). For large n the bootstrap interval of
        // sum(a) / sum(b) approaches R +- 1.96 * SE with the delta method's
        // SE^2 = var(a - R b) / (n * mean(b)^2).
        const int n = 2000;
        auto generator = at::detail::createCPUGenerator(7);
        const at::Tensor b = at::randn({n}, generator, at::kDouble).mul(0.5).exp();
        const at::Tensor a = b * (0.8 + 0.3 * at::randn({n}, generator, at::kDouble));
        const std::vector<double> av(a.data_ptr<double>(), a.data_ptr<double>() + n), bv(b.data_ptr<double>(), b.data_ptr<double>() + n);
        const RatioInterval interval = ratioOfMeansInterval(av, bv);
        const double ratio = a.sum().item<double>() / b.sum().item<double>();
        QVERIFY(std::abs(interval.ratio - ratio) < 1e-12);
        const double se = std::sqrt((a - ratio * b).var().item<double>() / n) / b.mean().item<double>();
        QVERIFY2(std::abs((ratio - interval.lower) / (1.96 * se) - 1.0) < 0.12 && std::abs((interval.upper - ratio) / (1.96 * se) - 1.0) < 0.12,
                 qPrintable(QString("[%1, %2] around %3, delta method +-%4").arg(interval.lower).arg(interval.upper).arg(ratio).arg(1.96 * se)));
        // Reproducible for a seed; another seed moves the bounds a little, not the ratio.
        const RatioInterval again = ratioOfMeansInterval(av, bv);
        QCOMPARE(again.lower, interval.lower);
        QCOMPARE(again.upper, interval.upper);
        const RatioInterval other = ratioOfMeansInterval(av, bv, 2000, 1);
        QVERIFY(other.lower != interval.lower && std::abs(other.lower - interval.lower) < 0.2 * se * 1.96);
        // An exact multiple has no spread at all.
        std::vector<double> doubled = bv;
        for (double& value : doubled) value *= 2.0;
        const RatioInterval exact = ratioOfMeansInterval(doubled, bv);
        QCOMPARE(exact.ratio, 2.0);
        QCOMPARE(exact.lower, 2.0);
        QCOMPARE(exact.upper, 2.0);
        DCSCOPE_EXPECT_ERROR(ratioOfMeansInterval({}, {}), ErrorCode::InvalidArgument, "ratio interval");
        DCSCOPE_EXPECT_ERROR(ratioOfMeansInterval({1.0, 2.0}, {1.0}), ErrorCode::InvalidArgument, "equal size");
        DCSCOPE_EXPECT_ERROR(ratioOfMeansInterval({1.0}, {0.0}), ErrorCode::InvalidArgument, "denominator");
    }

    void groundTruthIsTooCoarseUnlessTenTimesMoreAccurate() {
        // Smallest MSE 1e-2: RMS error 0.1, so the ground truth's RMS error must stay below 0.01.
        QVERIFY(!groundTruthTooCoarse(0.0099, 1e-2));
        QVERIFY(groundTruthTooCoarse(0.0101, 1e-2));
        QVERIFY(groundTruthTooCoarse(std::nan(""), 1e-2));  // unknown is not good enough
        QVERIFY(groundTruthTooCoarse(1e-9, 0.0));           // nothing is ten times below an exact result
        QCOMPARE(worseGroundTruthError(1e-3, 2e-3), 2e-3);
        QVERIFY(std::isnan(worseGroundTruthError(0.0, std::nan(""))));  // in either order
        QVERIFY(std::isnan(worseGroundTruthError(std::nan(""), 0.0)));
    }

    void meanIntervalClosedForm() {
        // {1, 2, 3, 4}: mean 2.5, sd sqrt(5/3), half width t(3) * sd / 2.
        const auto interval = meanWithInterval({1, 2, 3, 4});
        QCOMPARE(interval.count, 4);
        QVERIFY(std::abs(interval.mean - 2.5) < 1e-15);
        QVERIFY(std::abs(interval.standardDeviation - std::sqrt(5.0 / 3.0)) < 1e-15);
        const double half = 3.18245 * std::sqrt(5.0 / 3.0) / 2.0;
        QVERIFY(std::abs(interval.lower - (2.5 - half)) < 1e-5);
        QVERIFY(std::abs(interval.upper - (2.5 + half)) < 1e-5);
        const auto single = meanWithInterval({0.25});
        QCOMPARE(single.lower, 0.25);
        QCOMPARE(single.upper, 0.25);
        DCSCOPE_EXPECT_ERROR(meanWithInterval({}), ErrorCode::InvalidArgument, "no datapoints");
    }

    void evaluatesConfigurationsAgainstTheGroundTruth() {
        const auto model = GaussianMixtureModel::builtin("gmm-image");
        const Datapoints data = makeDatapoints(*model, kHeldOutSeedOffset, 8);
        GuidedDenoiser denoiser(*model, Conditioning{data.classes, 7.5});
        const std::vector<EvaluationEntry> entries{{"unipc", configFor(SolverType::UniPC, 2, 10)},
                                                   {"ddim", configFor(SolverType::Ddim, 1, 10)},
                                                   {"unipc-20", configFor(SolverType::UniPC, 2, 20)}};
        const HeldOutEvaluation evaluation = evaluateHeldOut(denoiser, data.noise, entries, uncached());
        QCOMPARE(evaluation.rows.size(), size_t(3));
        // Two grids with the default fine steps: nfe 10 has 200 + 100 (the halved solve) fine
        // calls, nfe 20 has 400 + 200 (20 per interval).
        QCOMPARE(evaluation.groundTruthEvaluations, 300 + 600);
        QVERIFY(evaluation.groundTruthError > 0.0);
        QVERIFY(evaluation.groundTruthErrorRms > 0.0 && evaluation.groundTruthErrorRms < evaluation.groundTruthError);
        for (size_t i = 0; i < entries.size(); ++i) {
            const auto& row = evaluation.rows[i];
            QCOMPARE(row.name, entries[i].name);
            QCOMPARE(row.perDatapoint.size(), size_t(8));
            QCOMPARE(row.modelEvaluations, entries[i].config.steps);
            QVERIFY(row.mse.lower <= row.mse.mean && row.mse.mean <= row.mse.upper);
            QVERIFY(row.mse.mean > 0.0);
        }
        // The first-order solver is worse, and more steps are better.
        QVERIFY(evaluation.rows[1].mse.mean > evaluation.rows[0].mse.mean);
        QVERIFY(evaluation.rows[2].mse.mean < evaluation.rows[0].mse.mean);

        // Per datapoint: mean over elements of the squared final-state error.
        const MultistepSampler sampler(model->schedule(), entries[0].config);
        const GroundTruth truth = computeGroundTruth(denoiser, data.noise, sampler.times(), uncached());
        const at::Tensor final = sample(denoiser, data.noise, entries[0].config);
        const at::Tensor expected = (final.to(at::kDouble) - truth.finalState().to(at::kDouble)).pow(2).mean({1, 2, 3});
        for (int64_t b = 0; b < 8; ++b)
            QVERIFY(std::abs(evaluation.rows[0].perDatapoint[size_t(b)] - expected[b].item<double>()) < 1e-15);
    }
};

QTEST_APPLESS_MAIN(TestEvaluation)
#include "test_evaluation.moc"
