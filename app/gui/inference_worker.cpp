#include "inference_worker.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include "dcscope/errors.h"
#include "error_line.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/mixture_definition.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/projection.h"
#include "dcscope/quick_search.h"
#include "dcscope/reproduction.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "dcscope/threads.h"
#include "app_version.h"
#include "solver_choices.h"
#include "tensor_conversion.h"

namespace {

using Clock = std::chrono::steady_clock;
using ProgressSink = std::function<void(std::shared_ptr<const StepUpdate>)>;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }


bool compensates(const std::vector<double>& ratios) {
    return std::any_of(ratios.begin(), ratios.end(), [](double rho) { return rho != 1.0; });
}

bool isPointModel(const dcscope::ModelInfo& info) { return info.sampleShape == std::vector<int64_t>{2}; }

/// The batch's classes: datapoint b gets class b mod K (core's makeDatapoints), or the chosen one.
at::Tensor datapointClasses(const dcscope::DiffusionModel& model, const SamplingRequest& request,
                            const dcscope::Datapoints& datapoints) {
    const int choice = request.classChoice;
    // No classes at all means "no condition" to the denoiser (it then uses the null class).
    if (!model.isConditional() || choice == SamplingRequest::kUnconditional) return {};
    const auto& info = model.info();
    if (choice >= info.numClasses || choice < SamplingRequest::kEachClassInTurn)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                             "class: " + std::to_string(choice) + " is not a class of model '" + info.name + "' (it has " +
                                 std::to_string(info.numClasses) + ")");
    if (choice == SamplingRequest::kEachClassInTurn) return datapoints.classes;
    return at::full({request.batchSize}, int64_t(choice), at::TensorOptions().dtype(at::kLong));
}

double rmsDistance(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).mean().sqrt().item<double>();
}

/// How samples are shown: decides what the per-step updates carry.
struct Display {
    bool points = false;          // 2-D samples: paths
    bool previewImages = false;   // images without a decoder: the data prediction per step
    std::pair<double, double> valueRange{-1.0, 1.0};
};

/// One solver run: its state after every step (index = step), from which a later request whose
/// ratios agree up to some step resumes, and what it took.
struct KeptRun {
    std::vector<dcscope::SamplerState> states;  // fewer than S + 1 after a cancelled run
    std::vector<double> ratios;   // the ratios it ran with (empty: plain)
    double seconds = 0.0;
    at::Tensor finalState() const { return states.back().x; }
    /// The last step a resume may start from: a cancelled run is only valid up to where it got.
    int lastValidStep() const { return int(states.size()) - 1; }
};

QVector<QVector<QPointF>> pathsOf(const std::vector<at::Tensor>& states) {
    QVector<QVector<QPointF>> paths;
    for (const at::Tensor& x : states) appendToPaths(paths, x);
    return paths;
}

std::vector<at::Tensor> statesOf(const KeptRun& run) {
    std::vector<at::Tensor> states;
    for (const auto& state : run.states) states.push_back(state.x);
    return states;
}

/// Runs a solver into `into`, or resumes it after `into.states[from]` (from > 0: the states
/// 0..from are already there), reporting every new step. If the run is cancelled, `into` keeps
/// the states it reached, which a later request with the same leading ratios resumes from.
void runSolver(dcscope::GuidedDenoiser& denoiser, const at::Tensor& noise, const dcscope::SolverConfig& config, int from,
               KeptRun& into, SamplingRun run, double progressStart, double progressSpan, const Display& display, int requestId,
               const ProgressSink& reportProgress) {
    const auto start = Clock::now();
    denoiser.resetNfe();
    const dcscope::MultistepSampler sampler(denoiser.model().schedule(), config);
    into.ratios = config.ratios;
    into.states.resize(size_t(from) + 1);
    QVector<QVector<QPointF>> paths;
    if (display.points && from > 0) paths = pathsOf(statesOf(into));
    int reached = from;
    const auto observer = [&](const dcscope::StepReport& report) {
        reached = report.step;
        if (display.points) appendToPaths(paths, report.x);
        auto update = std::make_shared<StepUpdate>();
        update->requestId = requestId;
        update->run = run;
        update->step = report.step;
        update->totalSteps = report.totalSteps;
        update->nfe = report.nfe;
        const int todo = std::max(1, report.totalSteps - from);
        update->progress = progressStart + progressSpan * double(report.step - from) / todo;
        if (display.previewImages) update->preview = imagesFromBatch(report.dataPrediction, display.valueRange);
        if (display.points) update->paths = paths;
        reportProgress(std::move(update));
    };
    // The denoiser counts the calls of this run only; kept states count from the run's start.
    const int callsBefore = from > 0 ? into.states[size_t(from)].nfe : 0;
    const auto countFromRunStart = [&] {
        for (size_t k = size_t(from) + 1; k < into.states.size(); ++k) into.states[k].nfe += callsBefore;
    };
    try {
        if (from > 0) {
            const dcscope::SamplerState resumeState = into.states[size_t(from)];
            sampler.resume(denoiser, resumeState, observer, &into.states);
        } else {
            into.states.clear();
            sampler.run(denoiser, noise, observer, &into.states);
        }
    } catch (...) {
        // The sampler stores state k + 1 right after reporting it; everything after is stale.
        into.states.resize(std::min(into.states.size(), size_t(reached) + 1));
        if (into.states.empty() || !into.states.back().x.defined()) into.states.clear();
        countFromRunStart();
        throw;
    }
    countFromRunStart();
    into.seconds = secondsSince(start);
}

