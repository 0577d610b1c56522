// Solver structure: coefficients, orders, model-call counts, compensation identities, validation,
// cancellation and closed-form exactness.
#include <cmath>

#include "dcscope/compensation.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/solver.h"
#include "support/fake_models.h"
#include "support/fixtures.h"
#include "support/test_support.h"

using namespace dcscope;
using dcscope::testing::configFor;
using dcscope::testing::CountingModel;
using dcscope::testing::maxAbsDiff;

namespace {

at::Tensor noiseFor(const DiffusionModel& model, int64_t batch, uint64_t seed, at::ScalarType dtype = at::kFloat) {
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), model.info().sampleShape.begin(), model.info().sampleShape.end());
    auto generator = at::detail::createCPUGenerator(seed);
    return at::randn(shape, generator, at::TensorOptions().dtype(dtype));
}

}  // namespace

class TestSolver : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void uniPCCoefficientsMatchSpecCheckValues_data() {
        QTest::addColumn<int>("variant");
        QTest::addColumn<double>("b");
        QTest::addColumn<double>("g1");
        QTest::addColumn<double>("g2");
        QTest::addColumn<double>("c1");
        QTest::addColumn<double>("c2");
        QTest::newRow("bh2") << int(UniPCVariant::Bh2) << -0.48851 << 0.55545 << 0.39002 << 0.07521 << 0.48024;
        QTest::newRow("bh1") << int(UniPCVariant::Bh1) << -0.67042 << 0.40474 << 0.28419 << 0.05480 << 0.34993;
    }
    void uniPCCoefficientsMatchSpecCheckValues() {
        QFETCH(int, variant);
        QFETCH(double, b);
        QFETCH(double, g1);
        QFETCH(double, g2);
        QFETCH(double, c1);
        QFETCH(double, c2);
        // SD schedule, update 599 -> 400 with the history entry from 799 (spec section 4).
        const auto schedule = NoiseSchedule::fromName("scaled_linear", 0.00085, 0.012, 1000);
        const double ls = schedule.lambda(0.600), lt = schedule.lambda(0.401), lp = schedule.lambda(0.800);
        const double h = lt - ls;
        const double r1 = (lp - ls) / h;
        QVERIFY(std::abs(h - 0.67042) < 1e-5);
        QVERIFY(std::abs(r1 - -1.19956) < 1e-5);
        const auto c = computeUniPCCoefficients(h, {r1}, UniPCVariant(variant));
        QVERIFY(std::abs(c.b - b) < 1e-5);
        QCOMPARE(int(c.g.size()), 2);
        QVERIFY(std::abs(c.g[0] - g1) < 1e-5);
        QVERIFY(std::abs(c.g[1] - g2) < 1e-5);
        QCOMPARE(c.predictor, std::vector<double>{0.5});
        QVERIFY(std::abs(c.corrector[0] - c1) < 1e-5);
        QVERIFY(std::abs(c.corrector[1] - c2) < 1e-5);
    }

    void uniPCCorrectorSolvesTheVandermondeSystem() {
        // Order 3: R c = g must hold row by row (R[j][k] = node_k^j).
        const std::vector<double> nodes{-0.8, -1.9};
        const auto c = computeUniPCCoefficients(0.4, nodes, UniPCVariant::Bh2);
        const std::vector<double> all{-0.8, -1.9, 1.0};
        for (int j = 0; j < 3; ++j) {
            double sum = 0;
            for (int k = 0; k < 3; ++k) sum += std::pow(all[size_t(k)], j) * c.corrector[size_t(k)];
            QVERIFY(std::abs(sum - c.g[size_t(j)]) < 1e-12);
        }
        for (int j = 0; j < 2; ++j) {
            double sum = 0;
            for (int k = 0; k < 2; ++k) sum += std::pow(all[size_t(k)], j) * c.predictor[size_t(k)];
            QVERIFY(std::abs(sum - c.g[size_t(j)]) < 1e-12);
        }
    }

    void orderScheduleFollowsSpec() {
        const auto schedule = NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000);
        auto orders = [&](SolverType solver, int order, int steps, bool lowerOrderFinal) {
            auto config = configFor(solver, order, steps);
            config.lowerOrderFinal = lowerOrderFinal;
            const MultistepSampler sampler(schedule, config);
            std::vector<int> result;
            for (int k = 0; k < steps; ++k) result.push_back(sampler.orderAt(k));
            return result;
        };
        QCOMPARE(orders(SolverType::UniPC, 3, 5, true), (std::vector<int>{1, 2, 3, 2, 1}));
        QCOMPARE(orders(SolverType::UniPC, 3, 5, false), (std::vector<int>{1, 2, 3, 3, 3}));
        QCOMPARE(orders(SolverType::UniPC, 2, 20, true).back(), 1);  // UniPC lowers regardless of S
        QCOMPARE(orders(SolverType::DpmSolverPlusPlus, 3, 6, true), (std::vector<int>{1, 2, 3, 3, 2, 1}));
        const auto longRun = orders(SolverType::DpmSolverPlusPlus, 3, 15, true);  // S >= 15: full order
        QCOMPARE(longRun.back(), 3);
        QCOMPARE(orders(SolverType::Ddim, 3, 4, true), (std::vector<int>{1, 1, 1, 1}));

        auto config = configFor(SolverType::UniPC, 2, 6);
        config.disabledCorrectors = {0, 3};
        const MultistepSampler sampler(schedule, config);
        QCOMPARE(sampler.correctorAt(0), false);
        QCOMPARE(sampler.correctorAt(1), true);
        QCOMPARE(sampler.correctorAt(3), false);
        QCOMPARE(sampler.correctorAt(4), true);
        QCOMPARE(sampler.correctorAt(5), false);  // the last update never corrects
    }

    void everySolverMakesExactlySModelCalls_data() {
        QTest::addColumn<int>("solver");
        QTest::addColumn<int>("order");
        QTest::addColumn<double>("cfg");
        QTest::newRow("ddim") << int(SolverType::Ddim) << 1 << 1.0;
        QTest::newRow("dpmpp-2") << int(SolverType::DpmSolverPlusPlus) << 2 << 3.0;
        QTest::newRow("dpmpp-3") << int(SolverType::DpmSolverPlusPlus) << 3 << 1.0;
        QTest::newRow("unipc-1") << int(SolverType::UniPC) << 1 << 7.5;
        QTest::newRow("unipc-2") << int(SolverType::UniPC) << 2 << 1.0;
        QTest::newRow("unipc-3") << int(SolverType::UniPC) << 3 << 7.5;
    }
    void everySolverMakesExactlySModelCalls() {
        QFETCH(int, solver);
        QFETCH(int, order);
        QFETCH(double, cfg);
        auto model = std::make_shared<CountingModel>(GaussianMixtureModel::builtin("gmm-image"));
        const auto noise = noiseFor(*model, 3, 7);
        for (int steps : {1, 2, 3, 5, 8, 13}) {
            for (bool compensated : {false, true}) {
                auto config = configFor(SolverType(solver), order, steps);
                if (compensated) {
                    config.ratios.assign(size_t(steps), 1.0);
                    for (int k = config.dcOrder; k < steps; ++k) config.ratios[size_t(k)] = 0.9;
                }
                model->calls = 0;
                GuidedDenoiser denoiser(*model, Conditioning{at::tensor({0L, 1L, 2L}), cfg});
                sample(denoiser, noise, config);
                QCOMPARE(model->calls, steps);
                QCOMPARE(denoiser.nfe(), steps);
            }
        }
    }

    void unitRatiosAreBitIdenticalToNoCompensation() {
        auto model = GaussianMixtureModel::builtin("gmm-image");
        const auto noise = noiseFor(*model, 4, 11);
        for (auto solver : {SolverType::Ddim, SolverType::DpmSolverPlusPlus, SolverType::UniPC}) {
            for (int order : {1, 2, 3}) {
                auto config = configFor(solver, order, 9);
                GuidedDenoiser plainDenoiser(*model, Conditioning{at::tensor({0L, 1L, 2L, 3L}), 7.5});
                const auto plain = sample(plainDenoiser, noise, config);
                config.ratios.assign(9, 1.0);
                GuidedDenoiser unitDenoiser(*model, Conditioning{at::tensor({0L, 1L, 2L, 3L}), 7.5});
                const auto unit = sample(unitDenoiser, noise, config);
                QVERIFY(at::equal(plain, unit));
                config.ratios[5] = 1.05;  // and a real ratio does change the result
                GuidedDenoiser dcDenoiser(*model, Conditioning{at::tensor({0L, 1L, 2L, 3L}), 7.5});
                QVERIFY(!at::equal(plain, sample(dcDenoiser, noise, config)));
            }
        }
    }

    void displayNamesNameSolverVariantAndOrder() {
        QCOMPARE(displayName(configFor(SolverType::Ddim, 1, 5)), std::string("DDIM"));
        QCOMPARE(displayName(configFor(SolverType::DpmSolverPlusPlus, 3, 5)), std::string("DPM-Solver++ (3M)"));
        auto unipc = configFor(SolverType::UniPC, 2, 5);
        QCOMPARE(displayName(unipc), std::string("UniPC (bh2)"));
        unipc.variant = UniPCVariant::Bh1;
        unipc.order = 3;
        QCOMPARE(displayName(unipc), std::string("UniPC (bh1, order 3)"));
    }

    void resumingFromAKeptStateIsBitIdenticalToAFullRun() {
        // The window's incremental re-sampling: run with ratios A keeping every state, then
        // resume a run with ratios B (equal to A before index j) from A's state j.
        auto model = GaussianMixtureModel::builtin("gmm-image");
        const auto noise = noiseFor(*model, 3, 21);
        const Conditioning conditioning{at::tensor({0L, 1L, 2L}), 5.0};
        for (auto solver : {SolverType::DpmSolverPlusPlus, SolverType::UniPC}) {
            for (int order : {2, 3}) {
                auto first = configFor(solver, order, 9);
                first.ratios = {1.0, 1.0, 0.9, 1.1, 0.95, 1.05, 1.0, 1.1, 0.9};
                GuidedDenoiser keptDenoiser(*model, conditioning);
                std::vector<SamplerState> kept;
                MultistepSampler(model->schedule(), first).run(keptDenoiser, noise, {}, &kept);
                QCOMPARE(int(kept.size()), 10);
                for (int j : {2, 5, 8}) {
                    auto edited = first;
                    for (int k = j; k < 9; ++k) edited.ratios[size_t(k)] = 1.2 - 0.03 * k;
                    const MultistepSampler sampler(model->schedule(), edited);
                    GuidedDenoiser fullDenoiser(*model, conditioning);
                    const at::Tensor full = sampler.run(fullDenoiser, noise);
                    GuidedDenoiser resumeDenoiser(*model, conditioning);
                    int reported = 0;
                    std::vector<SamplerState> resumedStates = kept;
                    const at::Tensor resumed =
                        sampler.resume(resumeDenoiser, kept[size_t(j)], [&](const StepReport&) { ++reported; }, &resumedStates);
                    QVERIFY2(at::equal(full, resumed), qPrintable(QStringLiteral("j = %1").arg(j)));
                    QCOMPARE(reported, 9 - j);
                    // Only the updates after j call the model (the last update makes no call).
                    QCOMPARE(resumeDenoiser.nfe(), 9 - j - 1);
                    QVERIFY(at::equal(resumedStates.back().x, resumed));
                    QVERIFY(at::equal(resumedStates[size_t(j)].x, kept[size_t(j)].x));
                }
            }
        }
    }

    void compensationReplacesTheHistoryEntryPermanently() {
        // dc-order 1 on DDIM: the used output is m'_{k-1} + rho (m_k - m'_{k-1}) where m'_{k-1} is
        // the previously COMPENSATED value, i.e. the replacement persists into later updates.
        auto model = GaussianMixtureModel::builtin("gmm2d");
        const auto noise = noiseFor(*model, 5, 3, at::kDouble);
        auto config = configFor(SolverType::Ddim, 1, 6);
        config.dcOrder = 1;
        config.ratios = {1.0, 0.8, 1.3, 0.9, 1.1, 0.7};
        GuidedDenoiser denoiser(*model, Conditioning{});
        const MultistepSampler sampler(model->schedule(), config);
        std::vector<StepReport> reports;
        sampler.run(denoiser, noise, [&](const StepReport& r) { reports.push_back(r); });
        QCOMPARE(int(reports.size()), 7);
        const auto& times = sampler.times();
        at::Tensor previousUsed = reports[1].modelOutput;  // rho_0 = 1: the raw output at t_0
        QVERIFY(at::equal(previousUsed, reports[0].dataPrediction));
        for (int k = 1; k < 6; ++k) {
            const double rho = config.ratios[size_t(k)];
            const at::Tensor& fresh = reports[size_t(k)].dataPrediction;  // m_k, straight from the model
            const double target = times[size_t(k) - 1] + rho * (times[size_t(k)] - times[size_t(k) - 1]);
            const double w = (target - times[size_t(k) - 1]) / (times[size_t(k)] - times[size_t(k) - 1]);
            const at::Tensor expected = previousUsed + w * (fresh - previousUsed);
            QVERIFY2(maxAbsDiff(reports[size_t(k) + 1].modelOutput, expected) < 1e-12, qPrintable(QString::number(k)));
            previousUsed = reports[size_t(k) + 1].modelOutput;
        }
    }

    void pointMassIsSolvedExactlyByEverySolver() {
        // Data = one point mu: x0-prediction is constant along the ODE, so every multistep formula
        // (all differences vanish) lands on x_S = alpha_S mu + sigma_S (x_T - alpha_T mu) / sigma_T.
        auto model = dcscope::testing::singleGaussian(6, 0.0);
        const auto noise = noiseFor(*model, 3, 5, at::kDouble);
        const auto mean = model->means()[0].to(at::kDouble);
        for (auto solver : {SolverType::Ddim, SolverType::DpmSolverPlusPlus, SolverType::UniPC}) {
            for (int order : {1, 2, 3}) {
                auto config = configFor(solver, order, 7);
                config.grid = TimeGrid::LogSnr;
                const MultistepSampler sampler(model->schedule(), config);
                GuidedDenoiser denoiser(*model, Conditioning{});
                const auto result = sampler.run(denoiser, noise);
                const auto start = model->schedule().float32Values(sampler.times().front());
                const auto end = model->schedule().float32Values(sampler.times().back());
                const auto exact = end.alpha * mean + end.sigma * (noise - start.alpha * mean) / start.sigma;
                QVERIFY2(maxAbsDiff(result, exact) < 1e-5, qPrintable(QString::number(maxAbsDiff(result, exact))));
            }
        }
    }

    void impossibleParametersAreRejected() {
        const auto schedule = NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000);
        auto make = [&](SolverConfig config) { MultistepSampler sampler(schedule, config); };
        DCSCOPE_EXPECT_ERROR(make(configFor(SolverType::UniPC, 2, 0)), ErrorCode::InvalidArgument, "nfe");
        DCSCOPE_EXPECT_ERROR(make(configFor(SolverType::UniPC, 4, 5)), ErrorCode::InvalidArgument, "order");
        DCSCOPE_EXPECT_ERROR(make(configFor(SolverType::UniPC, 0, 5)), ErrorCode::InvalidArgument, "order");
        auto config = configFor(SolverType::UniPC, 2, 5);
        config.dcOrder = 4;
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "dc-order");
        config.dcOrder = 2;
        config.ratios = {0.9, 1, 1, 1, 1};
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "rho_0");
        config.ratios = {1, 1.2, 1, 1, 1};
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "rho_1");
        config.ratios = {1, 1, 1, 1};
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "ratios");
        config.ratios = {1, 1, NAN, 1, 1};
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "rho_2");
        config.ratios.clear();
        config.disabledCorrectors = {7};
        DCSCOPE_EXPECT_ERROR(make(config), ErrorCode::InvalidArgument, "disable-corrector");
        QVERIFY_THROWS_NO_EXCEPTION(make(configFor(SolverType::UniPC, 3, 1)));
    }

    void badNoiseIsRejectedBeforeAnyModelCall() {
        auto model = std::make_shared<CountingModel>(GaussianMixtureModel::builtin("gmm-image"));
        GuidedDenoiser denoiser(*model, Conditioning{});
        const auto config = configFor(SolverType::UniPC, 2, 4);
        DCSCOPE_EXPECT_ERROR(sample(denoiser, at::randn({2, 1, 8, 7}), config), ErrorCode::InvalidArgument, "shape");
        DCSCOPE_EXPECT_ERROR(sample(denoiser, at::randn({1, 8, 8}), config), ErrorCode::InvalidArgument, "shape");
        auto nanNoise = at::randn({2, 1, 8, 8});
        nanNoise[1][0][3][3] = NAN;
        DCSCOPE_EXPECT_ERROR(sample(denoiser, nanNoise, config), ErrorCode::NonFinite, "NaN");
        QCOMPARE(model->calls, 0);
        GuidedDenoiser conditioned(*model, Conditioning{at::tensor({1L, 2L, 3L}), 2.0});
        DCSCOPE_EXPECT_ERROR(sample(conditioned, at::randn({2, 1, 8, 8}), config), ErrorCode::InvalidArgument, "class");
        DCSCOPE_EXPECT_ERROR(GuidedDenoiser(*model, Conditioning{at::tensor({4L}), 2.0}), ErrorCode::InvalidArgument, "class");
    }

    void cancellationStopsBeforeTheNextModelCall() {
        auto model = std::make_shared<CountingModel>(GaussianMixtureModel::builtin("gmm-image"));
        CancelToken token;
        GuidedDenoiser denoiser(*model, Conditioning{}, &token);
        const MultistepSampler sampler(model->schedule(), configFor(SolverType::UniPC, 2, 10));
        int lastStep = -1;
        DCSCOPE_EXPECT_ERROR(sampler.run(denoiser, at::randn({2, 1, 8, 8}),
                                         [&](const StepReport& r) {
                                             lastStep = r.step;
                                             if (r.step == 3) token.requestCancel();
                                         }),
                             ErrorCode::Cancelled, "cancelled");
        QCOMPARE(lastStep, 3);
        QCOMPARE(model->calls, 4);  // t_0..t_3 evaluated, nothing after the request
    }

    void nanFromTheModelIsReportedWithItsTime() {
        class NanModel : public DiffusionModel {
        public:
            NanModel() : DiffusionModel(GaussianMixtureModel::builtin("gmm-image")->info(), NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000)) {}
            at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor&) override {
                return t[0].item<double>() < 500 ? at::full_like(x, NAN) : at::zeros_like(x);
            }
            void moveTo(const c10::Device&) override {}
        } model;
        GuidedDenoiser denoiser(model, Conditioning{});
        DCSCOPE_EXPECT_ERROR(sample(denoiser, at::randn({1, 1, 8, 8}), configFor(SolverType::UniPC, 2, 6)), ErrorCode::NonFinite,
                             "NaN/Inf at t = ");
    }

    void observerSeesEveryStep() {
        auto model = GaussianMixtureModel::builtin("gmm2d");
        GuidedDenoiser denoiser(*model, Conditioning{at::tensor({0L, 3L}), 4.0});
        auto config = configFor(SolverType::UniPC, 3, 6);
        config.ratios = {1, 1, 0.9, 1.1, 1.0, 0.95};
        const MultistepSampler sampler(model->schedule(), config);
        std::vector<StepReport> reports;
        const auto result = sampler.run(denoiser, at::randn({2, 2}), [&](const StepReport& r) { reports.push_back(r); });
        QCOMPARE(int(reports.size()), 7);
        for (int i = 0; i <= 6; ++i) {
            QCOMPARE(reports[size_t(i)].step, i);
            QCOMPARE(reports[size_t(i)].t, sampler.times()[size_t(i)]);
            QCOMPARE(reports[size_t(i)].nfe, std::min(i + 1, 6));
            QCOMPARE(reports[size_t(i)].x.sizes(), (c10::IntArrayRef{2, 2}));
        }
        QCOMPARE(reports[4].ratio, 1.1);
        QVERIFY(at::equal(reports.back().x, result));
        QVERIFY(reports[1].lambda < reports[2].lambda);
    }

    void aRatioThatBlowsTheStateUpIsNamedNotTheModel_data() {
        QTest::addColumn<int>("step");
        QTest::addColumn<double>("rho");
        QTest::newRow("overflowing compensation") << 3 << 1e200;  // the quadratic in rho overflows to inf
        QTest::newRow("finite but absurd") << 2 << 1e30;           // finite state, the next model call gives NaN/Inf
        QTest::newRow("last update") << 5 << 1e200;               // no model call after it
    }
    void aRatioThatBlowsTheStateUpIsNamedNotTheModel() {
        QFETCH(int, step);
        QFETCH(double, rho);
        const auto model = GaussianMixtureModel::builtin("gmm-image");
        const auto noise = noiseFor(*model, 2, 3);
        auto config = configFor(SolverType::UniPC, 2, 6);
        config.ratios.assign(6, 1.0);
        config.ratios[size_t(step)] = rho;
        GuidedDenoiser denoiser(*model, Conditioning{at::tensor({0L, 1L}), 3.0});
        const QString expected = QString("step %1: compensation with rho_%1 = ").arg(step);
        try {
            const at::Tensor x = sample(denoiser, noise, config);
            // Only a state that actually stopped being finite must fail.
            QVERIFY2(at::isfinite(x).all().item<bool>(), "a non-finite result was returned without an error");
        } catch (const Error& e) {
            QCOMPARE(e.code(), ErrorCode::NonFinite);
            QVERIFY2(QString(e.what()).startsWith(expected), e.what());
            QVERIFY2(!QString(e.what()).contains("model"), e.what());
        }
        // The overflowing cases must fail.
        if (rho > 1e100) DCSCOPE_EXPECT_ERROR(sample(denoiser, noise, config), ErrorCode::NonFinite, expected.toStdString());
    }
};

QTEST_APPLESS_MAIN(TestSolver)
#include "test_solver.moc"
