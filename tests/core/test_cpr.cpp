// Cascade polynomial regression: prediction against the spec's check vectors, exact recovery of
// known coefficients by the least-squares fit, and refusal of grids that cannot determine them.
#include <QTemporaryDir>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/cpr.h"
#include "dcscope/npy.h"
#include "support/test_support.h"

using namespace dcscope;

namespace {

// The public Stable Diffusion 2.1 coefficients (flat, index m*9 + j*3 + l), embedded because a
// fresh clone has no copy of the file.
const CprCoefficients kSd21 = {
    1523.676619658719,   -1111.4746450817747, 198.38349617752823,  -1346.0890022783242, 1007.1949412581944,
    -186.2547577408646,  168.39730243270586,  -128.0389489406508,  24.884789751788965,  -8140.644018577604,
    5906.748279115223,   -1035.9941123139745, 6941.413899402556,   -5193.980659818976,  950.3205652979913,
    -848.2104675050633,  650.6903333310611,   -121.28674276636774, 13309.270384617059,  -9616.6703205253,
    1668.7685962068279,  -11037.107794392457, 8256.66668566493,    -1503.7992035851387, 1293.9740435093065,
    -999.5629328211232,  188.2217041354989,   -6747.4218216104955, 4853.153053347587,   -835.5116792834909,
    5489.115183777738,   -4096.897218212316,  743.0953413127122,   -619.5612763258621,  480.1497146559675,
    -90.89633128561563};

QString describe(const std::vector<double>& values) {
    QString text;
    for (double v : values) text += QString(" %1").arg(v, 0, 'f', 6);
    return text;
}

// Synthetic ratios from known coefficients over a (guidance, steps) grid.
std::vector<CprSample> synthetic(const CprCoefficients& coefficients, const std::vector<double>& guidances,
                                 const std::vector<int>& steps) {
    std::vector<CprSample> samples;
    for (double w : guidances)
        for (int s : steps)
            samples.push_back({"w" + std::to_string(w) + "-s" + std::to_string(s), w, predictCprRatios(coefficients, w, s)});
    return samples;
}

CprCoefficients randomCoefficients(uint64_t seed) {
    auto generator = at::detail::createCPUGenerator(seed);
    const auto values = at::randn({36}, generator, at::TensorOptions().dtype(at::kDouble));
    CprCoefficients coefficients{};
    for (int i = 0; i < 36; ++i) coefficients[size_t(i)] = values[i].item<double>();
    return coefficients;
}

}  // namespace

