// Ground truth: fine steps that land on the coarse times, against an independent hand-written
// DDIM solve; its error estimate; the on-disk cache and its corruption handling; cancellation.
#include <QTemporaryDir>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "dcscope/evaluation.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/npy.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "support/fake_models.h"
#include "support/test_support.h"

using namespace dcscope;
using dcscope::testing::maxAbsDiff;

namespace {

struct Fixture {
    std::shared_ptr<GaussianMixtureModel> model = GaussianMixtureModel::builtin("gmm-image");
    Datapoints data = makeDatapoints(*model, 7, 4);
    GuidedDenoiser denoiser{*model, Conditioning{data.classes, 7.5}};
};

// DDIM, the spec's fine solver, explicitly: the suite checks its solve against the DDIM sampler
// and the second-order default against it.
GroundTruthOptions uncached(int fine) {
    GroundTruthOptions options;
    options.fineSteps = fine;
    options.fineSolver = FineSolver::Ddim;
    options.useCache = false;
    return options;
}

GroundTruthOptions cachedIn(const QTemporaryDir& dir, int fine = 40) {
    GroundTruthOptions options;
    options.fineSteps = fine;
    options.fineSolver = FineSolver::Ddim;
    options.cacheDir = dir.path().toStdString();
    return options;
}

std::string onlyEntry(const QTemporaryDir& dir) {
    const auto names = dcscope::testing::folderEntries(dir.path().toStdString());
    return names.size() == 1 ? dir.filePath(QString::fromStdString(names[0])).toStdString() : std::string();
}

bool sameStates(const GroundTruth& a, const GroundTruth& b) {
    if (a.states.size() != b.states.size()) return false;
    for (size_t k = 0; k < a.states.size(); ++k)
        if (!at::equal(a.states[k], b.states[k])) return false;
    return a.error == b.error && a.errorRms == b.errorRms;
}

}  // namespace

