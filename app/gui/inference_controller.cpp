#include "inference_controller.h"

#include <QMetaType>

#include "background_priority.h"
#include "inference_worker.h"

namespace {

/// Queued connections copy their arguments through the meta-type system; register the
/// shared-pointer payloads once per process.
void registerMetaTypes() {
    static const bool registered = [] {
        qRegisterMetaType<std::shared_ptr<const SamplingRequest>>("std::shared_ptr<const SamplingRequest>");
        qRegisterMetaType<std::shared_ptr<const ModelSummary>>("std::shared_ptr<const ModelSummary>");
        qRegisterMetaType<std::shared_ptr<const StepUpdate>>("std::shared_ptr<const StepUpdate>");
        qRegisterMetaType<std::shared_ptr<const SamplingResult>>("std::shared_ptr<const SamplingResult>");
        return true;
    }();
    (void)registered;
}

}  // namespace

InferenceController::InferenceController(QObject* parent) : QObject(parent) {
    registerMetaTypes();
    m_thread.setObjectName(QStringLiteral("dcscope-inference"));
    m_worker = new InferenceWorker;  // no parent: it must live on (and die on) the inference thread
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // Runs on the new thread before any job: the model yields the CPU to the window when both want it.
    connect(&m_thread, &QThread::started, m_worker, [] { lowerThisThreadsPriority(); }, Qt::DirectConnection);
    connect(this, &InferenceController::requestQueued, m_worker, &InferenceWorker::process, Qt::QueuedConnection);
    // Worker -> controller crosses threads: queued, so the GUI sees these on its own thread.
    connect(m_worker, &InferenceWorker::modelLoaded, this, &InferenceController::modelLoaded, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::stepProgress, this, &InferenceController::stepProgress, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::samplesReady, this, &InferenceController::samplesReady, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::finished, this, &InferenceController::finished, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::cancelled, this, &InferenceController::cancelled, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::failed, this, &InferenceController::failed, Qt::QueuedConnection);
    connect(m_worker, &InferenceWorker::threadsConfigured, this, &InferenceController::threadsConfigured, Qt::QueuedConnection);
    m_thread.start();
}

InferenceController::~InferenceController() {
    cancel();
    m_thread.quit();
    m_thread.wait();
}

std::shared_ptr<const SamplingRequest> InferenceController::submit(SamplingRequest request) {
    cancel();
    request.id = ++m_latestRequestId;
    request.cancel = std::make_shared<dcscope::CancelToken>();
    m_latestCancel = request.cancel;
    auto queued = std::make_shared<const SamplingRequest>(std::move(request));
    Q_EMIT requestQueued(queued);
    return queued;
}

void InferenceController::cancel() {
    if (m_latestCancel) m_latestCancel->requestCancel();
}