/// Per-step RMS distance to the ground truth, for steps 1..S (step 0 is the shared start noise).
QVector<QPointF> errorCurve(const KeptRun& run, const dcscope::GroundTruth& truth) {
    QVector<QPointF> curve;
    for (size_t k = 1; k < run.states.size() && k < truth.states.size(); ++k)
        curve.append(QPointF(double(k), rmsDistance(run.states[k].x, truth.states[k])));
    return curve;
}

bool sameNoiseAndConditioning(const SamplingRequest& a, const SamplingRequest& b) {
    return a.modelSpec == b.modelSpec && a.device == b.device && a.seed == b.seed && a.batchSize == b.batchSize &&
           a.classChoice == b.classChoice && a.guidanceScale == b.guidanceScale;
}

/// Whether two requests' runs are the same computation apart from their ratios.
bool sameRunApartFromRatios(const SamplingRequest& a, const SamplingRequest& b) {
    const dcscope::SolverConfig& x = a.solver;
    const dcscope::SolverConfig& y = b.solver;
    return sameNoiseAndConditioning(a, b) && x.solver == y.solver && x.variant == y.variant && x.order == y.order &&
           x.steps == y.steps && x.grid == y.grid && x.lowerOrderFinal == y.lowerOrderFinal &&
           x.disabledCorrectors == y.disabledCorrectors && x.dcOrder == y.dcOrder;
}

/// Whether the ground truths of two requests are the same computation (any coarse solver).
bool sameGroundTruth(const SamplingRequest& a, const SamplingRequest& b) {
    return sameNoiseAndConditioning(a, b) && a.solver.steps == b.solver.steps && a.solver.grid == b.solver.grid &&
           a.groundTruthFineSteps == b.groundTruthFineSteps;
}

/// Number of leading updates whose ratio agrees (rho_k for k < result are equal); an empty list
/// means all ones.
int agreeingPrefix(const std::vector<double>& a, const std::vector<double>& b, int steps) {
    const auto ratio = [](const std::vector<double>& r, int k) { return r.empty() ? 1.0 : r[size_t(k)]; };
    int k = 0;
    while (k < steps && ratio(a, k) == ratio(b, k)) ++k;
    return k;
}

/// The x0-prediction at t_k of a kept state: the newest model output when it was made at t_k
/// (every step but the last), else the state itself (at t_S the result is its own prediction).
at::Tensor predictionAt(const dcscope::SamplerState& state, double t) {
    if (!state.history.empty() && state.history.back().t == t) return state.history.back().dataPrediction;
    return state.x;
}

/// One run's per-step tensors, as the panes show them (decoded when the model has a decoder).
struct RunSteps {
    std::vector<at::Tensor> predictions;  // index k = 0..S
    std::vector<at::Tensor> states;
};

/// The comparison frame of one step; `truth` may be undefined (no ground truth yet).
ComparisonFrame frameOf(const at::Tensor& plain, const at::Tensor& compensated, bool sameRun, const at::Tensor& truth,
                        std::pair<double, double> valueRange) {
    ComparisonFrame frame;
    frame.plain = imagesFromBatch(plain, valueRange);
    frame.compensated = sameRun ? frame.plain : imagesFromBatch(compensated, valueRange);
    if (truth.defined()) {
        frame.groundTruth = imagesFromBatch(truth, valueRange);
        frame.plainDifference = differenceMaps(plain, truth);
        frame.compensatedDifference = differenceMaps(compensated, truth);
    }
    return frame;
}

