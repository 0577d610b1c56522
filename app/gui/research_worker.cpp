#include "research_worker.h"

#include <chrono>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "dcscope/errors.h"
#include "error_line.h"
#include "dcscope/evaluation.h"
#include "dcscope/model.h"
#include "dcscope/threads.h"
#include "dcscope/torchscript_model.h"

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }


QString searchStepText(const dcscope::SearchStepReport& report) {
    if (!report.searched) return QStringLiteral("step %1 of %2: warm-up (rho = 1)").arg(report.step + 1).arg(report.totalSteps);
    QString text = QStringLiteral("step %1 of %2: rho %3, state MSE %4 -> %5")
                       .arg(report.step + 1)
                       .arg(report.totalSteps)
                       .arg(report.rho, 0, 'f', 4)
                       .arg(report.lossBefore, 0, 'e', 3)
                       .arg(report.lossAfter, 0, 'e', 3);
    if (std::isfinite(report.predictionLossBefore))
        text += QStringLiteral(", prediction MSE %1 -> %2").arg(report.predictionLossBefore, 0, 'e', 3).arg(report.predictionLossAfter, 0, 'e', 3);
    return text;
}

}  // namespace

ResearchWorker::ResearchWorker(QObject* parent) : QObject(parent) {}

ResearchWorker::~ResearchWorker() = default;

void ResearchWorker::run(std::shared_ptr<const ResearchJob> job) {
    const int id = job->id;
    try {
        job->cancel->throwIfCancelled();
        // OpenMP keeps its thread count per thread: this one takes the count the window set.
        dcscope::applyIntraOpThreadsToThisThread();
        ensureModel(*job);
        const auto start = Clock::now();
        auto outcome = std::make_shared<ResearchOutcome>();
        outcome->jobId = id;
        outcome->kind = job->kind;
        outcome->solver = job->solver;
        outcome->modelSource = m_model->info().source;
        switch (job->kind) {
        case ResearchJob::Kind::Search: runSearch(*job, *outcome); break;
        case ResearchJob::Kind::CprFit: runCprFit(*job, *outcome); break;
        case ResearchJob::Kind::Evaluation: runEvaluation(*job, *outcome); break;
        case ResearchJob::Kind::Sweep: runSweep(*job, *outcome); break;
        }
        outcome->seconds = secondsSince(start);
        Q_EMIT finished(outcome);
    } catch (const dcscope::Error& error) {
        if (error.code() == dcscope::ErrorCode::Cancelled)
            Q_EMIT cancelled(id);
        else
            Q_EMIT failed(id, firstLine(error.what()));
    } catch (const c10::Error& error) {
        Q_EMIT failed(id, firstLine(error.what_without_backtrace()));
    } catch (const std::exception& error) {
        Q_EMIT failed(id, firstLine(error.what()));
    } catch (...) {
        Q_EMIT failed(id, QStringLiteral("unknown error in a research job"));
    }
}

void ResearchWorker::ensureModel(const ResearchJob& job) {
    if (m_model && job.modelSpec == m_modelSpec && job.device == m_device) return;
    m_model.reset();
    m_model = dcscope::loadModel(job.modelSpec, dcscope::parseDevice(job.device));
    m_modelSpec = job.modelSpec;
    m_device = job.device;
}

void ResearchWorker::runSearch(const ResearchJob& job, ResearchOutcome& outcome) {
    const auto start = Clock::now();
    dcscope::RatioSearchSettings settings = job.search;
    settings.device = dcscope::parseDevice(job.device);
    outcome.guidance = settings.guidance;
    const auto send = [&](int done, int total, const QString& text, const dcscope::SearchStepReport* step) {
        auto update = std::make_shared<ResearchProgress>();
        update->jobId = job.id;
        update->done = done;
        update->total = total;
        update->seconds = secondsSince(start);
        update->text = text;
        if (step) update->step = *step;
        Q_EMIT progress(update);
    };
    const dcscope::GroundTruthProgress truthProgress = [&](int done, int total) {
        // Every call would flood the GUI's queue; a few dozen updates are enough for a bar.
        if (done == total || done % std::max(1, total / 40) == 0)
            send(done, total, QStringLiteral("ground truth: %1 of %2 model calls").arg(done).arg(total), nullptr);
    };
    const dcscope::SearchObserver observer = [&](const dcscope::SearchStepReport& report) {
        send(report.step + 1, report.totalSteps, searchStepText(report), &report);
    };
    send(0, 0, QStringLiteral("ground truth of the search batch"), nullptr);
    outcome.search = dcscope::runRatioSearch(*m_model, job.solver, settings, job.cancel.get(), observer, truthProgress);
}

