// Noise schedule (spec section 1) and time grids (spec section 3), against closed forms.
#include <QtTest/QtTest>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/schedule.h"
#include "support/test_support.h"

using dcscope::ErrorCode;
using dcscope::NoiseSchedule;
using dcscope::TimeGrid;
using dcscope::testing::writeBytes;

namespace {

constexpr double kPi = 3.14159265358979323846;

NoiseSchedule stableDiffusion() { return NoiseSchedule::fromName("scaled_linear", 0.00085, 0.012, 1000); }

// l_n = 0.5 * sum_{m<=n} log(1 - beta_m), summed independently of the implementation.
std::vector<double> knotLogAlpha(const std::vector<double>& betas) {
    std::vector<double> l;
    long double sum = 0;
    for (double b : betas) {
        sum += 0.5L * std::log1p(-static_cast<long double>(b));
        l.push_back(static_cast<double>(sum));
    }
    return l;
}

bool near(double a, double b, double tolerance) { return std::abs(a - b) <= tolerance; }

QByteArray describe(const char* what, double got, double expected) {
    return QByteArray(what) + ": got " + QByteArray::number(got, 'g', 17) + ", expected " + QByteArray::number(expected, 'g', 17);
}

}  // namespace

class TestSchedule : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void stableDiffusionCheckValues() {
        const auto schedule = stableDiffusion();
        QCOMPARE(schedule.numTrainTimesteps(), 1000);
        const int knots[] = {999, 799, 599, 400, 200, 0};
        const double expected[] = {-2.68202, -1.62684, -0.82262, -0.15220, 0.55920, 3.53471};
        for (int i = 0; i < 6; ++i) {
            const double t = (knots[i] + 1) / 1000.0;
            const double lambda = schedule.lambda(t);
            QVERIFY2(near(lambda, expected[i], 1e-5), describe("lambda", lambda, expected[i]).constData());
            QVERIFY(near(schedule.modelTime(t), knots[i], 1e-9));
        }
    }

    void alphaSigmaLambdaConsistent() {
        const auto schedule = stableDiffusion();
        const auto l = knotLogAlpha(schedule.betas());
        for (int n : {0, 1, 17, 500, 998, 999}) {
            const double t = (n + 1) / 1000.0;
            QVERIFY2(near(schedule.logAlpha(t), l[size_t(n)], 1e-12), describe("logAlpha", schedule.logAlpha(t), l[size_t(n)]).constData());
            const double a = schedule.alpha(t), s = schedule.sigma(t);
            QVERIFY(near(a, std::exp(l[size_t(n)]), 1e-12));
            QVERIFY(near(a * a + s * s, 1.0, 1e-12));
            QVERIFY(near(schedule.lambda(t), std::log(a) - std::log(s), 1e-9));
        }
    }

    void linearBetas() {
        const int n = 1000;
        const auto schedule = NoiseSchedule::fromName("linear", 1e-4, 0.02, n);
        QCOMPARE(int(schedule.betas().size()), n);
        for (int i = 0; i < n; ++i) {
            const double expected = 1e-4 + (0.02 - 1e-4) * (double(i) / (n - 1));
            QVERIFY2(near(schedule.betas()[size_t(i)], expected, 1e-15), describe("beta", schedule.betas()[size_t(i)], expected).constData());
        }
        QVERIFY(near(schedule.betas().front(), 1e-4, 1e-18));
        QVERIFY(near(schedule.betas().back(), 0.02, 1e-17));
    }

    void scaledLinearBetas() {
        const int n = 1000;
        const auto schedule = stableDiffusion();
        for (int i = 0; i < n; ++i) {
            const double root = std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * (double(i) / (n - 1));
            QVERIFY(near(schedule.betas()[size_t(i)], root * root, 1e-15));
        }
    }

    void cosineBetasWithCap() {
        for (int n : {1000, 50, 7}) {
            const auto schedule = NoiseSchedule::fromName("squaredcos_cap_v2", 0.0001, 0.02, n);
            QCOMPARE(int(schedule.betas().size()), n);
            auto alphaBar = [](double s) { return std::pow(std::cos((s + 0.008) / 1.008 * kPi / 2), 2); };
            int capped = 0;
            for (int i = 0; i < n; ++i) {
                const double raw = 1.0 - alphaBar(double(i + 1) / n) / alphaBar(double(i) / n);
                const double expected = std::min(raw, 0.999);
                if (raw > 0.999) ++capped;
                const double beta = schedule.betas()[size_t(i)];
                QVERIFY2(near(beta, expected, 1e-12 * std::max(1.0, expected)), describe("cosine beta", beta, expected).constData());
                QVERIFY(beta > 0.0 && beta <= 0.999);
            }
            // alpha_bar(1) = cos^2(pi/2) ~ 0, so the last beta is always the cap.
            QVERIFY(capped >= 1);
            QCOMPARE(schedule.betas().back(), 0.999);
        }
    }

    void inverseLambdaRoundTrip() {
        for (const auto& schedule : {stableDiffusion(), NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000),
                                     NoiseSchedule::fromName("squaredcos_cap_v2", 0, 0, 1000),
                                     NoiseSchedule::fromName("linear", 1e-4, 0.02, 20)}) {
            const int n = schedule.numTrainTimesteps();
            std::vector<double> times{1.0, 1.0 / n, 0.5, 2.0 / n, 1.0 - 1.0 / n};
            // Outside the knots: extrapolation on both ends.
            times.insert(times.end(), {0.6 / n, 0.8 / n, 1.0 + 0.3 / n, 1.0 + 1.0 / n, 1.0 + 2.5 / n});
            std::mt19937_64 rng(42);
            std::uniform_real_distribution<double> uniform(1.0 / n, 1.0);
            for (int i = 0; i < 300; ++i) times.push_back(uniform(rng));
            int extrapolated = 0;
            for (double t : times) {
                // Far below t_0 the extended line can reach log_alpha >= 0 (no noise): no lambda there.
                if (schedule.logAlpha(t) >= 0) continue;
                if (t < 1.0 / n || t > 1.0) ++extrapolated;
                const double back = schedule.inverseLambda(schedule.lambda(t));
                QVERIFY2(near(back, t, 1e-9), describe("inverseLambda(lambda(t))", back, t).constData());
            }
            QVERIFY(extrapolated >= 3);
        }
    }

    void lambdaIsMonotone() {
        const auto schedule = stableDiffusion();
        double previous = schedule.lambda(0.0008);
        for (int i = 1; i <= 2000; ++i) {
            const double t = 0.0008 + i * (1.002 - 0.0008) / 2000;
            const double lambda = schedule.lambda(t);
            QVERIFY2(lambda < previous, describe("lambda not decreasing at", t, 0).constData());
            previous = lambda;
        }
    }

    void logAlphaPiecewiseLinear() {
        const auto schedule = stableDiffusion();
        const int n = schedule.numTrainTimesteps();
        const auto l = knotLogAlpha(schedule.betas());
        for (int k : {0, 1, 2, 100, 499, 997, 998}) {
            const double t0 = double(k + 1) / n, t1 = double(k + 2) / n;
            const double middle = schedule.logAlpha(0.5 * (t0 + t1));
            QVERIFY2(near(middle, 0.5 * (l[size_t(k)] + l[size_t(k + 1)]), 1e-12), describe("midpoint", middle, 0.5 * (l[size_t(k)] + l[size_t(k + 1)])).constData());
            const double quarter = schedule.logAlpha(0.75 * t0 + 0.25 * t1);
            QVERIFY(near(quarter, 0.75 * l[size_t(k)] + 0.25 * l[size_t(k + 1)], 1e-12));
        }
        // Beyond the ends the outermost segments continue.
        const double lastSlope = (l[size_t(n - 1)] - l[size_t(n - 2)]) * n;
        QVERIFY(near(schedule.logAlpha(1.0 + 2.0 / n), l[size_t(n - 1)] + 2.0 / n * lastSlope, 1e-12));
        const double firstSlope = (l[1] - l[0]) * n;
        QVERIFY(near(schedule.logAlpha(0.5 / n), l[0] - 0.5 / n * firstSlope, 1e-12));
    }

    void modelTimeEnds() {
        for (int n : {1000, 20}) {
            const auto schedule = NoiseSchedule::fromName("linear", 1e-4, 0.02, n);
            QVERIFY(near(schedule.modelTime(1.0), n - 1, 1e-9));
            QVERIFY(near(schedule.modelTime(1.0 / n), 0.0, 1e-12));
            QVERIFY(near(schedule.modelTime(0.5), 0.5 * n - 1, 1e-9));
            QCOMPARE(schedule.tMin(), 1.0 / n);
        }
    }

    void timeGrids() {
        // The grids are built in float32 as the reference builds them (linspace and lambda in
        // float32), so spacings hold to float32 rounding: ~1e-7 in t, and in lambda up to ~1e-4
        // at t = 1/N, where float32 lambda itself is only that accurate.
        const auto schedule = stableDiffusion();
        const double tMin = 1.0 / 1000;
        for (TimeGrid grid : {TimeGrid::TimeUniform, TimeGrid::LogSnr, TimeGrid::TimeQuadratic}) {
            QVERIFY(dcscope::parseTimeGrid(dcscope::toString(grid)) == grid);
            for (int steps : {1, 2, 5, 10, 25, 200}) {
                const auto times = dcscope::makeTimeGrid(schedule, grid, steps);
                QCOMPARE(int(times.size()), steps + 1);
                QCOMPARE(times.front(), 1.0);
                // logSNR's last time comes from the float32 inverse of lambda (as in the reference),
                // so it is 1/N only to float32 accuracy there.
                const double endTolerance = grid == TimeGrid::LogSnr ? 1e-4 * tMin : 1e-9;
                QVERIFY2(near(times.back(), tMin, endTolerance), describe("t_S", times.back(), tMin).constData());
                for (int i = 0; i < steps; ++i) QVERIFY2(times[size_t(i)] > times[size_t(i + 1)], "times not strictly decreasing");
                for (int i = 0; i < steps; ++i) {
                    const double a = times[size_t(i)], b = times[size_t(i + 1)];
                    switch (grid) {
                    case TimeGrid::TimeUniform:
                        QVERIFY2(near(a - b, (1.0 - tMin) / steps, 2e-7), describe("time step", a - b, (1.0 - tMin) / steps).constData());
                        break;
                    case TimeGrid::LogSnr: {
                        const double step = (schedule.lambda(times.back()) - schedule.lambda(1.0)) / steps;
                        const double got = schedule.lambda(b) - schedule.lambda(a);
                        QVERIFY2(near(got, step, 2e-4), describe("lambda step", got, step).constData());
                        break;
                    }
                    case TimeGrid::TimeQuadratic: {
                        const double step = (1.0 - std::sqrt(tMin)) / steps;
                        QVERIFY2(near(std::sqrt(a) - std::sqrt(b), step, 3e-7), describe("sqrt step", std::sqrt(a) - std::sqrt(b), step).constData());
                        break;
                    }
                    }
                }
            }
        }
        // logSNR really differs from the uniform grid: its steps crowd towards t = 1/N.
        const auto logSnr = dcscope::makeTimeGrid(schedule, TimeGrid::LogSnr, 10);
        const auto uniform = dcscope::makeTimeGrid(schedule, TimeGrid::TimeUniform, 10);
        QVERIFY(logSnr[9] < 0.2 * uniform[9]);
        DCSCOPE_EXPECT_ERROR(dcscope::parseTimeGrid("uniform"), ErrorCode::InvalidArgument, "uniform");
    }

    void float32ValuesTrackDouble() {
        const auto schedule = stableDiffusion();
        for (double t : {1.0, 0.75, 0.5, 0.2, 0.05, 0.01, 0.002, 0.001}) {
            const auto f = schedule.float32Values(t);
            QVERIFY2(near(f.alpha, schedule.alpha(t), 1e-6), describe("float32 alpha", f.alpha, schedule.alpha(t)).constData());
            QVERIFY2(near(f.sigma, schedule.sigma(t), 1e-4), describe("float32 sigma", f.sigma, schedule.sigma(t)).constData());
            QVERIFY2(near(f.lambda, schedule.lambda(t), 2e-4), describe("float32 lambda", f.lambda, schedule.lambda(t)).constData());
            const double back = schedule.inverseLambdaFloat32(static_cast<float>(f.lambda));
            QVERIFY2(near(back, t, 1e-6 + 1e-4 * t), describe("float32 inverse", back, t).constData());
        }
    }

    void timeGridRejectsNoSteps() {
        const auto schedule = stableDiffusion();
        for (TimeGrid grid : {TimeGrid::TimeUniform, TimeGrid::LogSnr, TimeGrid::TimeQuadratic}) {
            DCSCOPE_EXPECT_ERROR(dcscope::makeTimeGrid(schedule, grid, 0), ErrorCode::InvalidArgument, "steps");
            DCSCOPE_EXPECT_ERROR(dcscope::makeTimeGrid(schedule, grid, -3), ErrorCode::InvalidArgument, "steps");
        }
    }

    void fromConfigDiffusers() {
        const auto config = nlohmann::json::parse(R"({
            "_class_name": "PNDMScheduler", "_diffusers_version": "0.8.0",
            "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
            "clip_sample": false, "num_train_timesteps": 1000, "set_alpha_to_one": false,
            "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null })");
        const auto schedule = NoiseSchedule::fromConfig(config, "scheduler_config.json");
        QCOMPARE(schedule.betas(), stableDiffusion().betas());
        QVERIFY(near(schedule.lambda(1.0), -2.68202, 1e-5));

        const auto cosine = NoiseSchedule::fromConfig(
            nlohmann::json{{"beta_schedule", "squaredcos_cap_v2"}, {"num_train_timesteps", 100}}, "cfg");
        QCOMPARE(cosine.betas(), NoiseSchedule::fromName("squaredcos_cap_v2", 0, 0, 100).betas());
        // diffusers' defaults: linear 1e-4..0.02 over 1000 steps.
        const auto defaults = NoiseSchedule::fromConfig(nlohmann::json::object(), "cfg");
        QCOMPARE(defaults.betas(), NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000).betas());
        // Integral floats are accepted for the step count.
        QCOMPARE(NoiseSchedule::fromConfig(nlohmann::json{{"num_train_timesteps", 10.0}}, "cfg").numTrainTimesteps(), 10);
    }

    void fromConfigTrainedBetas() {
        const std::vector<double> betas{0.01, 0.05, 0.1, 0.2, 0.4};
        const auto schedule = NoiseSchedule::fromConfig(
            nlohmann::json{{"trained_betas", betas}, {"num_train_timesteps", 5}, {"beta_schedule", "linear"}}, "cfg");
        QCOMPARE(schedule.betas(), betas);
        QVERIFY(near(schedule.logAlpha(1.0), knotLogAlpha(betas).back(), 1e-15));
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfig(nlohmann::json{{"trained_betas", {0.1, 1.5}}, {"num_train_timesteps", 2}}, "cfg.json"),
                             ErrorCode::BadFile, "trained_betas");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfig(nlohmann::json{{"trained_betas", {0.1, "x"}}, {"num_train_timesteps", 2}}, "cfg.json"),
                             ErrorCode::BadFile, "trained_betas");
    }

    void fromConfigRejectsBadFields() {
        struct Case {
            const char* json;
            const char* field;
        };
        const Case cases[] = {
            {R"({"beta_schedule": "cosine"})", "beta_schedule"},
            {R"({"beta_schedule": 3})", "beta_schedule"},
            {R"({"beta_start": "0.0001"})", "beta_start"},
            {R"({"beta_end": [0.02]})", "beta_end"},
            {R"({"num_train_timesteps": "1000"})", "num_train_timesteps"},
            {R"({"num_train_timesteps": 1})", "num_train_timesteps"},
            {R"({"num_train_timesteps": 0})", "num_train_timesteps"},
            {R"({"num_train_timesteps": 999.5})", "num_train_timesteps"},
            {R"({"beta_start": 0.0001, "beta_end": 1.5})", "beta_end"},
            {R"({"beta_start": -0.1, "beta_end": 0.02})", "beta_start"},
            {R"({"beta_start": 0, "beta_end": 0.02, "beta_schedule": "scaled_linear"})", "beta_start"},
        };
        for (const auto& c : cases) {
            const auto config = nlohmann::json::parse(c.json);
            DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfig(config, "my/scheduler_config.json"), ErrorCode::BadFile, c.field);
            DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfig(config, "my/scheduler_config.json"), ErrorCode::BadFile,
                                 "my/scheduler_config.json");
        }
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfig(nlohmann::json::array(), "cfg.json"), ErrorCode::BadFile, "cfg.json");
    }

    void constructorsRejectBadInput() {
        DCSCOPE_EXPECT_ERROR(NoiseSchedule(std::vector<double>{0.1, 1.0}), ErrorCode::InvalidArgument, "beta[1]");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule(std::vector<double>{0.0, 0.1}), ErrorCode::InvalidArgument, "beta[0]");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule(std::vector<double>{0.1, std::nan("")}), ErrorCode::InvalidArgument, "beta[1]");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule(std::vector<double>{0.1}), ErrorCode::InvalidArgument, "2");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromName("sigmoid", 1e-4, 0.02, 1000), ErrorCode::InvalidArgument, "sigmoid");
    }

    void fromConfigFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string good = dir.path().toStdString() + "/scheduler_config.json";
        writeBytes(good, R"({"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000})");
        QCOMPARE(NoiseSchedule::fromConfigFile(good).betas(), stableDiffusion().betas());

        const std::string bad = dir.path().toStdString() + "/broken_config.json";
        writeBytes(bad, "{\"beta_schedule\": \"linear\",\n \"beta_start\": 0.0001,\n");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfigFile(bad), ErrorCode::BadFile, bad);
        writeBytes(bad, "{\"beta_schedule\": \"linear\"\n\n \"beta_start\" 0.1}");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfigFile(bad), ErrorCode::BadFile, bad);
        writeBytes(bad, R"({"beta_schedule": "warped"})");
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfigFile(bad), ErrorCode::BadFile, bad);
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfigFile(bad), ErrorCode::BadFile, "beta_schedule");
        const std::string missing = dir.path().toStdString() + "/absent.json";
        DCSCOPE_EXPECT_ERROR(NoiseSchedule::fromConfigFile(missing), ErrorCode::BadFile, missing);
    }
};

QTEST_APPLESS_MAIN(TestSchedule)
#include "test_schedule.moc"