/// The tensors that one step's frames show, as the runs and the ground truth hold them.
struct StepTensors {
    at::Tensor plainState, plainPrediction, compensatedState, compensatedPrediction, truthState, truthPrediction;

    bool operator==(const StepTensors& other) const {
        return plainState.is_same(other.plainState) && plainPrediction.is_same(other.plainPrediction) &&
               compensatedState.is_same(other.compensatedState) && compensatedPrediction.is_same(other.compensatedPrediction) &&
               truthState.is_same(other.truthState) && truthPrediction.is_same(other.truthPrediction);
    }
};

/// The last result's frames, per step, with the tensors they were drawn from. An edit resumes the
/// compensated run at some step j and shares every tensor before it, and the plain run and the
/// ground truth stay, so the next result draws only the steps whose tensors changed (a drag of
/// a late ratio redraws one or two steps of 2 x 5 images each, not all of them). The tensors are
/// held, so no other tensor can take their place in memory.
struct KeptFrames {
    std::vector<StepTensors> tensors;
    QVector<ComparisonFrame> predictions, states;
};

/// The frames of steps 0..S in both display modes (predictions and states), the steps whose
/// tensors `kept` already drew taken from it; `truth` may be empty (no ground truth yet).
void buildFrames(dcscope::DiffusionModel& model, const KeptRun& plain, const KeptRun& compensated, const RunSteps& truth,
                 const std::vector<double>& times, std::pair<double, double> valueRange, KeptFrames& kept) {
    KeptFrames next;
    const size_t steps = std::min({plain.states.size(), compensated.states.size(), times.size()});
    for (size_t k = 0; k < steps; ++k) {
        const StepTensors tensors{plain.states[k].x,
                                  predictionAt(plain.states[k], times[k]),
                                  compensated.states[k].x,
                                  predictionAt(compensated.states[k], times[k]),
                                  k < truth.states.size() ? truth.states[k] : at::Tensor(),
                                  k < truth.predictions.size() ? truth.predictions[k] : at::Tensor()};
        if (k < kept.tensors.size() && kept.tensors[k] == tensors) {
            next.predictions.append(kept.predictions[k]);
            next.states.append(kept.states[k]);
        } else {
            const bool sameState = tensors.plainState.is_same(tensors.compensatedState);
            const bool samePrediction = tensors.plainPrediction.is_same(tensors.compensatedPrediction);
            const at::Tensor plainState = model.decode(tensors.plainState);
            const at::Tensor plainPrediction = model.decode(tensors.plainPrediction);
            next.predictions.append(frameOf(plainPrediction, samePrediction ? plainPrediction : model.decode(tensors.compensatedPrediction),
                                            samePrediction, tensors.truthPrediction, valueRange));
            next.states.append(frameOf(plainState, sameState ? plainState : model.decode(tensors.compensatedState), sameState,
                                       tensors.truthState, valueRange));
        }
        next.tensors.push_back(tensors);
    }
    kept = std::move(next);
}

/// The x0-prediction made at time t that a kept state's history holds (as the model gave it, or
/// as compensation replaced it), or an undefined tensor.
at::Tensor historyPredictionAt(const dcscope::SamplerState& state, double t) {
    for (const auto& entry : state.history)
        if (entry.t == t) return entry.dataPrediction;
    return {};
}

/// Per particle and update k: |compensated - raw model output| at t_k. The raw output is the
/// newest history entry of state k; the compensated one replaced it in state k + 1's history.
QVector<QVector<double>> compensationNorms(const KeptRun& run, const std::vector<double>& times) {
    QVector<QVector<double>> norms;
    for (size_t k = 0; k + 1 < run.states.size() && k < times.size(); ++k) {
        const at::Tensor raw = historyPredictionAt(run.states[k], times[k]);
        const at::Tensor used = historyPredictionAt(run.states[k + 1], times[k]);
        const int64_t particles = run.states[k].x.size(0);
        if (norms.isEmpty()) norms.resize(int(particles));
        const at::Tensor norm = raw.defined() && used.defined()
                                    ? (used.to(at::kDouble) - raw.to(at::kDouble)).reshape({particles, -1}).norm(2, 1).cpu().contiguous()
                                    : at::zeros({particles}, at::kDouble);
        for (int64_t p = 0; p < particles; ++p) norms[int(p)].append(norm[p].item<double>());
    }
    return norms;
}

/// Maps states [B, ...] to the trajectory view's plane, [B, 2] (identity for 2-D samples).
using Projector = std::function<at::Tensor(const at::Tensor&)>;