void ResearchWorker::runCprFit(const ResearchJob& job, ResearchOutcome& outcome) {
    const auto start = Clock::now();
    dcscope::CprGridSettings settings;
    settings.nfes = job.cprNfes;
    settings.guidances = job.cprGuidances;
    settings.search = job.search;
    settings.search.device = dcscope::parseDevice(job.device);
    int totalSteps = 0;
    for (const int nfe : job.cprNfes) totalSteps += nfe * int(job.cprGuidances.size());
    int stepsBefore = 0;  // of the configurations already searched
    int lastConfiguration = 0;
    int lastSteps = 0;
    const dcscope::CprGridObserver observer = [&](int configuration, int configurations, int nfe, double guidance,
                                                  const dcscope::SearchStepReport& report) {
        if (configuration != lastConfiguration) {
            stepsBefore += lastSteps;
            lastConfiguration = configuration;
        }
        lastSteps = nfe;
        auto update = std::make_shared<ResearchProgress>();
        update->jobId = job.id;
        update->done = stepsBefore + report.step + 1;
        update->total = totalSteps;
        update->seconds = secondsSince(start);
        update->text = QStringLiteral("search %1 of %2 (nfe %3, cfg %4): %5")
                           .arg(configuration + 1)
                           .arg(configurations)
                           .arg(nfe)
                           .arg(guidance)
                           .arg(searchStepText(report));
        update->step = report;
        update->configuration = configuration;
        Q_EMIT progress(update);
    };
    outcome.cpr = dcscope::fitCprFromSearchGrid(*m_model, job.solver, settings, job.cancel.get(), observer);
}

void ResearchWorker::runEvaluation(const ResearchJob& job, ResearchOutcome& outcome) {
    const auto start = Clock::now();
    dcscope::HeldOutSettings settings = job.heldOut;
    settings.device = dcscope::parseDevice(job.device);
    outcome.guidance = settings.guidance;
    outcome.heldOutFirstSeed = settings.seed + dcscope::kHeldOutSeedOffset;
    const std::vector<dcscope::EvaluationEntry> entries = dcscope::heldOutEntries(job.solver, job.dcRatios, job.cprRatios, job.baselines);

    const auto* package = dynamic_cast<dcscope::TorchScriptModel*>(m_model.get());
    std::unique_ptr<dcscope::QualityModel> quality;
    if (job.qualitySamples > 0 && package && package->manifest().contains("quality")) quality = dcscope::QualityModel::open(*package);
    // Quality covers the rows that differ only in their ratios (plain, DC, CPR): the baselines are
    // other solvers at the same NFE and the quality figures are costly.
    std::vector<size_t> qualityRows;
    if (quality)
        for (size_t i = 0; i < entries.size(); ++i)
            if (entries[i].config.solver == job.solver.solver) qualityRows.push_back(i);
    const int total = int(entries.size() + qualityRows.size());
    const auto send = [&](int done, const QString& text) {
        auto update = std::make_shared<ResearchProgress>();
        update->jobId = job.id;
        update->done = done;
        update->total = total;
        update->seconds = secondsSince(start);
        update->text = text;
        Q_EMIT progress(update);
    };

    // One row at a time, for progress: the ground truth is computed with the first row and read
    // from the disk cache for the others, so every row is judged against the same states as in
    // one evaluateHeldOut call (`dcscope-cli evaluate`).
    dcscope::HeldOutEvaluation& evaluation = outcome.evaluation;
    evaluation.groundTruthError = 0.0;
    evaluation.groundTruthErrorRms = 0.0;
    for (size_t i = 0; i < entries.size(); ++i) {
        send(int(i), QStringLiteral("held-out MSE of %1 (%2 of %3)")
                         .arg(QString::fromStdString(entries[i].name))
                         .arg(i + 1)
                         .arg(entries.size()));
        const dcscope::HeldOutEvaluation row = dcscope::runHeldOutEvaluation(*m_model, {entries[i]}, settings, job.cancel.get());
        evaluation.rows.push_back(row.rows.front());
        evaluation.groundTruthError = dcscope::worseGroundTruthError(evaluation.groundTruthError, row.groundTruthError);
        evaluation.groundTruthErrorRms = dcscope::worseGroundTruthError(evaluation.groundTruthErrorRms, row.groundTruthErrorRms);
        evaluation.groundTruthEvaluations += row.groundTruthEvaluations;
    }
    for (size_t q = 0; q < qualityRows.size(); ++q) {
        const dcscope::EvaluationEntry& entry = entries[qualityRows[q]];
        send(int(entries.size() + q), QStringLiteral("class accuracy and Frechet distance of %1 (%2 samples)")
                                          .arg(QString::fromStdString(entry.name))
                                          .arg(job.qualitySamples));
        auto* network = dynamic_cast<dcscope::TorchScriptModel*>(m_model.get());
        outcome.quality.push_back({entry.name, dcscope::measureQuality(*network, *quality, entry.config, settings.guidance,
                                                                        job.qualitySamples, 250, settings.seed, job.cancel.get())});
    }
    send(total, QStringLiteral("done"));
}

void ResearchWorker::runSweep(const ResearchJob& job, ResearchOutcome& outcome) {
    const auto start = Clock::now();
    outcome.guidance = job.sweep.guidance;
    const SweepProgress sweepProgress = [&](int done, int total, const QString& what) {
        auto update = std::make_shared<ResearchProgress>();
        update->jobId = job.id;
        update->done = done;
        update->total = total;
        update->seconds = secondsSince(start);
        update->text = what;
        Q_EMIT progress(update);
    };
    SweepSpec spec = job.sweep;
    spec.device = job.device;
    outcome.sweep = computeSweepGrid(*m_model, spec, job.cancel.get(), sweepProgress);
}
