#pragma once

#include <map>
#include <memory>

#include <QObject>
#include <QString>
#include <QThread>

#include "research_job.h"

class ResearchWorker;

/// Owns the research thread and its worker; the GUI thread's only way to reach them. Jobs run in
/// the order submitted (a new job does not cancel a running one: each is minutes of work the user
/// asked for); cancel(id) sets that job's token directly, so it stops within one model call even
/// while it runs. Signals are re-emitted on the GUI thread. Create and use on the GUI thread.
class ResearchController : public QObject {
    Q_OBJECT

public:
    explicit ResearchController(QObject* parent = nullptr);
    /// Cancels every job, stops the thread and waits for it.
    ~ResearchController() override;

    /// Gives `job` the next id and queues it. Returns the id.
    int submit(ResearchJob job);
    void cancel(int jobId);
    /// Jobs submitted and not yet ended.
    int pendingJobs() const { return int(m_tokens.size()); }

Q_SIGNALS:
    void progress(std::shared_ptr<const ResearchProgress> progress);
    void finished(std::shared_ptr<const ResearchOutcome> outcome);
    void cancelled(int jobId);
    void failed(int jobId, const QString& message);
    /// Internal: carries jobs to the worker's thread (queued connection).
    void jobQueued(std::shared_ptr<const ResearchJob> job);

private:
    void forget(int jobId);

    QThread m_thread;
    ResearchWorker* m_worker = nullptr;  // lives on m_thread; deleted there
    std::map<int, std::shared_ptr<dcscope::CancelToken>> m_tokens;
    int m_lastJobId = 0;
};