QVector<QVector<QPointF>> projectedPaths(const std::vector<at::Tensor>& states, const Projector& project) {
    QVector<QVector<QPointF>> paths;
    for (const at::Tensor& x : states) appendToPaths(paths, project ? project(x) : x);
    return paths;
}

/// The trajectory view's scene of a comparison without its ground truth (added later): 2-D
/// samples as they are, other samples through `project`.
TrajectoryScene trajectoryScene(const dcscope::DiffusionModel& model, const KeptRun& plain, const KeptRun& dc,
                                const std::vector<double>& times, const std::vector<double>& ratios, const QString& solverName,
                                const Projector& project = {}) {
    TrajectoryScene scene;
    const auto& schedule = model.schedule();
    for (double t : times) {
        scene.times.append(t);
        scene.alphas.append(schedule.alpha(t));
        scene.sigmas.append(schedule.sigma(t));
        scene.lambdas.append(schedule.lambda(t));
    }
    scene.ratios = QVector<double>(ratios.begin(), ratios.end());
    scene.plain = projectedPaths(statesOf(plain), project);
    scene.compensated = projectedPaths(statesOf(dc), project);
    scene.compensationNorm = compensationNorms(dc, times);
    scene.plainName = solverName;
    scene.compensatedName = compensatedSolverName(solverName);
    const auto* mixture = dynamic_cast<const dcscope::GaussianMixtureModel*>(&model);
    if (mixture && mixture->means().size(1) == 2 && !project) {
        // The unconditional data distribution (every component), with what the user may edit.
        const dcscope::MixtureDefinition definition = dcscope::definitionOf(*mixture);
        for (const auto& component : definition.components) {
            scene.density.means.append(QPointF(component.mean[0], component.mean[1]));
            scene.density.weights.append(component.weight);
            scene.density.stds.append(component.std);
            scene.density.classes.append(component.classIndex);
        }
        for (const auto& label : definition.labels) scene.density.labels.append(QString::fromStdString(label));
    }
    return scene;
}

/// Adds the ground truth: its states at t_k and at every fine time (with alpha and sigma there).
void addGroundTruth(TrajectoryScene& scene, const dcscope::DiffusionModel& model, const dcscope::GroundTruth& truth,
                    const Projector& project = {}) {
    scene.groundTruth = projectedPaths(truth.states, project);
    scene.groundTruthFine = projectedPaths(truth.finePath, project);
    const auto& schedule = model.schedule();
    for (double t : truth.fineTimes) {
        scene.fineTimes.append(t);
        scene.fineAlphas.append(schedule.alpha(t));
        scene.fineSigmas.append(schedule.sigma(t));
        // f = d log alpha / dt and g^2 = d sigma^2 / dt - 2 f sigma^2 by central differences,
        // one-sided at the ends of [t_min, 1].
        const double h = 1e-4;
        const double lo = std::max(t - h, truth.fineTimes.back()), hi = std::min(t + h, truth.fineTimes.front());
        const double drift = (std::log(schedule.alpha(hi)) - std::log(schedule.alpha(lo))) / (hi - lo);
        const double varianceRate = (std::pow(schedule.sigma(hi), 2) - std::pow(schedule.sigma(lo), 2)) / (hi - lo);
        scene.fineDrift.append(drift);
        scene.fineDiffusionSquared.append(varianceRate - 2 * drift * std::pow(schedule.sigma(t), 2));
    }
    for (int k = 0; k < scene.times.size(); ++k) scene.coarseFineIndex.append(k * truth.finePerInterval);
}

/// Copies the ground truth's part of `from` (as addGroundTruth made it) into `scene`.
void copyGroundTruth(TrajectoryScene& scene, const TrajectoryScene& from) {
    scene.groundTruth = from.groundTruth;
    scene.groundTruthFine = from.groundTruthFine;
    scene.fineTimes = from.fineTimes;
    scene.fineAlphas = from.fineAlphas;
    scene.fineSigmas = from.fineSigmas;
    scene.fineDrift = from.fineDrift;
    scene.fineDiffusionSquared = from.fineDiffusionSquared;
    scene.coarseFineIndex = from.coarseFineIndex;
}

}  // namespace

