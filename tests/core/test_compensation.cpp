// Dynamic compensation (spec section 5): Lagrange weights, the compensated value, its gradient
// with respect to rho, and the ratio files.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/npy.h"
#include "support/test_support.h"

using dcscope::ErrorCode;
using dcscope::lagrangeWeights;
using dcscope::testing::maxAbsDiff;
using dcscope::testing::writeBytes;

namespace {

double polynomial(const std::vector<double>& coefficients, double x) {
    double value = 0.0;
    for (size_t j = coefficients.size(); j-- > 0;) value = value * x + coefficients[j];
    return value;
}

// Distinct nodes in [0, 1], at least `gap` apart so the interpolation stays well conditioned.
std::vector<double> randomNodes(std::mt19937_64& rng, size_t count, double gap) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (;;) {
        std::vector<double> nodes;
        for (size_t i = 0; i < count; ++i) nodes.push_back(uniform(rng));
        bool ok = true;
        for (size_t a = 0; a < count; ++a)
            for (size_t b = a + 1; b < count; ++b) ok = ok && std::abs(nodes[a] - nodes[b]) >= gap;
        if (ok) return nodes;
    }
}

// Tensor-valued polynomial sum_j c_j t^j evaluated in double, returned as `type`.
at::Tensor polynomialTensor(const std::vector<at::Tensor>& coefficients, double t, at::ScalarType type) {
    at::Tensor value = at::zeros_like(coefficients[0], at::TensorOptions().dtype(at::kDouble));
    for (size_t j = coefficients.size(); j-- > 0;) value = value * t + coefficients[j].to(at::kDouble);
    return value.to(type);
}

// Times as the solver sees them: newest first, decreasing in age, i.e. increasing t.
const std::vector<std::vector<double>> kTimeSets = {
    {0.8, 1.0},
    {0.55, 0.7, 1.0},
    {0.2, 0.4, 0.6, 0.8},
    {0.001, 0.2008, 0.4006, 0.6004},  // an end-of-run grid with t_S = 1/N
    {0.3, 0.32, 0.5, 0.9},            // uneven spacing (time_quadratic / logSNR)
};

}  // namespace

