// Frechet distance against closed forms, feature statistics, and the shipped quality classifier.
#include <cmath>
#include <filesystem>

#include "dcscope/cancel.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/npy.h"
#include "dcscope/quality.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "dcscope/torchscript_model.h"
#include "support/test_support.h"

using namespace dcscope;

class TestQuality : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void identicalGaussiansHaveZeroDistance() {
        auto generator = at::detail::createCPUGenerator(1);
        const auto a = at::randn({6, 6}, generator, at::TensorOptions().dtype(at::kDouble));
        const auto covariance = at::matmul(a, a.transpose(0, 1)) + 0.1 * at::eye(6, at::kDouble);
        const auto mean = at::randn({6}, generator, at::TensorOptions().dtype(at::kDouble));
        QVERIFY(std::abs(frechetDistance(mean, covariance, mean, covariance)) < 1e-9);
    }

    void diagonalCovariancesMatchTheClosedForm() {
        // Commuting (diagonal) covariances: d = |mu1-mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
        const auto a = at::tensor({1.0, 4.0, 0.25, 9.0}, at::kDouble), b = at::tensor({2.0, 1.0, 0.5, 9.0}, at::kDouble);
        const auto mu1 = at::tensor({0.0, 1.0, 2.0, 3.0}, at::kDouble), mu2 = at::tensor({1.0, 1.0, 0.0, 3.0}, at::kDouble);
        double expected = 1.0 + 4.0;
        for (int i = 0; i < 4; ++i) expected += std::pow(std::sqrt(a[i].item<double>()) - std::sqrt(b[i].item<double>()), 2);
        QVERIFY(std::abs(frechetDistance(mu1, at::diag(a), mu2, at::diag(b)) - expected) < 1e-10);
        // Rotating both covariances by the same orthogonal matrix leaves the distance unchanged.
        const auto q = std::get<0>(at::linalg_qr(at::randn({4, 4}, at::kDouble)));
        const auto rotate = [&](const at::Tensor& d) { return at::matmul(at::matmul(q, at::diag(d)), q.transpose(0, 1)); };
        QVERIFY(std::abs(frechetDistance(at::matmul(q, mu1), rotate(a), at::matmul(q, mu2), rotate(b)) - expected) < 1e-9);
    }

    void featureStatisticsAreMeanAndUnbiasedCovariance() {
        const auto rows = at::tensor({1.0, 2.0, 3.0, 6.0, 5.0, 10.0}, at::kDouble).view({3, 2});
        const auto [mean, covariance] = featureStatistics(rows);
        QVERIFY(at::allclose(mean, at::tensor({3.0, 6.0}, at::kDouble)));
        QVERIFY(at::allclose(covariance, at::tensor({4.0, 8.0, 8.0, 16.0}, at::kDouble).view({2, 2})));
        DCSCOPE_EXPECT_ERROR(featureStatistics(rows.narrow(0, 0, 1)), ErrorCode::InvalidArgument, "at least 2");
    }

    void shippedClassifierReachesItsAccuracyOnStoredTestImages() {
        const std::string package = std::string(DCSCOPE_SOURCE_DIR) + "/assets/models/fashion";
        const std::string images = dcscope::testing::dataFile("fashion_test_subset_images.npy");
        if (!std::filesystem::exists(package + "/model.json") || !std::filesystem::exists(images))
            QFAIL("the default model package or its test subset is missing from the source tree");
        const auto model = TorchScriptModel::open(package, c10::Device(c10::kCPU));
        const auto quality = QualityModel::open(*model);
        const auto x = loadNpy(images);
        const auto labels = loadNpy(dcscope::testing::dataFile("fashion_test_subset_labels.npy"));
        QVERIFY(x.size(0) >= 200);
        const double accuracy = (quality->logits(x).argmax(1) == labels).to(at::kDouble).mean().item<double>();
        qInfo() << "classifier accuracy on" << x.size(0) << "stored test images:" << accuracy;
        QVERIFY2(accuracy >= 0.88, qPrintable(QString::number(accuracy)));
        // Real test images are close to the reference statistics; pure noise is far away.
        const auto report = quality->evaluate(x, labels);
        const auto noiseReport = quality->evaluate(at::rand_like(x) * 2 - 1, labels);
        qInfo() << "frechet distance: test images" << report.frechetDistance << "noise" << noiseReport.frechetDistance;
        QVERIFY(report.frechetDistance < 0.25 * noiseReport.frechetDistance);
    }

    void measureQualityScoresTheDatapointsItDocuments() {
        // measureQuality's recipe reproduced by hand: sample j is datapoint seed + j with class
        // j mod K, sampled in batches, then scored by the quality model.
        const std::string package = std::string(DCSCOPE_SOURCE_DIR) + "/assets/models/fashion";
        const auto model = TorchScriptModel::open(package, c10::Device(c10::kCPU));
        const auto quality = QualityModel::open(*model);
        SolverConfig config;
        config.steps = 4;
        std::vector<std::pair<int, int>> reported;
        const QualityReport report =
            measureQuality(*model, *quality, config, 3.0, 20, 8, 5, nullptr, [&](int done, int total) { reported.push_back({done, total}); });
        QCOMPARE(report.samples, 20);
        QCOMPARE(reported, (std::vector<std::pair<int, int>>{{8, 20}, {16, 20}, {20, 20}}));
        const dcscope::Datapoints data = dcscope::makeDatapoints(*model, 5, 20);
        GuidedDenoiser denoiser(*model, Conditioning{data.classes, 3.0});
        const at::Tensor images = model->decode(sample(denoiser, data.noise, config));
        const QualityReport expected = quality->evaluate(images, data.classes);
        QCOMPARE(report.classAccuracy, expected.classAccuracy);
        QVERIFY2(std::abs(report.frechetDistance - expected.frechetDistance) <= 1e-3 * expected.frechetDistance,
                 qPrintable(QString("%1 vs %2").arg(report.frechetDistance).arg(expected.frechetDistance)));
        QVERIFY(report.classAccuracy > 0.1);  // better than chance for 10 classes even at NFE 4
        // Cancellable, and impossible sizes are refused.
        CancelToken cancel;
        cancel.requestCancel();
        DCSCOPE_EXPECT_ERROR(measureQuality(*model, *quality, config, 3.0, 20, 8, 5, &cancel), ErrorCode::Cancelled, "cancel");
        DCSCOPE_EXPECT_ERROR(measureQuality(*model, *quality, config, 3.0, 1, 8, 5), ErrorCode::InvalidArgument, "samples");
        DCSCOPE_EXPECT_ERROR(measureQuality(*model, *quality, config, 3.0, 20, 0, 5), ErrorCode::InvalidArgument, "batch size");
    }
};

QTEST_APPLESS_MAIN(TestQuality)
#include "test_quality.moc"