/// Runs kept from earlier requests, so that an edit costs only what it changes: the plain run
/// and the ground truth do not depend on the ratios, and the compensated run is resumed from the
/// first step whose ratio changed.
struct InferenceWorker::RunCache {
    std::optional<SamplingRequest> plainRequest;        // what `plain` was computed for; empty: invalid
    KeptRun plain;
    QVector<QImage> plainImages;
    std::optional<SamplingRequest> compensatedRequest;  // what `compensated` was computed for
    KeptRun compensated;
    std::optional<SamplingRequest> truthRequest;        // what `truth` was computed for
    dcscope::GroundTruth truth;
    RunSteps truthSteps;  // image models: its x0-predictions (one model call per step) and states
    KeptFrames frames;    // image models: the last result's comparison frames
    // The ground truth's part of the trajectory scene, made once per ground truth: projecting and
    // converting every fine state costs more than the rest of a result after an edit.
    std::optional<TrajectoryScene> truthScene;
    std::optional<dcscope::PrincipalPlane> truthPlane;  // image models: the plane of its path states
    QVector<QImage> truthImages;
    double truthSeconds = 0.0;
};

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent), m_cache(std::make_unique<RunCache>()) {}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::process(std::shared_ptr<const SamplingRequest> request) {
    const int id = request->id;
    try {
        request->cancel->throwIfCancelled();
        applyThreads(request->intraOpThreads);
        ensureModel(*request);
        Q_EMIT finished(sampleRequest(*request));
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
        Q_EMIT failed(id, QStringLiteral("unknown error while sampling"));
    }
}

void InferenceWorker::applyThreads(int requested) {
    // OpenMP keeps its thread count per thread: this thread needs its own setting.
    if (!m_threadsApplied || requested != m_threadsRequested) {
        const dcscope::ThreadCount threads = dcscope::configureIntraOpThreads(requested);
        m_threadsRequested = requested;
        m_threadsApplied = true;
        Q_EMIT threadsConfigured(threads.count, QString::fromStdString(dcscope::describe(threads)));
    }
    dcscope::applyIntraOpThreadsToThisThread();
}

void InferenceWorker::ensureModel(const SamplingRequest& request) {
    const bool sameModel = m_model && request.modelSpec == m_modelSpec && request.device == m_device;
    if (sameModel && request.editedMixture == m_editedMixture) return;
    // Release the old model first: two resident networks may not fit on the device.
    m_model.reset();
    *m_cache = RunCache{};
    m_modelSpec.clear();
    m_editedMixture.reset();
    const c10::Device device = dcscope::parseDevice(request.device);
    if (request.editedMixture) {
        // Unsaved: no source, so nothing of it is cached on disk.
        auto mixture = dcscope::makeMixtureModel(*request.editedMixture, std::string());
        mixture->moveTo(device);
        m_model = std::move(mixture);
    } else {
        m_model = dcscope::loadModel(request.modelSpec, device);
    }
    m_modelSpec = request.modelSpec;
    m_editedMixture = request.editedMixture;
    m_modelIdentity = dcscope::modelIdentity(*m_model);  // empty for an unsaved mixture: nothing cached
    m_device = request.device;
    // An edit of the same model's mixture keeps its classes: the window keeps its state.
    if (!sameModel) Q_EMIT modelLoaded(summarizeModel(request.modelSpec));
}

std::shared_ptr<const ModelSummary> InferenceWorker::summarizeModel(const std::string& spec) const {
    const auto& info = m_model->info();
    auto summary = std::make_shared<ModelSummary>();
    summary->spec = QString::fromStdString(spec);
    summary->name = QString::fromStdString(info.name);
    summary->description = QString::fromStdString(info.description);
    QStringList dims;
    for (int64_t size : info.sampleShape) dims.append(QString::number(size));
    summary->sampleShape = dims.join(QLatin1Char('x'));
    for (const auto& label : info.labels) summary->labels.append(QString::fromStdString(label));
    summary->pointModel = isPointModel(info);
    return summary;
}

