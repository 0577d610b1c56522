#include "inference_worker.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"
#include "tensor_conversion.h"

namespace {

using Clock = std::chrono::steady_clock;
using ProgressSink = std::function<void(std::shared_ptr<const StepUpdate>)>;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// Exception texts can span lines (c10 appends context); dialogs and the status bar get one.
QString firstLine(const std::string& text) {
    const QString line = QString::fromStdString(text.substr(0, text.find('\n'))).trimmed();
    return line.isEmpty() ? QStringLiteral("unknown error") : line;
}

QString solverDisplayName(const dcscope::SolverConfig& config) {
    switch (config.solver) {
    case dcscope::SolverType::Ddim: return QStringLiteral("DDIM");
    case dcscope::SolverType::DpmSolverPlusPlus: return QStringLiteral("DPM-Solver++");
    case dcscope::SolverType::UniPC:
        return config.variant == dcscope::UniPCVariant::Bh1 ? QStringLiteral("UniPC (bh1)") : QStringLiteral("UniPC (bh2)");
    }
    return QStringLiteral("?");
}

bool compensates(const std::vector<double>& ratios) {
    return std::any_of(ratios.begin(), ratios.end(), [](double rho) { return rho != 1.0; });
}

bool isPointModel(const dcscope::ModelInfo& info) { return info.sampleShape == std::vector<int64_t>{2}; }

at::Tensor makeClasses(const dcscope::DiffusionModel& model, const SamplingRequest& request) {
    const int choice = request.classChoice;
    // No classes at all means "no condition" to the denoiser (it then uses the null class).
    if (!model.isConditional() || choice == SamplingRequest::kUnconditional) return {};
    const auto& info = model.info();
    if (choice >= info.numClasses || choice < SamplingRequest::kEachClassInTurn)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                             "class: " + std::to_string(choice) + " is not a class of model '" + info.name + "' (it has " +
                                 std::to_string(info.numClasses) + ")");
    at::Tensor classes = at::empty({request.batchSize}, at::kLong);
    auto values = classes.accessor<int64_t, 1>();
    for (int b = 0; b < request.batchSize; ++b)
        values[b] = choice == SamplingRequest::kEachClassInTurn ? b % info.numClasses : choice;
    return classes;
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

/// One solver run inside a request, and the slice of the request's progress it covers.
struct RunPlan {
    SamplingRun run = SamplingRun::Plain;
    dcscope::SolverConfig config;
    int keepEvery = 1;            // keep/report every n-th step (the fine reference has many)
    double progressStart = 0.0;
    double progressSpan = 1.0;
};

struct RunOutput {
    at::Tensor finalState;
    std::vector<at::Tensor> keptStates;   // x at the kept steps, starting with step 0
    std::vector<double> keptTimes;
    QVector<QVector<QPointF>> paths;      // point models: kept states per sample
    int nfe = 0;
    double seconds = 0.0;
};

RunOutput runSolver(dcscope::GuidedDenoiser& denoiser, const at::Tensor& noise, const RunPlan& plan, const Display& display,
                    int requestId, const ProgressSink& reportProgress) {
    RunOutput output;
    const auto start = Clock::now();
    denoiser.resetNfe();
    const dcscope::MultistepSampler sampler(denoiser.model().schedule(), plan.config);
    const auto observer = [&](const dcscope::StepReport& report) {
        if (report.step % plan.keepEvery != 0) return;
        // Safe to keep: the sampler never mutates a state tensor once it has been reported.
        output.keptStates.push_back(report.x);
        output.keptTimes.push_back(report.t);
        if (display.points) appendToPaths(output.paths, report.x);
        auto update = std::make_shared<StepUpdate>();
        update->requestId = requestId;
        update->run = plan.run;
        update->step = report.step;
        update->totalSteps = report.totalSteps;
        update->nfe = report.nfe;
        update->progress = plan.progressStart + plan.progressSpan * report.step / report.totalSteps;
        if (display.previewImages && plan.run != SamplingRun::Reference)
            update->preview = imagesFromBatch(report.dataPrediction, display.valueRange);
        if (display.points) update->paths = output.paths;
        reportProgress(std::move(update));
    };
    output.finalState = sampler.run(denoiser, noise, observer);
    output.nfe = denoiser.nfe();
    output.seconds = secondsSince(start);
    return output;
}

/// Per-step RMS distance to the reference, for steps 1..S (step 0 is the shared start noise).
QVector<QPointF> errorCurve(const RunOutput& run, const RunOutput& reference) {
    QVector<QPointF> curve;
    for (size_t k = 1; k < run.keptStates.size() && k < reference.keptStates.size(); ++k)
        curve.append(QPointF(double(k), rmsDistance(run.keptStates[k], reference.keptStates[k])));
    return curve;
}

/// Whether two time lists agree up to float32 rounding (the core builds its grids in float32, so
/// the fine grid's copy of a coarse time may differ in the last bits).
bool sameTimes(const std::vector<double>& a, const std::vector<double>& b) {
    constexpr double kRelativeTolerance = 1e-5;
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::abs(a[i] - b[i]) > kRelativeTolerance * std::max(std::abs(a[i]), std::abs(b[i]))) return false;
    return true;
}

