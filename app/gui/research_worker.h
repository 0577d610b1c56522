#pragma once

#include <memory>
#include <string>

#include <QObject>
#include <QString>

#include "research_job.h"

namespace dcscope {
class DiffusionModel;
}

/// Runs research jobs (ResearchJob) one after another on the thread it lives on, with a model of
/// its own: a search or a table takes minutes, and the workbench must keep sampling meanwhile on
/// the inference thread. The model stays resident until a job names another model or device.
/// Every job ends in exactly one of finished(), cancelled() or failed(); no exception leaves run().
class ResearchWorker : public QObject {
    Q_OBJECT

public:
    explicit ResearchWorker(QObject* parent = nullptr);
    ~ResearchWorker() override;

public Q_SLOTS:
    void run(std::shared_ptr<const ResearchJob> job);

Q_SIGNALS:
    void progress(std::shared_ptr<const ResearchProgress> progress);
    void finished(std::shared_ptr<const ResearchOutcome> outcome);
    void cancelled(int jobId);
    /// `message` is one line naming the file, field or setting at fault.
    void failed(int jobId, const QString& message);

private:
    void ensureModel(const ResearchJob& job);
    void runSearch(const ResearchJob& job, ResearchOutcome& outcome);
    void runCprFit(const ResearchJob& job, ResearchOutcome& outcome);
    void runEvaluation(const ResearchJob& job, ResearchOutcome& outcome);
    void runSweep(const ResearchJob& job, ResearchOutcome& outcome);

    std::shared_ptr<dcscope::DiffusionModel> m_model;
    std::string m_modelSpec;
    std::string m_device;
};