std::shared_ptr<SamplingResult> InferenceWorker::sampleRequest(const SamplingRequest& request) {
    const at::NoGradGuard noGrad;
    dcscope::DiffusionModel& model = *m_model;
    const auto& info = model.info();
    if (request.batchSize < 1)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, "batch: must be >= 1, got " + std::to_string(request.batchSize));
    if (request.groundTruthFineSteps < 0)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, "ground truth: fine steps must be >= 1 (or 0 for the default), got " +
                                                                      std::to_string(request.groundTruthFineSteps));

    Display display;
    display.points = isPointModel(info);
    display.previewImages = !display.points && !info.hasDecoder && info.sampleShape.size() == 3;
    display.valueRange = info.valueRange;
    if (!display.points && !info.hasDecoder && info.sampleShape.size() != 3)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                             "display: model '" + info.name + "' has samples that are neither images [C,H,W] nor 2-D points");

    dcscope::SolverConfig plainConfig = request.solver;
    plainConfig.ratios.clear();
    dcscope::SolverConfig compensatedConfig = request.solver;
    compensatedConfig.ratios = request.ratios;
    dcscope::validate(compensatedConfig);  // reject bad ratios before spending any model calls
    dcscope::QuickSearch quick;
    if (request.quickSearch) {
        dcscope::QuickSearchOptions options;
        options.groundTruthFineSteps = request.groundTruthFineSteps;
        options.device = request.device;
        const auto observer = [&](const dcscope::SearchStepReport& step) {
            auto update = std::make_shared<StepUpdate>();
            update->requestId = request.id;
            update->run = SamplingRun::QuickSearch;
            update->step = step.step + 1;
            update->totalSteps = step.totalSteps;
            update->nfe = step.evaluations;
            update->progress = 0.0;  // unknown share: the samples come after it
            Q_EMIT stepProgress(std::move(update));
        };
        quick = dcscope::quickSearchRatios(model, request.solver, request.guidanceScale, options, request.cancel.get(), observer);
        compensatedConfig.ratios = quick.ratios;
        dcscope::validate(compensatedConfig);
    }
    const std::vector<double>& ratios = compensatedConfig.ratios;
    const bool compensated = compensates(ratios);
    const int steps = request.solver.steps;

    RunCache& cache = *m_cache;
    const bool plainCached = cache.plainRequest && sameRunApartFromRatios(*cache.plainRequest, request);
    const bool truthCached = cache.truthRequest && sameGroundTruth(*cache.truthRequest, request);
    const bool runTruth = request.computeGroundTruth && !truthCached;

    // Where the compensated run can resume: after the longest prefix of updates whose ratios
    // agree with a kept run (the plain run counts as all ratios 1; those states are bit for bit
    // the compensated run's, since rho = 1 skips the interpolation).
    int resumeStep = 0;
    const KeptRun* resumeSource = nullptr;
    if (compensated) {
        // The plain run is complete by the time the compensated one starts (kept or run first).
        resumeStep = agreeingPrefix(ratios, {}, steps);
        resumeSource = &cache.plain;
        if (cache.compensatedRequest && sameRunApartFromRatios(*cache.compensatedRequest, request) &&
            !cache.compensated.states.empty()) {
            const int prefix = std::min(agreeingPrefix(ratios, cache.compensated.ratios, steps),
                                        cache.compensated.lastValidStep());
            if (prefix > resumeStep) {
                resumeStep = prefix;
                resumeSource = &cache.compensated;
            }
        }
        if (!resumeSource) resumeStep = 0;
    }

    // Sample b is datapoint seed + b, exactly as in the CLI's search and evaluate.
    const dcscope::Datapoints datapoints = dcscope::makeDatapoints(model, request.seed, request.batchSize);
    const at::Tensor noise = datapoints.noise.to(dcscope::parseDevice(request.device));
    dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{datapointClasses(model, request, datapoints), request.guidanceScale},
                                     request.cancel.get());
    denoiser.validateNoise(noise);

    // Progress is shared out by the model calls still to make.
    const double plainWork = plainCached ? 0.0 : steps;
    const double compensatedWork = compensated ? steps - resumeStep : 0.0;
    const int fineSteps = dcscope::resolveFineSteps(request.groundTruthFineSteps, steps);
    const double truthWork = runTruth ? 1.5 * std::max(steps, fineSteps) + steps : 0.0;
    const double totalWork = std::max(1.0, plainWork + compensatedWork + truthWork);
    const ProgressSink reportProgress = [this](std::shared_ptr<const StepUpdate> update) { Q_EMIT stepProgress(std::move(update)); };

    if (!plainCached) {
        cache.plainRequest.reset();  // a cancelled run below must not leave a stale entry behind
        runSolver(denoiser, noise, plainConfig, 0, cache.plain, SamplingRun::Plain, 0.0, plainWork / totalWork, display,
                  request.id, reportProgress);
        cache.plainImages = display.points ? QVector<QImage>{}
                                           : imagesFromBatch(model.decode(cache.plain.finalState()), info.valueRange);
        cache.plainRequest = request;
    }
    const KeptRun& plain = cache.plain;

    int modelCallsSaved = plainCached ? plain.states.back().nfe : 0;
    if (compensated) {
        // Copy the prefix first: the source may be the very run that is overwritten below.
        KeptRun& target = cache.compensated;
        std::vector<dcscope::SamplerState> prefix;
        if (resumeStep > 0) {
            prefix.assign(resumeSource->states.begin(), resumeSource->states.begin() + resumeStep + 1);
            modelCallsSaved += prefix.back().nfe;
        }
        target.states = std::move(prefix);
        cache.compensatedRequest = request;  // also a cancelled run's reached states stay usable
        runSolver(denoiser, noise, compensatedConfig, resumeStep, target, SamplingRun::Compensated, plainWork / totalWork,
                  compensatedWork / totalWork, display, request.id, reportProgress);
    }
    // rho = 1 everywhere is defined to reproduce the plain run bit for bit: reuse it.
    const KeptRun& dc = compensated ? cache.compensated : plain;

    auto result = std::make_shared<SamplingResult>();
    result->requestId = request.id;
    result->solverName = QString::fromStdString(dcscope::displayName(request.solver));
    result->steps = steps;
    result->nfePerRun = plain.states.back().nfe;
    result->compensated = compensated;
    if (request.quickSearch) {
        result->quickSearchRatios = QVector<double>(quick.ratios.begin(), quick.ratios.end());
        result->quickSearchFromCache = quick.fromCache;
        result->quickSearchSeconds = quick.seconds;
    }
    result->plainReused = plainCached;
    result->compensatedResumedFrom = compensated && resumeSource ? resumeStep : 0;
    result->plainSeconds = plain.seconds;
    result->compensatedSeconds = dc.seconds;
    result->firstSeed = request.seed;
    const at::Tensor classes = datapointClasses(model, request, datapoints);
    for (int b = 0; b < request.batchSize; ++b)
        result->sampleClasses.append(classes.defined() ? int(classes[b].item<int64_t>()) : -1);
    const std::vector<double> times = dcscope::MultistepSampler(model.schedule(), plainConfig).times();
    result->stepTimes = QVector<double>(times.begin(), times.end());
    if (display.points) {
        result->plainPaths = pathsOf(statesOf(plain));
        result->compensatedPaths = pathsOf(statesOf(dc));
        result->trajectoryScene = trajectoryScene(model, plain, dc, times, compensated ? ratios : std::vector<double>{},
                                                  result->solverName);
    } else {
        result->plainImages = cache.plainImages;
        result->compensatedImages = compensated ? imagesFromBatch(model.decode(dc.finalState()), info.valueRange)
                                                : cache.plainImages;
        if (!request.computeGroundTruth || runTruth) {
            // Shown before the ground truth is known (or without one).
            buildFrames(model, plain, dc, {}, times, info.valueRange, cache.frames);
            result->predictionFrames = cache.frames.predictions;
            result->stateFrames = cache.frames.states;
        }
    }
    dcscope::ReproductionRecord record;
    record.software = std::string("dcscope ") + dcscopeVersion();
    // An unsaved mixture cannot be reopened: the record says so instead of naming the model it came from.
    record.modelSpec = request.editedMixture ? "edited mixture (unsaved: save it as a model to reproduce this)" : request.modelSpec;
    record.modelName = info.name;
    record.modelIdentity = m_modelIdentity;
    record.solver = plainConfig;
    record.seed = request.seed;
    record.batchSize = request.batchSize;
    record.device = request.device;
    record.guidance = request.guidanceScale;
    record.classes = dcscope::classList(classes);
    record.pngColumns = int(std::ceil(std::sqrt(double(request.batchSize))));
    result->plainRecord = record;
    dcscope::setResult(result->plainRecord, plain.finalState());
    result->compensatedRecord = record;
    if (compensated) result->compensatedRecord.solver = compensatedConfig;
    dcscope::setResult(result->compensatedRecord, dc.finalState());
    if (!request.computeGroundTruth) {
        result->modelCallsSaved = modelCallsSaved;
        return result;
    }

    if (runTruth) {
        // The samples are complete; show them while the (much longer) ground truth runs.
        Q_EMIT samplesReady(std::make_shared<const SamplingResult>(*result));
        const auto start = Clock::now();
        dcscope::GroundTruthOptions options;
        options.fineSteps = fineSteps;
        options.modelIdentity = m_modelIdentity;  // hashed once at load, not again for every ground truth
        // The trajectory view draws every fine step (images: while the path stays below ~128 MB).
        const double pathValues = double(request.batchSize) * double(noise[0].numel()) * (fineSteps + 1);
        options.keepFinePath = display.points || pathValues <= 32e6;
        const double truthStart = (plainWork + compensatedWork) / totalWork;
        const auto progress = [&](int done, int total) {
            auto update = std::make_shared<StepUpdate>();
            update->requestId = request.id;
            update->run = SamplingRun::GroundTruth;
            update->step = done;
            update->totalSteps = total;
            update->nfe = done;
            update->progress = truthStart + (1.0 - truthStart) * double(done) / std::max(1, total);
            reportProgress(std::move(update));
        };
        denoiser.resetNfe();
        cache.truthRequest.reset();
        const dcscope::MultistepSampler coarse(model.schedule(), plainConfig);
        cache.truth = dcscope::computeGroundTruth(denoiser, noise, coarse.times(), options, progress);
        cache.truthSteps = {};
        cache.truthPlane.reset();
        cache.truthScene.reset();
        if (!display.points)
            cache.truthPlane = dcscope::principalPlane(cache.truth.finePath.empty() ? cache.truth.states : cache.truth.finePath);
        if (!display.points) {
            // Its x0-prediction at each coarse time, for the scrubber: one model call per step
            // (the disk cache keeps states only); at t_S the state is its own prediction.
            for (size_t k = 0; k < cache.truth.states.size(); ++k) {
                const at::Tensor& x = cache.truth.states[k];
                const at::Tensor prediction = k + 1 < cache.truth.states.size() ? denoiser.dataPrediction(x, times[k]) : x;
                cache.truthSteps.predictions.push_back(model.decode(prediction));
                cache.truthSteps.states.push_back(model.decode(x));
            }
        }
        cache.truthImages = display.points ? QVector<QImage>{}
                                           : imagesFromBatch(model.decode(cache.truth.finalState()), info.valueRange);
        cache.truthSeconds = secondsSince(start);
        cache.truthRequest = request;
    } else {
        // Kept from an earlier request: its fine solve (and halved solve) was not repeated.
        modelCallsSaved += cache.truth.modelEvaluations;
    }
    const dcscope::GroundTruth& truth = cache.truth;
    result->hasGroundTruth = true;
    result->groundTruthReused = truthCached;
    result->groundTruthFromDisk = truth.fromCache;
    result->groundTruthFineSteps = truth.finePerInterval * steps;
    result->groundTruthSolver = QString::fromStdString(dcscope::displayName(dcscope::GroundTruthOptions{}.fineSolver));
    result->groundTruthModelCalls = truthCached ? 0 : truth.modelEvaluations;
    result->groundTruthSeconds = cache.truthSeconds;
    result->groundTruthError = truth.error;
    result->groundTruthImages = cache.truthImages;
    const auto addKeptGroundTruth = [&](const Projector& project) {
        if (!cache.truthScene) {
            TrajectoryScene truthScene;
            truthScene.times = result->trajectoryScene.times;
            addGroundTruth(truthScene, model, truth, project);
            cache.truthScene = std::move(truthScene);
        }
        copyGroundTruth(result->trajectoryScene, *cache.truthScene);
    };
    if (display.points) {
        result->groundTruthPaths = pathsOf(truth.states);
        addKeptGroundTruth({});
    } else if (cache.truthPlane) {
        // Images: every trajectory on the two principal directions of the ground truth's path.
        const dcscope::PrincipalPlane plane = *cache.truthPlane;
        const Projector project = [plane](const at::Tensor& x) { return dcscope::projectOnto(plane, x); };
        result->trajectoryScene = trajectoryScene(model, plain, dc, times, compensated ? ratios : std::vector<double>{},
                                                  result->solverName, project);
        addKeptGroundTruth(project);
    }
    result->plainError = errorCurve(plain, truth);
    result->compensatedError = errorCurve(dc, truth);
    result->plainSampleMse = perSampleMse(plain.finalState(), truth.finalState());
    result->compensatedSampleMse = perSampleMse(dc.finalState(), truth.finalState());
    result->plainMse = std::pow(rmsDistance(plain.finalState(), truth.finalState()), 2);
    result->compensatedMse = std::pow(rmsDistance(dc.finalState(), truth.finalState()), 2);
    const dcscope::ReproductionGroundTruth truthSettings{fineSteps, dcscope::GroundTruthOptions{}.fineSolver};
    result->plainRecord.groundTruth = result->compensatedRecord.groundTruth = truthSettings;
    result->plainRecord.mse = result->plainMse;
    result->compensatedRecord.mse = result->compensatedMse;
    if (!display.points) {
        buildFrames(model, plain, dc, cache.truthSteps, times, info.valueRange, cache.frames);
        result->predictionFrames = cache.frames.predictions;
        result->stateFrames = cache.frames.states;
    }
    result->modelCallsSaved = modelCallsSaved;
    return result;
}
