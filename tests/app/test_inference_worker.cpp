#include <QtTest/QtTest>

#include <memory>
#include <thread>

#include <ATen/ATen.h>

#ifdef __linux__
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "background_priority.h"
#include "inference_controller.h"
#include "inference_worker.h"

namespace {

SamplingRequest gmmImageRequest(int steps) {
    SamplingRequest request;
    request.modelSpec = "builtin:gmm-image";
    request.solver.steps = steps;
    request.ratios.assign(size_t(steps), 1.0);
    request.batchSize = 4;
    request.guidanceScale = 3.0;
    request.seed = 7;
    return request;
}

// Far more steps than can finish before the test reacts: a run that only ends when cancelled.
SamplingRequest endlessRequest() {
    SamplingRequest request = gmmImageRequest(100000);
    request.ratios.clear();
    request.computeGroundTruth = false;
    return request;
}

template <typename T>
std::shared_ptr<const T> argument(const QSignalSpy& spy, int call, int index = 0) {
    return spy.at(call).at(index).value<std::shared_ptr<const T>>();
}

}  // namespace

class TestInferenceWorker : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        // Ground truths go to a fresh disk cache, never the user's.
        QVERIFY(m_cache.isValid());
        qputenv("XDG_CACHE_HOME", m_cache.path().toLocal8Bit());
    }

    void reportsEveryStepAndFinishes() {
        InferenceController controller;
        QSignalSpy loaded(&controller, &InferenceController::modelLoaded);
        QSignalSpy progress(&controller, &InferenceController::stepProgress);
        QSignalSpy finished(&controller, &InferenceController::finished);
        QSignalSpy failed(&controller, &InferenceController::failed);
        SamplingRequest request = gmmImageRequest(6);
        request.computeGroundTruth = false;
        const int id = controller.submit(request)->id;
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(failed.count(), 0);

        QCOMPARE(loaded.count(), 1);
        const auto model = argument<ModelSummary>(loaded, 0);
        QCOMPARE(model->labels.size(), 4);
        QVERIFY(!model->pointModel);

        // Queued delivery keeps order: steps 0..6 of the plain run, nothing else (rho = 1).
        QCOMPARE(progress.count(), 7);
        for (int step = 0; step <= 6; ++step) {
            const auto update = argument<StepUpdate>(progress, step);
            QCOMPARE(update->requestId, id);
            QCOMPARE(update->run, SamplingRun::Plain);
            QCOMPARE(update->step, step);
            QCOMPARE(update->totalSteps, 6);
            QCOMPARE(update->preview.size(), 4);
        }
        QCOMPARE(argument<StepUpdate>(progress, 6)->progress, 1.0);

        const auto result = argument<SamplingResult>(finished, 0);
        QCOMPARE(result->requestId, id);
        QCOMPARE(result->nfePerRun, 6);
        QVERIFY(!result->compensated);
        QCOMPARE(result->plainImages.size(), 4);
        QCOMPARE(result->plainImages.first().size(), QSize(8, 8));
        QCOMPARE(result->compensatedImages, result->plainImages);
        QVERIFY(!result->hasGroundTruth);
    }

    void compensationAndGroundTruthGiveErrorCurves() {
        InferenceController controller;
        QSignalSpy finished(&controller, &InferenceController::finished);
        QSignalSpy progress(&controller, &InferenceController::stepProgress);
        SamplingRequest request = gmmImageRequest(6);
        request.ratios = {1.0, 1.0, 0.8, 1.2, 0.9, 1.1};
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        const auto result = argument<SamplingResult>(finished, 0);
        QVERIFY(result->compensated);
        QVERIFY(result->compensatedImages != result->plainImages);
        QVERIFY(result->hasGroundTruth);
        // Core's default ground truth: 200 fine steps over 6 intervals are 33 per interval, landing on every t_k.
        QCOMPARE(result->groundTruthFineSteps, 6 * 33);
        QCOMPARE(result->groundTruthSolver, QString::fromStdString(dcscope::displayName(dcscope::GroundTruthOptions{}.fineSolver)));
        QCOMPARE(result->groundTruthImages.size(), 4);
        QVERIFY(result->groundTruthError > 0.0 && result->groundTruthError < 0.05);
        QCOMPARE(result->plainError.size(), 6);
        QCOMPARE(result->compensatedError.size(), 6);
        QCOMPARE(result->plainError.first().x(), 1.0);
        // Each point is the RMS distance of that step's state to the ground truth at t_k, as core
        // computes them for the same datapoints (seed 7: datapoints 7..10, classes in turn).
        {
            const auto model = dcscope::GaussianMixtureModel::builtin("gmm-image");
            const dcscope::Datapoints data = dcscope::makeDatapoints(*model, 7, 4);
            dcscope::GuidedDenoiser denoiser(*model, dcscope::Conditioning{data.classes, 3.0});
            for (const bool compensated : {false, true}) {
                dcscope::SolverConfig config = request.solver;
                config.ratios = compensated ? request.ratios : std::vector<double>{};
                const dcscope::MultistepSampler sampler(model->schedule(), config);
                dcscope::GroundTruthOptions options;
                options.useCache = false;
                const dcscope::GroundTruth truth = dcscope::computeGroundTruth(denoiser, data.noise, sampler.times(), options);
                std::vector<at::Tensor> states;
                sampler.run(denoiser, data.noise, [&](const dcscope::StepReport& report) { states.push_back(report.x); });
                const QVector<QPointF>& curve = compensated ? result->compensatedError : result->plainError;
                QCOMPARE(states.size(), size_t(7));  // t_0 .. t_6
                for (int k = 1; k <= 6; ++k) {
                    const double expected =
                        (states[size_t(k)].to(at::kDouble) - truth.states[size_t(k)].to(at::kDouble)).pow(2).mean().sqrt().item<double>();
                    QCOMPARE(curve[k - 1].x(), double(k));
                    QVERIFY2(std::abs(curve[k - 1].y() - expected) <= 1e-9 * expected,
                             qPrintable(QString("step %1: %2 vs %3").arg(k).arg(curve[k - 1].y()).arg(expected)));
                }
            }
        }
        // The ground truth is far more accurate than 6 UniPC steps: the plain error dominates its own.
        QVERIFY(result->plainError.last().y() > result->groundTruthError);
        // Steps 1 and 2 come before the first ratio that is not 1: both runs agree there exactly.
        QCOMPARE(result->compensatedError[1].y(), result->plainError[1].y());
        QVERIFY(result->compensatedError.last().y() != result->plainError.last().y());
        // The compensated run resumed from the plain run's step 2 (rho_0 = rho_1 = 1).
        QCOMPARE(result->compensatedResumedFrom, 2);
        int compensatedSteps = 0, truthReports = 0;
        for (int i = 0; i < progress.count(); ++i) {
            compensatedSteps += argument<StepUpdate>(progress, i)->run == SamplingRun::Compensated;
            truthReports += argument<StepUpdate>(progress, i)->run == SamplingRun::GroundTruth;
        }
        QCOMPARE(compensatedSteps, 4);  // steps 3..6 only
        QVERIFY(truthReports > 0);
    }

    void resumedRunsEqualFullRuns() {
        SamplingRequest first = gmmImageRequest(8);
        first.ratios = {1.0, 1.0, 0.9, 1.1, 0.95, 1.05, 1.0, 1.1};
        SamplingRequest edited = first;
        edited.ratios[5] = 0.8;  // rho_0..rho_4 unchanged: resumes from state 5
        edited.ratios[6] = 1.2;

        InferenceController incremental;
        QSignalSpy finished(&incremental, &InferenceController::finished);
        QSignalSpy progress(&incremental, &InferenceController::stepProgress);
        incremental.submit(first);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        progress.clear();
        incremental.submit(edited);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        const auto resumed = argument<SamplingResult>(finished, 1);
        QCOMPARE(resumed->compensatedResumedFrom, 5);
        QCOMPARE(progress.count(), 3);  // compensated steps 6, 7, 8 and nothing else
        // Kept: the plain run (8 calls), the compensated run up to state 5 (the calls at t_0..t_5)
        // and the ground truth of the first request.
        QVERIFY(resumed->groundTruthReused);
        const int truthCalls = argument<SamplingResult>(finished, 0)->groundTruthModelCalls;
        QVERIFY(truthCalls > 0);
        QCOMPARE(resumed->modelCallsSaved, 8 + 6 + truthCalls);

        InferenceController fresh;
        QSignalSpy freshFinished(&fresh, &InferenceController::finished);
        fresh.submit(edited);
        QTRY_COMPARE_WITH_TIMEOUT(freshFinished.count(), 1, 60000);
        const auto full = argument<SamplingResult>(freshFinished, 0);
        QCOMPARE(full->compensatedResumedFrom, 2);
        // Bit for bit: the RMS distances of every step to the same ground truth are equal doubles.
        QCOMPARE(resumed->compensatedError.size(), 8);
        for (int k = 0; k < 8; ++k) QCOMPARE(resumed->compensatedError[k].y(), full->compensatedError[k].y());
        QCOMPARE(resumed->compensatedImages, full->compensatedImages);
        // The frames of the steps before the resume are the first result's, kept; the others are
        // drawn again: every frame equals the full run's.
        const auto firstResult = argument<SamplingResult>(finished, 0);
        QCOMPARE(resumed->predictionFrames.size(), 9);
        for (const bool predictions : {true, false}) {
            const QVector<ComparisonFrame>& resumedFrames = predictions ? resumed->predictionFrames : resumed->stateFrames;
            const QVector<ComparisonFrame>& fullFrames = predictions ? full->predictionFrames : full->stateFrames;
            const QVector<ComparisonFrame>& firstFrames = predictions ? firstResult->predictionFrames : firstResult->stateFrames;
            QCOMPARE(resumedFrames.size(), fullFrames.size());
            for (int k = 0; k < fullFrames.size(); ++k) {
                QCOMPARE(resumedFrames[k].plain, fullFrames[k].plain);
                QCOMPARE(resumedFrames[k].compensated, fullFrames[k].compensated);
                QCOMPARE(resumedFrames[k].groundTruth, fullFrames[k].groundTruth);
                QCOMPARE(resumedFrames[k].compensatedDifference.size(), 4);
                for (int b = 0; b < 4; ++b)
                    QCOMPARE(resumedFrames[k].compensatedDifference[b].values, fullFrames[k].compensatedDifference[b].values);
            }
            // Step 8's compensated state moved with rho_6, so the kept frames did not stand in for it.
            QVERIFY(resumedFrames[8].compensated != firstFrames[8].compensated);
        }
        QCOMPARE(resumed->trajectoryScene.groundTruthFine, full->trajectoryScene.groundTruthFine);
        QCOMPARE(resumed->trajectoryScene.compensated, full->trajectoryScene.compensated);
    }

    void ratioEditsReuseThePlainRunAndTheGroundTruth() {
        InferenceController controller;
        QSignalSpy progress(&controller, &InferenceController::stepProgress);
        QSignalSpy samplesReady(&controller, &InferenceController::samplesReady);
        QSignalSpy finished(&controller, &InferenceController::finished);
        SamplingRequest request = gmmImageRequest(6);
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(samplesReady.count(), 1);  // samples first, then the ground truth
        QVERIFY(!argument<SamplingResult>(samplesReady, 0)->hasGroundTruth);
        const auto first = argument<SamplingResult>(finished, 0);
        QVERIFY(!first->plainReused && !first->groundTruthReused);

        progress.clear();
        request.ratios = {1.0, 1.0, 1.0, 1.3, 1.0, 1.0};
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QCOMPARE(samplesReady.count(), 1);  // nothing left to wait for after the samples
        const auto second = argument<SamplingResult>(finished, 1);
        QVERIFY(second->plainReused && second->groundTruthReused && second->compensated);
        QCOMPARE(second->plainImages, first->plainImages);
        QCOMPARE(second->plainError, first->plainError);
        QCOMPARE(second->groundTruthImages, first->groundTruthImages);
        QCOMPARE(progress.count(), 3);  // only compensated steps 4..6 made model calls
        for (int i = 0; i < progress.count(); ++i) QCOMPARE(argument<StepUpdate>(progress, i)->run, SamplingRun::Compensated);

        request.seed = 8;  // new noise: everything runs again
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 60000);
        QVERIFY(!argument<SamplingResult>(finished, 2)->plainReused);
        QVERIFY(!argument<SamplingResult>(finished, 2)->groundTruthReused);
    }

    void pointModelGivesPathsPerSample() {
        InferenceController controller;
        QSignalSpy loaded(&controller, &InferenceController::modelLoaded);
        QSignalSpy finished(&controller, &InferenceController::finished);
        SamplingRequest request = gmmImageRequest(6);
        request.modelSpec = "builtin:gmm2d";
        request.batchSize = 10;
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QVERIFY(argument<ModelSummary>(loaded, 0)->pointModel);
        const auto result = argument<SamplingResult>(finished, 0);
        QCOMPARE(result->trajectoryScene.density.means.size(), 8);
        QCOMPARE(result->trajectoryScene.density.stds, QVector<double>(8, 0.08));
        QCOMPARE(result->trajectoryScene.density.classes, (QVector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
        QCOMPARE(result->trajectoryScene.density.labels.size(), 4);
        QCOMPARE(result->plainPaths.size(), 10);
        QCOMPARE(result->plainPaths.first().size(), 7);  // t_0..t_6
        QCOMPARE(result->groundTruthPaths.first().size(), 7);
        QVERIFY(result->plainImages.isEmpty());
        // An edited mixture of the same model: sampled as the model, without a new model load
        // (the window keeps its state), and not cached under the built-in's identity.
        auto edited = std::make_shared<dcscope::MixtureDefinition>();
        edited->name = "one mode";
        edited->labels = {"all"};
        edited->components.push_back({{0.5, -0.5}, 1.0, 0.05, 0});
        request.editedMixture = edited;
        request.classChoice = SamplingRequest::kUnconditional;
        request.guidanceScale = 1.0;
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QCOMPARE(loaded.count(), 1);
        const auto shaped = argument<SamplingResult>(finished, 1);
        QCOMPARE(shaped->trajectoryScene.density.means, (QVector<QPointF>{QPointF(0.5, -0.5)}));
        for (const auto& path : shaped->groundTruthPaths)
            QVERIFY(std::hypot(path.last().x() - 0.5, path.last().y() + 0.5) < 0.3);  // every sample from the one mode
        QVERIFY(shaped->plainRecord.modelSpec.find("unsaved") != std::string::npos);
    }

    void cancelMidRunEndsWithCancelled() {
        InferenceController controller;
        QSignalSpy progress(&controller, &InferenceController::stepProgress);
        QSignalSpy finished(&controller, &InferenceController::finished);
        QSignalSpy cancelled(&controller, &InferenceController::cancelled);
        const int id = controller.submit(endlessRequest())->id;
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000);
        controller.cancel();  // what the GUI's Cancel button does: set the token directly
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
        QCOMPARE(cancelled.first().first().toInt(), id);
        QCOMPARE(finished.count(), 0);
        QVERIFY(argument<StepUpdate>(progress, progress.count() - 1)->step < endlessRequest().solver.steps);
    }

    void modelThreadsGiveWayToTheWindow() {
#ifdef __linux__
        // A sandbox may refuse the policy; the controller then runs on without it.
        bool idleAllowed = false;
        std::thread probe([&] {
            lowerThisThreadsPriority();
            idleAllowed = ::sched_getscheduler(0) == SCHED_IDLE;
        });
        probe.join();
        if (!idleAllowed) QSKIP("this machine refuses SCHED_IDLE to its threads");
        InferenceController controller;
        QSignalSpy progress(&controller, &InferenceController::stepProgress);
        controller.submit(endlessRequest());
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000);
        // The inference thread, by the name the controller gives it (the kernel keeps 15 bytes).
        pid_t inference = 0;
        for (const QString& task : QDir(QStringLiteral("/proc/self/task")).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            QFile comm(QStringLiteral("/proc/self/task/%1/comm").arg(task));
            if (comm.open(QIODevice::ReadOnly) && comm.readAll().trimmed() == QByteArray("dcscope-inference").left(15))
                inference = pid_t(task.toInt());
        }
        QVERIFY(inference > 0);
        QCOMPARE(::sched_getscheduler(inference), SCHED_IDLE);
        QCOMPARE(::getpriority(PRIO_PROCESS, id_t(inference)), 19);
        // This thread, the window's, keeps the normal policy.
        QCOMPARE(::sched_getscheduler(pid_t(::syscall(SYS_gettid))), SCHED_OTHER);
        controller.cancel();
#else
        QSKIP("per-thread scheduling policies are checked on Linux only");
#endif
    }

    void newerRequestSupersedesOlder() {
        InferenceController controller;
        QSignalSpy finished(&controller, &InferenceController::finished);
        QSignalSpy cancelled(&controller, &InferenceController::cancelled);
        const int slowId = controller.submit(endlessRequest())->id;
        const int fastId = controller.submit(gmmImageRequest(6))->id;
        QVERIFY(fastId > slowId);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(argument<SamplingResult>(finished, 0)->requestId, fastId);
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.first().first().toInt(), slowId);
        QCOMPARE(controller.latestRequestId(), fastId);
    }

    void badModelPathFailsWithOneLine() {
        InferenceController controller;
        QSignalSpy failed(&controller, &InferenceController::failed);
        QSignalSpy finished(&controller, &InferenceController::finished);
        SamplingRequest request = gmmImageRequest(6);
        request.modelSpec = DCSCOPE_SOURCE_DIR "/tests/data/no-such-model";
        const int id = controller.submit(request)->id;
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QCOMPARE(finished.count(), 0);
        QCOMPARE(failed.first().at(0).toInt(), id);
        const QString message = failed.first().at(1).toString();
        QVERIFY2(message.contains(QStringLiteral("no-such-model")), qPrintable(message));
        QVERIFY(!message.contains(QLatin1Char('\n')));

        // The worker survives a failure and serves the next request.
        controller.submit(gmmImageRequest(6));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    }

    void invalidRatiosFailWithTheField() {
        InferenceController controller;
        QSignalSpy failed(&controller, &InferenceController::failed);
        SamplingRequest request = gmmImageRequest(6);
        request.ratios = {0.5, 1.0, 1.0, 1.0, 1.0, 1.0};  // rho_0 must be 1
        controller.submit(request);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QVERIFY(failed.first().at(1).toString().startsWith(QStringLiteral("ratios:")));
    }

    void samplesAreTheDatapointsOfTheirSeeds() {
        // Sample b of seed N is datapoint N + b: the same start noise the CLI's search uses.
        InferenceController controller;
        QSignalSpy finished(&controller, &InferenceController::finished);
        SamplingRequest pair = gmmImageRequest(5);
        pair.batchSize = 2;
        pair.computeGroundTruth = false;
        controller.submit(pair);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        SamplingRequest second = pair;
        second.seed = pair.seed + 1;
        second.batchSize = 1;
        second.classChoice = 1;  // datapoint 1's class in the "each class in turn" batch
        controller.submit(second);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QCOMPARE(argument<SamplingResult>(finished, 1)->plainImages.first(), argument<SamplingResult>(finished, 0)->plainImages[1]);
    }

    void shutdownDuringARunReturnsPromptly() {
        QElapsedTimer timer;
        timer.start();
        {
            InferenceController controller;
            QSignalSpy progress(&controller, &InferenceController::stepProgress);
            controller.submit(endlessRequest());
            QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000);
        }  // destructor: cancel, quit, wait
        QVERIFY(timer.elapsed() < 5000);
    }
private:
    QTemporaryDir m_cache;
};

QTEST_MAIN(TestInferenceWorker)
#include "test_inference_worker.moc"
