#pragma once

#include <memory>

#include <QObject>
#include <QString>
#include <QThread>

#include "model_summary.h"
#include "sampling_request.h"
#include "sampling_result.h"
#include "step_update.h"

class InferenceWorker;

/// Owns the inference thread and its worker, and is the GUI thread's only way to reach them.
/// Submitting a request supersedes the previous one (latest wins): its cancel token is set
/// directly, because a queued "cancel" would only arrive after the run it should stop. The
/// worker's signals are re-emitted here, on the GUI thread. Create and use on the GUI thread.
class InferenceController : public QObject {
    Q_OBJECT

public:
    explicit InferenceController(QObject* parent = nullptr);
    /// Cancels the running request, stops the thread's event loop and waits for it; the worker
    /// and its model are destroyed on the inference thread.
    ~InferenceController() override;

    /// Gives `request` the next id, cancels the previous request and queues this one. Returns
    /// the request as queued (its cancel token may be set to stop it).
    std::shared_ptr<const SamplingRequest> submit(SamplingRequest request);
    /// Cancels the latest request, if any is still running.
    void cancel();
    /// Id of the latest submitted request (0 before the first).
    int latestRequestId() const { return m_latestRequestId; }

Q_SIGNALS:
    void modelLoaded(std::shared_ptr<const ModelSummary> summary);
    void stepProgress(std::shared_ptr<const StepUpdate> update);
    void samplesReady(std::shared_ptr<const SamplingResult> result);
    void finished(std::shared_ptr<const SamplingResult> result);
    void cancelled(int requestId);
    void failed(int requestId, const QString& message);
    void threadsConfigured(int count, const QString& description);
    /// Internal: carries requests to the worker's thread (queued connection).
    void requestQueued(std::shared_ptr<const SamplingRequest> request);

private:
    QThread m_thread;
    InferenceWorker* m_worker = nullptr;  // lives on m_thread; deleted there when it finishes
    std::shared_ptr<dcscope::CancelToken> m_latestCancel;
    int m_latestRequestId = 0;
};