class TestGroundTruth : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fineGridLandsOnEveryCoarseTime() {
        const auto model = GaussianMixtureModel::builtin("gmm-image");
        const auto coarse = makeTimeGrid(model->schedule(), TimeGrid::TimeUniform, 6);
        QCOMPARE(finePerInterval(200, 6), 33);  // rounded down: 198 fine steps in all
        QCOMPARE(finePerInterval(200, 10), 20);
        QCOMPARE(finePerInterval(5, 10), 1);    // never below one step per interval
        const auto fine = fineTimeGrid(model->schedule(), coarse, 33);
        QCOMPARE(fine.size(), size_t(6 * 33 + 1));
        for (size_t k = 0; k < coarse.size(); ++k) QCOMPARE(fine[k * 33], coarse[k]);  // exactly, not approximately
        for (size_t i = 1; i < fine.size(); ++i) QVERIFY(fine[i] < fine[i - 1]);
        // Uniform in lambda inside each interval.
        const auto& schedule = model->schedule();
        const double step = (schedule.lambda(coarse[1]) - schedule.lambda(coarse[0])) / 33;
        for (size_t i = 1; i <= 33; ++i)
            QVERIFY(std::abs(schedule.lambda(fine[i]) - schedule.lambda(fine[i - 1]) - step) < 1e-9);
    }

    void coarseStatesEqualAnIndependentFineSolve() {
        // DDIM written in its noise form, x_t = alpha_t (x_s - sigma_s e) / alpha_s + sigma_t e, on a
        // fine grid built here; the ground truth must agree at every coarse time.
        Fixture f;
        const auto& schedule = f.model->schedule();
        const int steps = 5, perInterval = 6;
        const auto coarse = makeTimeGrid(schedule, TimeGrid::TimeUniform, steps);
        const GroundTruth truth = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(steps * perInterval));
        QCOMPARE(truth.finePerInterval, perInterval);
        QCOMPARE(truth.states.size(), size_t(steps + 1));
        QCOMPARE(truth.modelEvaluations, steps * perInterval + steps * perInterval / 2);  // full + halved solve

        at::NoGradGuard noGrad;
        GuidedDenoiser denoiser(*f.model, Conditioning{f.data.classes, 7.5});
        at::Tensor x = f.data.noise.to(at::kDouble);
        QVERIFY(at::equal(truth.states[0], f.data.noise));
        for (int k = 0; k < steps; ++k) {
            const double l0 = schedule.lambda(coarse[size_t(k)]), l1 = schedule.lambda(coarse[size_t(k) + 1]);
            std::vector<double> times{coarse[size_t(k)]};
            for (int j = 1; j < perInterval; ++j) times.push_back(schedule.inverseLambda(l0 + (l1 - l0) * j / perInterval));
            times.push_back(coarse[size_t(k) + 1]);
            for (size_t i = 0; i + 1 < times.size(); ++i) {
                const double s = times[i], t = times[i + 1];
                const at::Tensor e = denoiser.noise(x.to(at::kFloat), s).to(at::kDouble);
                x = schedule.alpha(t) * (x - schedule.sigma(s) * e) / schedule.alpha(s) + schedule.sigma(t) * e;
            }
            const double difference = maxAbsDiff(truth.states[size_t(k) + 1], x);
            QVERIFY2(difference < 2e-5, qPrintable(QString("t_%1: %2").arg(k + 1).arg(difference)));
        }
    }

    void logSnrGroundTruthIsTheFineLogSnrSolve() {
        // On a logSNR grid, n lambda-uniform fine steps per interval ARE the logSNR grid of S*n
        // steps, so the sampler's own DDIM on that grid passes through the same states.
        Fixture f;
        const int steps = 4, perInterval = 5;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::LogSnr, steps);
        GroundTruthOptions options = uncached(steps * perInterval);
        options.keepFinePath = true;
        const GroundTruth truth = computeGroundTruth(f.denoiser, f.data.noise, coarse, options);
        QCOMPARE(truth.finePath.size(), size_t(steps * perInterval + 1));
        SolverConfig config;
        config.solver = SolverType::Ddim;
        config.steps = steps * perInterval;
        config.grid = TimeGrid::LogSnr;
        std::vector<at::Tensor> states;
        GuidedDenoiser denoiser(*f.model, Conditioning{f.data.classes, 7.5});
        sample(denoiser, f.data.noise, config, [&](const StepReport& report) { states.push_back(report.x); });
        for (int k = 0; k <= steps; ++k) {
            // The sampler runs the reference's float32 schedule arithmetic, the ground truth the exact
            // one: they agree to that precision.
            QVERIFY(maxAbsDiff(truth.states[size_t(k)], states[size_t(k * perInterval)]) < 2e-3);
            QVERIFY(at::equal(truth.finePath[size_t(k * perInterval)], truth.states[size_t(k)]));
        }
    }

    void errorShrinksWithMoreFineSteps() {
        Fixture f;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::TimeUniform, 5);
        const double coarseError = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(40)).error;
        const double fineError = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(160)).error;
        QVERIFY2(fineError < coarseError / 2.5, qPrintable(QString("%1 -> %2").arg(coarseError).arg(fineError)));
        // The second-order fine solver is far more accurate for the same cost.
        GroundTruthOptions second = uncached(160);
        second.fineSolver = FineSolver::DpmSolverPlusPlus2M;
        const double secondError = computeGroundTruth(f.denoiser, f.data.noise, coarse, second).error;
        QVERIFY2(secondError < fineError / 4, qPrintable(QString("ddim %1, dpmpp2m %2").arg(fineError).arg(secondError)));
        // Both measures are the change against a solve with half the fine steps per interval: 160
        // over 5 intervals is 32 per interval, and 80 gives the 16 of its halved solve.
        const GroundTruth full = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(160));
        const GroundTruth half = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(80));
        const at::Tensor change = full.finalState().to(at::kDouble) - half.finalState().to(at::kDouble);
        QCOMPARE(full.error, change.abs().max().item<double>());
        QCOMPARE(full.errorRms, std::sqrt(change.pow(2).mean().item<double>()));
        QVERIFY(full.errorRms > 0.0 && full.errorRms < full.error);
        // One fine step per interval cannot be halved.
        const GroundTruth single = computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(5));
        QVERIFY(std::isnan(single.error) && std::isnan(single.errorRms));
    }

    void defaultFineStepsGrowWithTheNfe() {
        QCOMPARE(defaultFineSteps(5), 200);
        QCOMPARE(defaultFineSteps(10), 200);  // NFE 5-10: the 200 steps of before
        QCOMPARE(defaultFineSteps(20), 400);  // then 20 per interval
        QCOMPARE(resolveFineSteps(kDefaultFineSteps, 25), 500);
        QCOMPARE(resolveFineSteps(150, 25), 150);  // an explicit count is kept
        QCOMPARE(finePerInterval(kDefaultFineSteps, 6), 33);
        QCOMPARE(finePerInterval(kDefaultFineSteps, 15), 20);
        QCOMPARE(GroundTruthOptions{}.fineSteps, kDefaultFineSteps);
        QCOMPARE(describeFineSteps(kDefaultFineSteps), std::string("max(200, 20 x NFE)"));
        QCOMPARE(describeFineSteps(150), std::string("150"));
        DCSCOPE_EXPECT_ERROR(resolveFineSteps(-1, 10), ErrorCode::InvalidArgument, "fine: must be >= 1 (or 0 for the default), got -1");
        DCSCOPE_EXPECT_ERROR(finePerInterval(200, 0), ErrorCode::InvalidArgument, "nfe: must be >= 1");
    }

    void defaultGroundTruthJudgesHighNfeErrors() {
        // gmm2d, guidance 5, NFE 20: DC's held-out RMS error is about 0.55 of plain UniPC's there
        // (search-bench). The default ground truth must be below a tenth of it; 200 fine steps in
        // all (10 per interval, the old default) are not.
        const auto model = GaussianMixtureModel::builtin("gmm2d");
        const Datapoints data = makeDatapoints(*model, 0, 16);
        GuidedDenoiser denoiser{*model, Conditioning{data.classes, 5.0}};
        SolverConfig unipc;
        unipc.steps = 20;
        const auto coarse = makeTimeGrid(model->schedule(), unipc.grid, unipc.steps);
        GroundTruthOptions options;
        options.useCache = false;
        const GroundTruth truth = computeGroundTruth(denoiser, data.noise, coarse, options);
        QCOMPARE(truth.finePerInterval, 20);
        const double uniPcRms = std::sqrt(
            (sample(denoiser, data.noise, unipc).to(at::kDouble) - truth.finalState().to(at::kDouble)).pow(2).mean().item<double>());
        const double dcMse = std::pow(0.55 * uniPcRms, 2);
        QVERIFY2(!groundTruthTooCoarse(truth.errorRms, dcMse), qPrintable(QString("gt %1, unipc %2").arg(truth.errorRms).arg(uniPcRms)));
        options.fineSteps = 200;
        const GroundTruth old = computeGroundTruth(denoiser, data.noise, coarse, options);
        QVERIFY2(groundTruthTooCoarse(old.errorRms, dcMse), qPrintable(QString("gt %1, unipc %2").arg(old.errorRms).arg(uniPcRms)));
    }

    void cacheReturnsTheSameValues() {
        QTemporaryDir dir;
        Fixture f;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::TimeUniform, 5);
        const GroundTruth first = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
        QVERIFY(!first.fromCache);
        QVERIFY(!first.cacheFile.empty());
        QCOMPARE(onlyEntry(dir), first.cacheFile);
        const int nfe = f.denoiser.nfe();
        const GroundTruth second = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
        QVERIFY(second.fromCache);
        QCOMPARE(f.denoiser.nfe(), nfe);  // no model call
        QCOMPARE(second.modelEvaluations, 0);
        QVERIFY(sameStates(first, second));

        // Every key ingredient makes a new entry.
        GuidedDenoiser otherGuidance(*f.model, Conditioning{f.data.classes, 3.0});
        QVERIFY(!computeGroundTruth(otherGuidance, f.data.noise, coarse, cachedIn(dir)).fromCache);
        QVERIFY(!computeGroundTruth(f.denoiser, f.data.noise + 1e-3, coarse, cachedIn(dir)).fromCache);
        QVERIFY(!computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir, 60)).fromCache);
        const auto logSnr = makeTimeGrid(f.model->schedule(), TimeGrid::LogSnr, 5);
        QVERIFY(!computeGroundTruth(f.denoiser, f.data.noise, logSnr, cachedIn(dir)).fromCache);
        GroundTruthOptions secondOrder = cachedIn(dir);
        secondOrder.fineSolver = FineSolver::DpmSolverPlusPlus2M;
        QVERIFY(!computeGroundTruth(f.denoiser, f.data.noise, coarse, secondOrder).fromCache);
        GuidedDenoiser otherClasses(*f.model, Conditioning{(f.data.classes + 1).remainder(4), 7.5});
        QVERIFY(!computeGroundTruth(otherClasses, f.data.noise, coarse, cachedIn(dir)).fromCache);
        QCOMPARE(dcscope::testing::folderEntries(dir.path().toStdString()).size(), size_t(7));
    }

    void truncatedEntryIsRecomputed() {
        QTemporaryDir dir;
        Fixture f;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::TimeUniform, 5);
        const GroundTruth first = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
        const auto size = std::filesystem::file_size(first.cacheFile);
        for (const auto newSize : {size / 2, size - 1, uintmax_t(10), uintmax_t(0)}) {
            std::filesystem::resize_file(first.cacheFile, newSize);
            const GroundTruth again = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
            QVERIFY(!again.fromCache);
            QVERIFY(again.discardedCorruptEntry);
            QVERIFY(again.modelEvaluations > 0);
            QVERIFY(sameStates(first, again));
            QCOMPARE(std::filesystem::file_size(first.cacheFile), size);  // rewritten whole
            QVERIFY(computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir)).fromCache);
        }
    }

    void flippedByteIsDetected() {
        QTemporaryDir dir;
        Fixture f;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::TimeUniform, 5);
        const GroundTruth first = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
        const std::string original = readFile(first.cacheFile);
        // In the magic, the key, the length, the checksum, a tensor header and tensor data.
        for (const size_t offset : {size_t(2), size_t(9), size_t(17), size_t(25), size_t(50), original.size() - 3}) {
            std::string bytes = original;
            bytes[offset] = char(bytes[offset] ^ 0x10);
            dcscope::testing::writeBytes(first.cacheFile, bytes);
            const GroundTruth again = computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir));
            QVERIFY2(!again.fromCache && again.discardedCorruptEntry, qPrintable(QString("offset %1").arg(offset)));
            QVERIFY(sameStates(first, again));
            QCOMPARE(readFile(first.cacheFile), original);
        }
        // Leftovers of an interrupted atomic write are never read as entries.
        dcscope::testing::writeBytes(first.cacheFile + ".partial", original.substr(0, 100));
        QVERIFY(computeGroundTruth(f.denoiser, f.data.noise, coarse, cachedIn(dir)).fromCache);
    }

    void unidentifiableModelsAreNotCached() {
        QTemporaryDir dir;
        auto model = dcscope::testing::singleGaussian(4, 0.3);
        QCOMPARE(modelIdentity(*model), std::string());
        QCOMPARE(modelIdentity(*GaussianMixtureModel::builtin("gmm2d")), std::string("builtin:gmm2d"));
        GuidedDenoiser denoiser(*model, {});
        const auto noise = at::randn({2, 4});
        const auto coarse = makeTimeGrid(model->schedule(), TimeGrid::TimeUniform, 4);
        const GroundTruth truth = computeGroundTruth(denoiser, noise, coarse, cachedIn(dir));
        QVERIFY(truth.cacheFile.empty());
        QVERIFY(dcscope::testing::folderEntries(dir.path().toStdString()).empty());
        // An explicit identity makes it cacheable.
        GroundTruthOptions named = cachedIn(dir);
        named.modelIdentity = "test:single-gaussian";
        QVERIFY(!computeGroundTruth(denoiser, noise, coarse, named).cacheFile.empty());
        QVERIFY(computeGroundTruth(denoiser, noise, coarse, named).fromCache);
    }

    void reportsProgressAndCancels() {
        Fixture f;
        const auto coarse = makeTimeGrid(f.model->schedule(), TimeGrid::TimeUniform, 5);
        std::vector<std::pair<int, int>> calls;
        computeGroundTruth(f.denoiser, f.data.noise, coarse, uncached(20),
                           [&](int done, int total) { calls.emplace_back(done, total); });
        QCOMPARE(calls.size(), size_t(20 + 10));
        QCOMPARE(calls.back(), std::make_pair(30, 30));

        CancelToken token;
        GuidedDenoiser cancellable(*f.model, Conditioning{f.data.classes, 7.5}, &token);
        int seen = 0;
        DCSCOPE_EXPECT_ERROR(computeGroundTruth(cancellable, f.data.noise, coarse, uncached(20),
                                                [&](int done, int) {
                                                    seen = done;
                                                    if (done == 7) token.requestCancel();
                                                }),
                             ErrorCode::Cancelled, "cancelled");
        QCOMPARE(seen, 7);  // stopped before the next model call
        QCOMPARE(cancellable.nfe(), 7);
    }

    void defaultCacheFolderFollowsXdg() {
        const QByteArray oldXdg = qgetenv("XDG_CACHE_HOME");
        qputenv("XDG_CACHE_HOME", "/tmp/some-cache");
        QCOMPARE(defaultGroundTruthCacheDir(), std::string("/tmp/some-cache/dcscope/gt"));
        qunsetenv("XDG_CACHE_HOME");
        QCOMPARE(defaultGroundTruthCacheDir(), std::string(qgetenv("HOME").constData()) + "/.cache/dcscope/gt");
        if (!oldXdg.isEmpty()) qputenv("XDG_CACHE_HOME", oldXdg);
    }
};

QTEST_APPLESS_MAIN(TestGroundTruth)
#include "test_ground_truth.moc"