class TestCpr : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void predictsPublicCheckVectors_data() {
        QTest::addColumn<double>("guidance");
        QTest::addColumn<int>("steps");
        QTest::addColumn<std::vector<double>>("expected");
        QTest::newRow("w7.5 S5") << 7.5 << 5 << std::vector<double>{1, 1, 1.02706, 0.73924, 1.22627};
        QTest::newRow("w7.5 S10") << 7.5 << 10
                                  << std::vector<double>{1, 1, 0.44462, 0.89800, 1.06280, 1.04256, 0.94080, 0.86103, 0.90679, 1.18160};
        QTest::newRow("w1.5 S5") << 1.5 << 5 << std::vector<double>{1, 1, 0.90983, 1.15640, 1.30792};
    }
    void predictsPublicCheckVectors() {
        QFETCH(double, guidance);
        QFETCH(int, steps);
        QFETCH(std::vector<double>, expected);
        const auto ratios = predictCprRatios(kSd21, guidance, steps);
        QCOMPARE(ratios.size(), expected.size());
        for (size_t k = 0; k < expected.size(); ++k)
            QVERIFY2(std::abs(ratios[k] - expected[k]) < 1e-5, qPrintable(describe(ratios)));
        QCOMPARE(ratios[0], 1.0);  // rho_1 = rho_2 = 1 exactly, by definition
        QCOMPARE(ratios[1], 1.0);
    }

    void featuresFollowTheFlatLayout() {
        // feature[m*9 + j*3 + l] = x^m g^(2-j) n^(2-l) with g = w/12, n = S/50, x = k/S.
        const double g = 6.0 / 12, n = 10.0 / 50, x = 4.0 / 10;
        const auto features = cprFeatures(6.0, 10, 4);
        for (int m = 0; m < 4; ++m)
            for (int j = 0; j < 3; ++j)
                for (int l = 0; l < 3; ++l)
                    QVERIFY(std::abs(features[size_t(m * 9 + j * 3 + l)] - std::pow(x, m) * std::pow(g, 2 - j) * std::pow(n, 2 - l)) <
                            1e-15);
    }

    void predictsOnesForTinyStepCounts() {
        QCOMPARE(predictCprRatios(kSd21, 7.5, 1), std::vector<double>{1.0});
        QCOMPARE(predictCprRatios(kSd21, 7.5, 2), (std::vector<double>{1.0, 1.0}));
        DCSCOPE_EXPECT_ERROR(predictCprRatios(kSd21, 7.5, 0), ErrorCode::InvalidArgument, "nfe");
        DCSCOPE_EXPECT_ERROR(predictCprRatios(kSd21, std::nan(""), 5), ErrorCode::InvalidArgument, "cfg");
        CprCoefficients huge{};
        huge.fill(1e308);
        DCSCOPE_EXPECT_ERROR(predictCprRatios(huge, 12.0, 50), ErrorCode::NonFinite, "rho_2");
    }

    void fitRecoversKnownCoefficients() {
        const CprCoefficients truth = randomCoefficients(11);
        const auto samples = synthetic(truth, {1.5, 3.0, 5.0, 7.5, 10.0}, {5, 6, 8, 10, 15, 20});
        const CprFit fit = fitCpr(samples);
        double worst = 0.0;
        for (size_t i = 0; i < 36; ++i) worst = std::max(worst, std::abs(fit.coefficients[i] - truth[i]));
        QVERIFY2(worst < 1e-8, qPrintable(QString("max coefficient error %1 (condition %2)").arg(worst).arg(fit.conditionNumber)));
        QCOMPARE(fit.residuals.size(), samples.size());
        int equations = 0;
        for (const auto& residual : fit.residuals) {
            QVERIFY(residual.rms < 1e-10);
            QVERIFY(residual.maxAbs < 1e-10);
            equations += residual.steps - 2;
        }
        QCOMPARE(fit.equations, equations);
    }

    void fitRecoversThePublicCoefficients() {
        // The public file's values are large and cancel (|C| ~ 1e4 for ratios ~ 1): a stable solver
        // still recovers them to 1e-8 relative.
        const auto samples = synthetic(kSd21, {1.5, 3.0, 5.0, 7.5, 10.0, 12.0}, {5, 6, 8, 10, 12, 15, 20, 25});
        const CprFit fit = fitCpr(samples);
        double worst = 0.0;
        for (size_t i = 0; i < 36; ++i) worst = std::max(worst, std::abs(fit.coefficients[i] - kSd21[i]) / std::abs(kSd21[i]));
        QVERIFY2(worst < 1e-8, qPrintable(QString("max relative error %1").arg(worst)));
    }

    void fitReportsResidualsOfNoisyRatios() {
        const CprCoefficients truth = randomCoefficients(12);
        auto samples = synthetic(truth, {2.0, 4.0, 7.5, 9.0}, {6, 8, 10, 12});
        samples[5].ratios[4] += 0.1;  // one outlier
        const CprFit fit = fitCpr(samples);
        double largest = 0.0;
        size_t worst = 0;
        for (size_t i = 0; i < fit.residuals.size(); ++i)
            if (fit.residuals[i].maxAbs > largest) largest = fit.residuals[(worst = i)].maxAbs;
        QCOMPARE(worst, size_t(5));
        QVERIFY(largest > 0.01 && largest < 0.1);
    }

    void fitRefusesGridsThatCannotDetermineTheCoefficients() {
        const CprCoefficients truth = randomCoefficients(13);
        DCSCOPE_EXPECT_ERROR(fitCpr(synthetic(truth, {5.0, 7.5}, {5, 6, 8, 10, 15, 20})), ErrorCode::InvalidArgument,
                             "need at least 3 distinct guidance values, have 2 (5, 7.5)");
        DCSCOPE_EXPECT_ERROR(fitCpr(synthetic(truth, {1.5, 5.0, 7.5, 10.0}, {10, 20})), ErrorCode::InvalidArgument,
                             "need at least 3 distinct step counts");
        // nfe 1 and 2 give no equations (rho_1 = rho_2 = 1 by definition), so they do not count.
        DCSCOPE_EXPECT_ERROR(fitCpr(synthetic(truth, {1.5, 5.0, 7.5}, {1, 2, 10, 20})), ErrorCode::InvalidArgument,
                             "need at least 3 distinct step counts (nfe >= 3), have 2");
        DCSCOPE_EXPECT_ERROR(fitCpr(synthetic(truth, {1.5, 5.0, 7.5}, {3, 4, 5})), ErrorCode::InvalidArgument,
                             "need at least 36 equations");
        // 36 equations, but nfe 3..5 have at most 3 distinct k/S each: the cubic in x is undetermined.
        DCSCOPE_EXPECT_ERROR(fitCpr(synthetic(truth, {1.0, 2.0, 4.0, 6.0, 8.0, 10.0}, {3, 4, 5})), ErrorCode::InvalidArgument,
                             "rank");
        auto bad = synthetic(truth, {1.5, 5.0, 7.5}, {6, 8, 10});
        bad[2].ratios[3] = std::numeric_limits<double>::infinity();
        DCSCOPE_EXPECT_ERROR(fitCpr(bad), ErrorCode::InvalidArgument, "ratios[3] is not finite");
    }

    void coefficientFilesRoundTripAndAreValidated() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("c.npy").toStdString();
        saveCprCoefficients(path, kSd21);
        const auto loaded = loadCprCoefficients(path);
        QVERIFY(loaded == kSd21);
        const auto tensor = loadNpy(path);
        QCOMPARE(tensor.scalar_type(), at::kDouble);
        QCOMPARE(tensor.sizes(), (c10::IntArrayRef{36}));

        const std::string short35 = dir.filePath("short.npy").toStdString();
        saveNpy(short35, at::ones({35}, at::kDouble));
        DCSCOPE_EXPECT_ERROR(loadCprCoefficients(short35), ErrorCode::BadFile, "short.npy: has 35 values, CPR needs 36");
        const std::string integers = dir.filePath("int.npy").toStdString();
        saveNpy(integers, at::ones({36}, at::kLong));
        DCSCOPE_EXPECT_ERROR(loadCprCoefficients(integers), ErrorCode::BadFile, "int.npy");
        const std::string nan = dir.filePath("nan.npy").toStdString();
        auto values = at::ones({4, 3, 3}, at::kDouble);
        values[1][2][0] = std::nan("");
        saveNpy(nan, values);
        DCSCOPE_EXPECT_ERROR(loadCprCoefficients(nan), ErrorCode::BadFile, "coefficient 15 is not finite");
    }

    void ratioFilesNeedGuidanceMetadata() {
        QTemporaryDir dir;
        const std::string good = dir.filePath("good.json").toStdString();
        saveRatios(good, {1, 1, 0.9, 1.1}, {{"nfe", 4}, {"cfg", 7.5}});
        const auto sample = loadCprSample(good);
        QCOMPARE(sample.guidance, 7.5);
        QCOMPARE(sample.ratios.size(), size_t(4));

        const std::string plain = dir.filePath("plain.json").toStdString();
        dcscope::testing::writeBytes(plain, "[1, 1, 0.9]");
        DCSCOPE_EXPECT_ERROR(loadCprSample(plain), ErrorCode::BadFile, "plain.json: no 'cfg'");
        const std::string mismatch = dir.filePath("mismatch.json").toStdString();
        saveRatios(mismatch, {1, 1, 0.9}, {{"nfe", 5}, {"cfg", 7.5}});
        DCSCOPE_EXPECT_ERROR(loadCprSample(mismatch), ErrorCode::BadFile, "mismatch.json: 'nfe' does not match");
        const std::string nonFinite = dir.filePath("nonfinite.json").toStdString();
        dcscope::testing::writeBytes(nonFinite, R"({"cfg": 7.5, "ratios": [1, 1, 1e999]})");
        DCSCOPE_EXPECT_ERROR(loadCprSample(nonFinite), ErrorCode::BadFile, "ratios[2]");
    }
};

QTEST_APPLESS_MAIN(TestCpr)
#include "test_cpr.moc"
