#include "research_controller.h"

#include <QMetaType>

#include "background_priority.h"
#include "research_worker.h"

ResearchController::ResearchController(QObject* parent) : QObject(parent) {
    static const bool registered = [] {
        qRegisterMetaType<std::shared_ptr<const ResearchJob>>("std::shared_ptr<const ResearchJob>");
        qRegisterMetaType<std::shared_ptr<const ResearchProgress>>("std::shared_ptr<const ResearchProgress>");
        qRegisterMetaType<std::shared_ptr<const ResearchOutcome>>("std::shared_ptr<const ResearchOutcome>");
        return true;
    }();
    (void)registered;
    m_thread.setObjectName(QStringLiteral("dcscope-research"));
    m_worker = new ResearchWorker;  // no parent: it lives on (and dies on) the research thread
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // Runs on the new thread before any job: the model yields the CPU to the window when both want it.
    connect(&m_thread, &QThread::started, m_worker, [] { lowerThisThreadsPriority(); }, Qt::DirectConnection);
    connect(this, &ResearchController::jobQueued, m_worker, &ResearchWorker::run, Qt::QueuedConnection);
    connect(m_worker, &ResearchWorker::progress, this, &ResearchController::progress, Qt::QueuedConnection);
    connect(m_worker, &ResearchWorker::finished, this, [this](std::shared_ptr<const ResearchOutcome> outcome) {
        forget(outcome->jobId);
        Q_EMIT finished(outcome);
    }, Qt::QueuedConnection);
    connect(m_worker, &ResearchWorker::cancelled, this, [this](int jobId) {
        forget(jobId);
        Q_EMIT cancelled(jobId);
    }, Qt::QueuedConnection);
    connect(m_worker, &ResearchWorker::failed, this, [this](int jobId, const QString& message) {
        forget(jobId);
        Q_EMIT failed(jobId, message);
    }, Qt::QueuedConnection);
    m_thread.start();
}

ResearchController::~ResearchController() {
    for (auto& [id, token] : m_tokens) token->requestCancel();
    m_thread.quit();
    m_thread.wait();
}

int ResearchController::submit(ResearchJob job) {
    job.id = ++m_lastJobId;
    job.cancel = std::make_shared<dcscope::CancelToken>();
    m_tokens[job.id] = job.cancel;
    const int id = job.id;
    Q_EMIT jobQueued(std::make_shared<const ResearchJob>(std::move(job)));
    return id;
}

void ResearchController::cancel(int jobId) {
    const auto found = m_tokens.find(jobId);
    if (found != m_tokens.end()) found->second->requestCancel();
}

void ResearchController::forget(int jobId) { m_tokens.erase(jobId); }