class TestCompensation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::manual_seed(7); }

    void lagrangeReproducesPolynomials() {
        std::mt19937_64 rng(2024);
        std::uniform_real_distribution<double> coefficient(-3.0, 3.0);
        for (size_t k = 1; k <= 3; ++k) {
            for (int trial = 0; trial < 50; ++trial) {
                const auto nodes = randomNodes(rng, k + 1, 0.05);
                for (size_t degree = 0; degree <= k; ++degree) {
                    std::vector<double> c(degree + 1);
                    for (auto& value : c) value = coefficient(rng);
                    // Inside, at, and outside the nodes (extrapolation, as DC does for rho > 1).
                    for (double x : {0.0, 0.5, 1.0, -0.3, 1.5, nodes[0], 0.5 * (nodes[0] + nodes[1]), nodes[0] + 0.4 * (nodes[0] - nodes[1])}) {
                        const auto w = lagrangeWeights(nodes, x);
                        QCOMPARE(w.size(), nodes.size());
                        double interpolated = 0.0, scale = 0.0;
                        for (size_t a = 0; a < nodes.size(); ++a) {
                            interpolated += w[a] * polynomial(c, nodes[a]);
                            scale += std::abs(w[a] * polynomial(c, nodes[a]));
                        }
                        const double exact = polynomial(c, x);
                        QVERIFY2(std::abs(interpolated - exact) <= 1e-10 * std::max({1.0, std::abs(exact), scale}),
                                 QByteArray("K=") + QByteArray::number(int(k)) + " degree " + QByteArray::number(int(degree)) +
                                     ": " + QByteArray::number(interpolated, 'g', 17) + " vs " + QByteArray::number(exact, 'g', 17));
                    }
                }
            }
        }
    }

    void lagrangeWeightsSumToOne() {
        std::mt19937_64 rng(99);
        for (size_t count = 1; count <= 4; ++count)
            for (int trial = 0; trial < 20; ++trial) {
                const auto nodes = randomNodes(rng, count, 0.05);
                for (double x : {-1.0, 0.0, 0.37, 2.0}) {
                    double sum = 0.0;
                    for (double w : lagrangeWeights(nodes, x)) sum += w;
                    QVERIFY2(std::abs(sum - 1.0) < 1e-10, QByteArray::number(sum, 'g', 17));
                }
            }
        // At a node the weights are the unit vector.
        const auto w = lagrangeWeights({0.2, 0.5, 0.9}, 0.5);
        QCOMPARE(w[0], 0.0);
        QCOMPARE(w[1], 1.0);
        QCOMPARE(w[2], 0.0);
        // Known closed form for two nodes: linear interpolation.
        const auto linear = lagrangeWeights({1.0, 0.0}, 0.25);
        QVERIFY(std::abs(linear[0] - 0.25) < 1e-15 && std::abs(linear[1] - 0.75) < 1e-15);
    }

    void compensateEndpoints() {
        for (const auto& times : kTimeSets) {
            std::vector<at::Tensor> values;
            for (size_t a = 0; a < times.size(); ++a) values.push_back(at::randn({2, 3, 4}));
            const auto newest = dcscope::compensate(values, times, 1.0);
            QCOMPARE(newest.sizes(), values[0].sizes());
            QCOMPARE(newest.scalar_type(), at::kFloat);
            QVERIFY2(maxAbsDiff(newest, values[0]) < 1e-5, "rho = 1 must give the newest value");
            const auto previous = dcscope::compensate(values, times, 0.0);
            QVERIFY2(maxAbsDiff(previous, values[1]) < 1e-5, "rho = 0 must give the previous value");
            // The inputs are left untouched (the history is shared between search trials).
            const auto copy0 = values[0].clone();
            dcscope::compensate(values, times, 0.7);
            QVERIFY(at::equal(copy0, values[0]));
        }
    }

    void compensateFollowsPolynomial() {
        for (const auto& times : kTimeSets) {
            const size_t k = times.size() - 1;
            for (size_t degree = 0; degree <= k; ++degree) {
                std::vector<at::Tensor> coefficients;
                for (size_t j = 0; j <= degree; ++j) coefficients.push_back(at::randn({3, 5}, at::kDouble));
                std::vector<at::Tensor> values;
                for (double t : times) values.push_back(polynomialTensor(coefficients, t, at::kFloat));
                for (double rho : {0.0, 0.3, 0.5, 0.9, 1.0, 1.2, -0.25}) {
                    const double target = times[1] + rho * (times[0] - times[1]);
                    const auto expected = polynomialTensor(coefficients, target, at::kDouble);
                    const auto got = dcscope::compensate(values, times, rho);
                    const double tolerance = 1e-5 * std::max(1.0, expected.abs().max().item<double>()) * (1 << k);
                    QVERIFY2(maxAbsDiff(got, expected) < tolerance,
                             QByteArray("K=") + QByteArray::number(int(k)) + " degree " + QByteArray::number(int(degree)) +
                                 " rho " + QByteArray::number(rho) + ": error " + QByteArray::number(maxAbsDiff(got, expected)));
                }
            }
        }
    }

    void compensateIsInterpolationInTime() {
        // A value linear in t: with K = 1 the result moves along the line between the two entries,
        // and the distance travelled is rho times the time step (not a lambda-based fraction).
        const std::vector<double> times{0.3, 0.7};
        const auto a = at::full({4}, 2.0), b = at::full({4}, 6.0);
        const auto half = dcscope::compensate({a, b}, times, 0.5);
        QVERIFY(maxAbsDiff(half, at::full({4}, 4.0)) < 1e-6);
        const auto beyond = dcscope::compensate({a, b}, times, 1.5);
        QVERIFY(maxAbsDiff(beyond, at::full({4}, 0.0)) < 1e-6);
    }

    void differentiableMatchesValueAndGradient() {
        for (const auto& times : kTimeSets) {
            std::vector<at::Tensor> values;
            for (size_t a = 0; a < times.size(); ++a) values.push_back(at::randn({2, 6}, at::kDouble));
            const auto probe = at::randn({2, 6}, at::kDouble);
            auto loss = [&](double rho) { return (dcscope::compensate(values, times, rho) * probe).sum().item<double>(); };
            for (double rho : {1.0, 0.8, 0.0, 1.3, -0.4}) {
                auto rhoTensor = at::scalar_tensor(rho, at::kDouble).requires_grad_(true);
                const auto result = dcscope::compensateDifferentiable(values, times, rhoTensor);
                QCOMPARE(result.scalar_type(), at::kDouble);
                QVERIFY2(maxAbsDiff(result.detach(), dcscope::compensate(values, times, rho)) < 1e-12,
                         "differentiable and plain compensation disagree");
                (result * probe).sum().backward();
                QVERIFY(rhoTensor.grad().defined());
                const double gradient = rhoTensor.grad().item<double>();
                const double h = 1e-5;
                const double finite = (loss(rho + h) - loss(rho - h)) / (2 * h);
                QVERIFY2(std::abs(gradient - finite) <= 1e-6 * std::max(1.0, std::abs(finite)),
                         QByteArray("d/drho: autograd ") + QByteArray::number(gradient, 'g', 12) + " vs finite difference " +
                             QByteArray::number(finite, 'g', 12));
            }
            // For K >= 1 the value really depends on rho.
            auto rhoTensor = at::scalar_tensor(0.5, at::kDouble).requires_grad_(true);
            (dcscope::compensateDifferentiable(values, times, rhoTensor) * probe).sum().backward();
            QVERIFY(std::abs(rhoTensor.grad().item<double>()) > 1e-8);
        }
        // Float32 values with a double rho keep the values' dtype.
        const std::vector<at::Tensor> floats{at::randn({3}), at::randn({3})};
        const auto result = dcscope::compensateDifferentiable(floats, {0.5, 1.0}, at::scalar_tensor(0.5, at::kDouble));
        QCOMPARE(result.scalar_type(), at::kFloat);
        QVERIFY(maxAbsDiff(result, dcscope::compensate(floats, {0.5, 1.0}, 0.5)) < 1e-6);
    }

    void loadRatiosBothFormats() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string plain = dir.path().toStdString() + "/plain.json";
        writeBytes(plain, "[1.0, 1, 0.9832, 1.05e0, -0.5]\n");
        QCOMPARE(dcscope::loadRatios(plain), (std::vector<double>{1.0, 1.0, 0.9832, 1.05, -0.5}));
        const std::string object = dir.path().toStdString() + "/object.json";
        writeBytes(object, R"({"nfe": 5, "cfg": 7.5, "solver": "unipc", "ratios": [1, 1, 1.02706, 0.73924, 1.22627]})");
        QCOMPARE(dcscope::loadRatios(object), (std::vector<double>{1, 1, 1.02706, 0.73924, 1.22627}));
    }

    void saveRatiosRoundTrip() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string file = dir.path().toStdString() + "/ratios.json";
        const std::vector<double> ratios{1.0, 1.0, 0.1 + 0.2, 1.0 / 3.0, 1.2345678901234567, -2e-7};
        const nlohmann::json metadata{{"nfe", 6}, {"cfg", 7.5}, {"solver", "unipc"}, {"model", "builtin:gmm2d"}};
        dcscope::saveRatios(file, ratios, metadata);
        QCOMPARE(dcscope::loadRatios(file), ratios);  // bit-exact doubles
        const auto document = nlohmann::json::parse(dcscope::readFile(file));
        QVERIFY(document.is_object());
        QCOMPARE(document["nfe"].get<int>(), 6);
        QCOMPARE(document["cfg"].get<double>(), 7.5);
        QCOMPARE(document["solver"].get<std::string>(), std::string("unipc"));
        QCOMPARE(document["model"].get<std::string>(), std::string("builtin:gmm2d"));
        QCOMPARE(document["ratios"].get<std::vector<double>>(), ratios);
        // Overwriting keeps only the new content, and non-object metadata is ignored.
        dcscope::saveRatios(file, {1.0, 0.5}, nlohmann::json::array());
        QCOMPARE(dcscope::loadRatios(file), (std::vector<double>{1.0, 0.5}));
        QCOMPARE(dcscope::testing::folderEntries(dir.path().toStdString()), std::vector<std::string>{"ratios.json"});
    }

    void badRatioFiles() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        struct Case {
            const char* name;
            const char* content;
            const char* fragment;  // besides the file name
        };
        const Case cases[] = {
            {"malformed.json", "[1.0, 0.9,", "JSON"},
            {"malformed_lines.json", "{\n  \"ratios\": [1.0,\n  0.9\n", "JSON"},
            {"empty_list.json", "[]", "ratios"},
            {"empty_object_list.json", R"({"ratios": []})", "ratios"},
            {"string_entry.json", R"([1.0, 1.0, "0.9"])", "ratios[2]"},
            {"null_entry.json", R"({"ratios": [1.0, null]})", "ratios[1]"},
            {"no_ratios.json", R"({"nfe": 5, "rhos": [1, 1]})", "'ratios'"},
            {"ratios_not_list.json", R"({"ratios": 1.0})", "ratios"},
            {"scalar.json", "1.0", "ratios"},
            {"overflow.json", "[1.0, 1e999, 1.0]", "ratios[1]"},
            {"negative_overflow.json", "[1.0, 1.0, 1.0, -1e400]", "ratios[3]"},
            {"object_overflow.json", R"({"nfe": 3, "ratios": [1.0, 1.0, 1e999]})", "ratios[2]"},
            {"metadata_overflow.json", R"({"cfg": 1e999, "ratios": [1.0, 1.0]})", "JSON"},
        };
        for (const auto& c : cases) {
            const std::string file = dir.path().toStdString() + "/" + c.name;
            writeBytes(file, c.content);
            DCSCOPE_EXPECT_ERROR(dcscope::loadRatios(file), ErrorCode::BadFile, file);
            DCSCOPE_EXPECT_ERROR(dcscope::loadRatios(file), ErrorCode::BadFile, c.fragment);
        }
        const std::string missing = dir.path().toStdString() + "/missing.json";
        DCSCOPE_EXPECT_ERROR(dcscope::loadRatios(missing), ErrorCode::BadFile, missing);
    }

    void errorMessagesNeverCarryRawBytes() {
        using dcscope::printableText;
        QCOMPARE(printableText("plain text: rho_3 = 0.9"), std::string("plain text: rho_3 = 0.9"));
        QCOMPARE(printableText("/home/jos\xc3\xa9/r\xc3\xa4tios.json"), std::string("/home/jos\xc3\xa9/r\xc3\xa4tios.json"));  // UTF-8 kept
        QCOMPARE(printableText("a\nb\tc\x7f"), std::string("a\\x0ab\\x09c\\x7f"));                     // one line, no controls
        QCOMPARE(printableText("\xff\xfe\x01"), std::string("\\xff\\xfe\\x01"));                       // not UTF-8
        QCOMPARE(printableText("\xc3"), std::string("\\xc3"));                                          // truncated sequence
        QCOMPARE(printableText("\xc0\xaf"), std::string("\\xc0\\xaf"));                                // overlong '/'
        QCOMPARE(printableText("\xed\xa0\x80"), std::string("\\xed\\xa0\\x80"));                       // a surrogate
        QCOMPARE(printableText("\xc2\x85"), std::string("\\xc2\\x85"));                                // C1 control NEL
        QCOMPARE(printableText("\xf0\x9f\x99\x82"), std::string("\xf0\x9f\x99\x82"));                   // 4-byte UTF-8
        // Every Error goes through it: a binary ratio file's message is printable on one line.
        QTemporaryDir dir;
        const std::string file = dir.path().toStdString() + "/binary.json";
        writeBytes(file, std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xd8", 18));
        try {
            dcscope::loadRatios(file);
            QFAIL("a binary ratio file was accepted");
        } catch (const dcscope::Error& e) {
            const std::string message = e.what();
            QVERIFY(message.find(file) != std::string::npos);
            for (unsigned char c : message) QVERIFY2(c >= 0x20 && c < 0x7f, message.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestCompensation)
#include "test_compensation.moc"