bool sameNoiseAndConditioning(const SamplingRequest& a, const SamplingRequest& b) {
    return a.modelSpec == b.modelSpec && a.device == b.device && a.seed == b.seed && a.batchSize == b.batchSize &&
           a.classChoice == b.classChoice && a.guidanceScale == b.guidanceScale;
}

/// Whether the plain (uncompensated) runs of two requests are the same computation.
bool samePlainRun(const SamplingRequest& a, const SamplingRequest& b) {
    const dcscope::SolverConfig& x = a.solver;
    const dcscope::SolverConfig& y = b.solver;
    return sameNoiseAndConditioning(a, b) && x.solver == y.solver && x.variant == y.variant && x.order == y.order &&
           x.steps == y.steps && x.grid == y.grid && x.lowerOrderFinal == y.lowerOrderFinal &&
           x.disabledCorrectors == y.disabledCorrectors;
}

/// Whether the reference runs of two requests are the same computation (any coarse solver).
bool sameReferenceRun(const SamplingRequest& a, const SamplingRequest& b) {
    return sameNoiseAndConditioning(a, b) && a.solver.steps == b.solver.steps && a.solver.grid == b.solver.grid;
}

}  // namespace

/// The runs that do not depend on the ratios, kept from earlier requests: while the user edits
/// ratios, each new request then costs only its compensated run.
struct InferenceWorker::RunCache {
    std::optional<SamplingRequest> plainRequest;      // what `plain` was computed for; empty: invalid
    RunOutput plain;
    QVector<QImage> plainImages;
    std::optional<SamplingRequest> referenceRequest;  // what `reference` was computed for
    RunOutput reference;
};

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent), m_cache(std::make_unique<RunCache>()) {}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::process(std::shared_ptr<const SamplingRequest> request) {
    const int id = request->id;
    try {
        request->cancel->throwIfCancelled();
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

void InferenceWorker::ensureModel(const SamplingRequest& request) {
    if (m_model && request.modelSpec == m_modelSpec && request.device == m_device) return;
    // Release the old model first: two resident networks may not fit on the device.
    m_model.reset();
    *m_cache = RunCache{};
    m_modelSpec.clear();
    m_model = dcscope::loadModel(request.modelSpec, dcscope::parseDevice(request.device));
    m_modelSpec = request.modelSpec;
    m_device = request.device;
    Q_EMIT modelLoaded(summarizeModel(request.modelSpec));
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
    if (const auto* mixture = dynamic_cast<const dcscope::GaussianMixtureModel*>(m_model.get());
        mixture && summary->pointModel)
        summary->modeCentres = pointsFromBatch(mixture->means());
    return summary;
}

std::shared_ptr<SamplingResult> InferenceWorker::sampleRequest(const SamplingRequest& request) {
    const at::NoGradGuard noGrad;
    dcscope::DiffusionModel& model = *m_model;
    const auto& info = model.info();
    if (request.batchSize < 1)
        throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, "batch: must be >= 1, got " + std::to_string(request.batchSize));

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
    const bool compensated = compensates(request.ratios);

    RunCache& cache = *m_cache;
    const bool plainCached = cache.plainRequest && samePlainRun(*cache.plainRequest, request);
    const bool referenceCached = cache.referenceRequest && sameReferenceRun(*cache.referenceRequest, request);
    const bool runReference = request.computeReference && !referenceCached;

    std::vector<int64_t> shape{request.batchSize};
    shape.insert(shape.end(), info.sampleShape.begin(), info.sampleShape.end());
    // Same seed, same noise on every device: draw on the CPU, then move.
    auto generator = at::detail::createCPUGenerator(request.seed);
    const at::Tensor noise = at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat))
                                 .to(dcscope::parseDevice(request.device));
    dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{makeClasses(model, request), request.guidanceScale},
                                     request.cancel.get());
    denoiser.validateNoise(noise);

    // Progress is shared out by the model calls still to make: S per solver run,
    // kReferenceSubsteps * S for the reference.
    const int steps = request.solver.steps;
    const double plainWork = plainCached ? 0.0 : steps;
    const double compensatedWork = compensated ? steps : 0.0;
    const double referenceWork = runReference ? double(kReferenceSubsteps) * steps : 0.0;
    const double totalWork = std::max(1.0, plainWork + compensatedWork + referenceWork);
    const ProgressSink reportProgress = [this](std::shared_ptr<const StepUpdate> update) { Q_EMIT stepProgress(std::move(update)); };

    RunPlan plan;
    if (!plainCached) {
        plan.config = plainConfig;
        plan.progressSpan = plainWork / totalWork;
        cache.plainRequest.reset();  // a cancelled run below must not leave a stale entry behind
        cache.plain = runSolver(denoiser, noise, plan, display, request.id, reportProgress);
        cache.plainImages = display.points ? QVector<QImage>{}
                                           : imagesFromBatch(model.decode(cache.plain.finalState), info.valueRange);
        cache.plainRequest = request;
    }
    const RunOutput& plain = cache.plain;

    RunOutput compensatedRun;
    if (compensated) {
        plan.run = SamplingRun::Compensated;
        plan.config = compensatedConfig;
        plan.progressStart = plainWork / totalWork;
        plan.progressSpan = compensatedWork / totalWork;
        compensatedRun = runSolver(denoiser, noise, plan, display, request.id, reportProgress);
    }
    // rho = 1 everywhere is defined to reproduce the plain run bit for bit: reuse it.
    const RunOutput& dc = compensated ? compensatedRun : plain;

    auto result = std::make_shared<SamplingResult>();
    result->requestId = request.id;
    result->solverName = solverDisplayName(request.solver);
    result->steps = steps;
    result->nfePerRun = plain.nfe;
    result->compensated = compensated;
    result->plainReused = plainCached;
    result->plainSeconds = plain.seconds;
    result->compensatedSeconds = dc.seconds;
    if (display.points) {
        result->plainPaths = plain.paths;
        result->compensatedPaths = dc.paths;
    } else {
        result->plainImages = cache.plainImages;
        result->compensatedImages = compensated ? imagesFromBatch(model.decode(dc.finalState), info.valueRange)
                                                : cache.plainImages;
    }
    if (!request.computeReference) return result;

    if (runReference) {
        // The samples are complete; show them while the (much longer) reference runs.
        Q_EMIT samplesReady(std::make_shared<const SamplingResult>(*result));
        plan.run = SamplingRun::Reference;
        plan.config = dcscope::SolverConfig{};
        plan.config.solver = dcscope::SolverType::Ddim;
        plan.config.order = 1;
        plan.config.grid = request.solver.grid;
        plan.config.steps = steps * kReferenceSubsteps;
        plan.keepEvery = kReferenceSubsteps;
        plan.progressStart = (plainWork + compensatedWork) / totalWork;
        plan.progressSpan = referenceWork / totalWork;
        cache.referenceRequest.reset();
        cache.reference = runSolver(denoiser, noise, plan, display, request.id, reportProgress);
        cache.referenceRequest = request;
    }
    const RunOutput& reference = cache.reference;
    // Every grid nests: its fine version contains the coarse times. Checked rather than assumed,
    // because an error against states at other times would be meaningless.
    if (sameTimes(reference.keptTimes, plain.keptTimes)) {
        result->hasReference = true;
        result->referenceReused = referenceCached;
        result->referenceNfe = reference.nfe;
        result->referenceSeconds = reference.seconds;
        result->referencePaths = reference.paths;
        result->plainError = errorCurve(plain, reference);
        result->compensatedError = errorCurve(dc, reference);
    }
    return result;
}
