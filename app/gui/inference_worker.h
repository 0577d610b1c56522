#pragma once

#include <memory>
#include <string>

#include <QObject>
#include <QString>

#include "model_summary.h"
#include "sampling_request.h"
#include "sampling_result.h"
#include "step_update.h"

namespace dcscope {
class DiffusionModel;
}

/// Runs sampling requests on the thread it lives on (InferenceController gives it a dedicated
/// QThread). The model is loaded on first use and stays resident until a request names another
/// model or device. The plain run and the ground truth of the previous request are kept and
/// reused when only the ratios change, and the compensated run resumes from the first step whose
/// ratio changed. Every request ends in exactly one of finished(), cancelled() or failed();
/// no exception leaves process(). Results are immutable values behind shared pointers, so they
/// can be handed to the GUI thread through queued connections without copying or locking.
class InferenceWorker : public QObject {
    Q_OBJECT

public:
    explicit InferenceWorker(QObject* parent = nullptr);
    ~InferenceWorker() override;

public Q_SLOTS:
    /// Runs `request` to completion, cancellation or failure. A request whose token is already set
    /// (superseded while it waited in the queue) ends at once as cancelled, without loading anything.
    void process(std::shared_ptr<const SamplingRequest> request);

Q_SIGNALS:
    /// A model was (re)loaded; emitted before that request's first progress.
    void modelLoaded(std::shared_ptr<const ModelSummary> summary);
    void stepProgress(std::shared_ptr<const StepUpdate> update);
    /// The samples of a request are complete, but its ground truth is still to come; the
    /// request then ends with finished() (with error curves), cancelled() or failed().
    void samplesReady(std::shared_ptr<const SamplingResult> result);
    void finished(std::shared_ptr<const SamplingResult> result);
    void cancelled(int requestId);
    /// `message` is one line naming the file, field or flag at fault.
    void failed(int requestId, const QString& message);
    /// The model's intra-op thread count was (re)set: the count and how it was chosen.
    void threadsConfigured(int count, const QString& description);

private:
    struct RunCache;
    void applyThreads(int requested);
    void ensureModel(const SamplingRequest& request);
    std::shared_ptr<const ModelSummary> summarizeModel(const std::string& spec) const;
    std::shared_ptr<SamplingResult> sampleRequest(const SamplingRequest& request);

    std::shared_ptr<dcscope::DiffusionModel> m_model;  // used only on this object's thread
    std::string m_modelSpec;
    std::shared_ptr<const dcscope::MixtureDefinition> m_editedMixture;  // the loaded model's, if edited
    std::string m_modelIdentity;  // core's modelIdentity(), hashed once per load (it reads the network file)
    std::string m_device;
    std::unique_ptr<RunCache> m_cache;  // cleared whenever another model is loaded
    int m_threadsRequested = 0;
    bool m_threadsApplied = false;
};
