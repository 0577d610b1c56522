#include "main_window.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

#include <cmath>
#include <cstdio>
#include <utility>

#include "dcscope/package_compensation.h"
#include "dcscope/threads.h"
#include "default_model.h"
#include "error_chart.h"
#include "error_dialog.h"
#include "image_grid_view.h"
#include "inference_worker.h"
#include "ratio_curve_editor.h"
#include "trajectory_plot_2d.h"

namespace {

// Step updates can arrive every few milliseconds; the views repaint at most this often.
constexpr int kRepaintIntervalMs = 30;
constexpr int kProgressResolution = 1000;
constexpr int kScreenshotSettleMs = 200;
constexpr int kImageBatchSize = 16;
constexpr int kPointBatchSize = 64;  // points are cheap and a cloud shows the distribution better

struct SolverChoice {
    const char* label;
    dcscope::SolverType type;
    dcscope::UniPCVariant variant;
};
const SolverChoice kSolverChoices[] = {
    {"UniPC (bh2)", dcscope::SolverType::UniPC, dcscope::UniPCVariant::Bh2},
    {"UniPC (bh1)", dcscope::SolverType::UniPC, dcscope::UniPCVariant::Bh1},
    {"DPM-Solver++", dcscope::SolverType::DpmSolverPlusPlus, dcscope::UniPCVariant::Bh2},
    {"DDIM", dcscope::SolverType::Ddim, dcscope::UniPCVariant::Bh2},
};

const QColor kPlainColor(230, 134, 46);
const QColor kCompensatedColor(46, 123, 230);
const QColor kGroundTruthColor(140, 140, 140);

QVector<double> onesOfSize(int count) { return QVector<double>(count, 1.0); }

QString compensatedName(const QString& solverName) { return solverName + QStringLiteral(" + DC"); }

QString groundTruthName(const SamplingResult& result) {
    return QObject::tr("ground truth (%1, %2 fine steps)").arg(result.groundTruthSolver).arg(result.groundTruthFineSteps);
}

QString formatSeconds(double seconds) {
    return seconds < 1.0 ? QStringLiteral("%1 ms").arg(seconds * 1000.0, 0, 'f', 0)
                         : QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
}

QString runName(SamplingRun run) {
    switch (run) {
    case SamplingRun::Plain: return QStringLiteral("plain run");
    case SamplingRun::Compensated: return QStringLiteral("compensated run");
    case SamplingRun::GroundTruth: return QStringLiteral("ground truth");
    }
    return {};
}

}  // namespace

MainWindow::MainWindow(const Options& options, QWidget* parent) : QMainWindow(parent), m_options(options) {
    setWindowTitle(QStringLiteral("dcscope"));
    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(createControlPanel());
    splitter->addWidget(createCentralArea());
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setCollapsible(0, false);
    setCentralWidget(splitter);

    m_stepRepaintTimer.setSingleShot(true);
    m_stepRepaintTimer.setInterval(kRepaintIntervalMs);
    connect(&m_stepRepaintTimer, &QTimer::timeout, this, &MainWindow::applyPendingStep);
    connect(&m_controller, &InferenceController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(&m_controller, &InferenceController::stepProgress, this, &MainWindow::onStepProgress);
    connect(&m_controller, &InferenceController::samplesReady, this, &MainWindow::onSamplesReady);
    connect(&m_controller, &InferenceController::finished, this, &MainWindow::onFinished);
    connect(&m_controller, &InferenceController::cancelled, this, &MainWindow::onCancelled);
    connect(&m_controller, &InferenceController::failed, this, &MainWindow::onFailed);
    connect(&m_controller, &InferenceController::threadsConfigured, this,
            [this](int, const QString& description) { m_threadsDescription = description; });
    m_threadsSetting = std::max(0, QSettings().value(QLatin1String(kThreadsSettingKey), 0).toInt());
    m_threadsDescription = QString::fromStdString(dcscope::describe(dcscope::chooseIntraOpThreads(m_threadsSetting)));
    createMenus();

    populateModels(options);
    if (!options.ratios.isEmpty()) m_nfeSpin->setValue(static_cast<int>(options.ratios.size()));
    m_ratioEditor->setLockedCount(m_dcOrderSpin->value());
    m_ratioEditor->setRatios(options.ratios.isEmpty() ? onesOfSize(m_nfeSpin->value()) : options.ratios);
    // A package that ships fitted CPR coefficients opens with DC on: its ratios for this NFE and
    // guidance, until the user edits them.
    loadPackageRatios();
    m_followPackageRatios = options.ratios.isEmpty();
    applyPackageRatios();
    onSolverChanged();
    // Connected after the initial values are in place, so setting them up starts no sampling.
    connectControls();

    statusBar()->showMessage(options.startupMessage);
    if (options.sampleOnStart) requestSampling();
}

MainWindow::~MainWindow() = default;

void MainWindow::createMenus() {
    QMenu* settings = menuBar()->addMenu(tr("&Settings"));
    QAction* threads = settings->addAction(tr("Model &threads…"), this, &MainWindow::chooseThreadCount);
    threads->setObjectName(QStringLiteral("threadsAction"));
    threads->setToolTip(tr("How many CPU threads each model call may use"));
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About dcscope"), this, &MainWindow::showAbout)->setObjectName(QStringLiteral("aboutAction"));
}

void MainWindow::chooseThreadCount() {
    bool accepted = false;
    const int available = dcscope::availableCpuCount();
    const int value = QInputDialog::getInt(this, tr("Model threads"),
                                           tr("Threads per model call (0 = automatic: OMP_NUM_THREADS, else all %1 available CPUs):")
                                               .arg(available),
                                           m_threadsSetting, 0, 256, 1, &accepted);
    if (!accepted || value == m_threadsSetting) return;
    m_threadsSetting = value;
    QSettings().setValue(QLatin1String(kThreadsSettingKey), value);
    m_threadsDescription = QString::fromStdString(dcscope::describe(dcscope::chooseIntraOpThreads(value)));
    statusBar()->showMessage(tr("Model threads: %1 (from the next sampling on)").arg(m_threadsDescription));
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About dcscope"),
                       tr("<b>dcscope %1</b><br>Explore diffusion samplers: UniPC, DPM-Solver++ and DDIM with and without "
                          "dynamic compensation (DC-Solver).<br><br>Model threads: %2<br>Device: %3")
                           .arg(QCoreApplication::applicationVersion(), m_threadsDescription.toHtmlEscaped(), m_options.device));
}

QWidget* MainWindow::createControlPanel() {
    auto* panel = new QWidget;
    auto* layout = new QVBoxLayout(panel);

    auto* modelBox = new QGroupBox(tr("Model"));
    auto* modelLayout = new QVBoxLayout(modelBox);
    m_modelCombo = new QComboBox;
    m_modelCombo->setObjectName(QStringLiteral("modelCombo"));
    m_modelInfoLabel = new QLabel;
    m_modelInfoLabel->setWordWrap(true);
    m_modelInfoLabel->setForegroundRole(QPalette::PlaceholderText);
    modelLayout->addWidget(m_modelCombo);
    modelLayout->addWidget(m_modelInfoLabel);
    layout->addWidget(modelBox);

    auto* solverBox = new QGroupBox(tr("Solver"));
    auto* solverForm = new QFormLayout(solverBox);
    m_solverCombo = new QComboBox;
    m_solverCombo->setObjectName(QStringLiteral("solverCombo"));
    for (const SolverChoice& choice : kSolverChoices) m_solverCombo->addItem(QString::fromLatin1(choice.label));
    m_orderSpin = new QSpinBox;
    m_orderSpin->setObjectName(QStringLiteral("orderSpin"));
    m_orderSpin->setRange(1, 3);
    m_orderSpin->setValue(2);
    m_gridCombo = new QComboBox;
    m_gridCombo->setObjectName(QStringLiteral("gridCombo"));
    m_gridCombo->addItem(tr("uniform in t"), QStringLiteral("time_uniform"));
    m_gridCombo->addItem(tr("uniform in log-SNR"), QStringLiteral("logSNR"));
    m_gridCombo->addItem(tr("quadratic in t"), QStringLiteral("time_quadratic"));
    m_nfeSpin = new QSpinBox;
    m_nfeSpin->setObjectName(QStringLiteral("nfeSpin"));
    m_nfeSpin->setRange(1, 100);
    m_nfeSpin->setValue(10);
    m_dcOrderSpin = new QSpinBox;
    m_dcOrderSpin->setObjectName(QStringLiteral("dcOrderSpin"));
    m_dcOrderSpin->setRange(1, 3);
    m_dcOrderSpin->setValue(2);
    solverForm->addRow(tr("Solver"), m_solverCombo);
    solverForm->addRow(tr("Order"), m_orderSpin);
    solverForm->addRow(tr("Time grid"), m_gridCombo);
    solverForm->addRow(tr("NFE (steps)"), m_nfeSpin);
    solverForm->addRow(tr("DC order"), m_dcOrderSpin);
    layout->addWidget(solverBox);

    auto* samplesBox = new QGroupBox(tr("Samples"));
    auto* samplesForm = new QFormLayout(samplesBox);
    m_classCombo = new QComboBox;
    m_classCombo->setObjectName(QStringLiteral("classCombo"));
    m_guidanceSpin = new QDoubleSpinBox;
    m_guidanceSpin->setObjectName(QStringLiteral("guidanceSpin"));
    m_guidanceSpin->setRange(0.0, 30.0);
    m_guidanceSpin->setSingleStep(0.5);
    m_guidanceSpin->setValue(3.0);
    m_batchSpin = new QSpinBox;
    m_batchSpin->setObjectName(QStringLiteral("batchSpin"));
    m_batchSpin->setRange(1, 256);
    m_batchSpin->setValue(kImageBatchSize);
    m_seedSpin = new QSpinBox;
    m_seedSpin->setObjectName(QStringLiteral("seedSpin"));
    m_seedSpin->setRange(0, 999999);
    m_groundTruthCheck = new QCheckBox(tr("Ground truth"));
    m_groundTruthCheck->setObjectName(QStringLiteral("groundTruthCheck"));
    m_groundTruthCheck->setChecked(true);
    m_groundTruthCheck->setToolTip(tr("Solve the same noise with many small DDIM steps that land exactly on every coarse time "
                                      "(cached on disk), for the error curves and the ground-truth pane"));
    m_fineStepsSpin = new QSpinBox;
    m_fineStepsSpin->setObjectName(QStringLiteral("fineStepsSpin"));
    m_fineStepsSpin->setRange(10, 2000);
    m_fineStepsSpin->setSingleStep(50);
    m_fineStepsSpin->setValue(200);
    m_fineStepsSpin->setToolTip(tr("Fine steps of the ground truth over all coarse intervals; its own error (the change "
                                   "when they are halved) is shown above the error chart"));
    samplesForm->addRow(tr("Class"), m_classCombo);
    samplesForm->addRow(tr("Guidance"), m_guidanceSpin);
    samplesForm->addRow(tr("Batch"), m_batchSpin);
    samplesForm->addRow(tr("Seed"), m_seedSpin);
    samplesForm->addRow(m_groundTruthCheck);
    samplesForm->addRow(tr("GT fine steps"), m_fineStepsSpin);
    layout->addWidget(samplesBox);

    auto* buttons = new QHBoxLayout;
    m_sampleButton = new QPushButton(tr("Sample"));
    m_sampleButton->setObjectName(QStringLiteral("sampleButton"));
    m_sampleButton->setDefault(true);
    m_cancelButton = new QPushButton(tr("Cancel"));
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setEnabled(false);
    buttons->addWidget(m_sampleButton);
    buttons->addWidget(m_cancelButton);
    layout->addLayout(buttons);
    m_progressBar = new QProgressBar;
    m_progressBar->setObjectName(QStringLiteral("progressBar"));
    m_progressBar->setRange(0, kProgressResolution);
    m_progressBar->setValue(0);
    m_progressBar->setTextVisible(false);
    layout->addWidget(m_progressBar);
    m_resetRatiosButton = new QPushButton(tr("Reset ratios to 1"));
    m_resetRatiosButton->setObjectName(QStringLiteral("resetRatiosButton"));
    layout->addWidget(m_resetRatiosButton);
    layout->addStretch(1);

    panel->setMinimumWidth(260);
    panel->setMaximumWidth(340);
    return panel;
}

QWidget* MainWindow::createCentralArea() {
    m_plainView = new ImageGridView;
    m_compensatedView = new ImageGridView;
    m_groundTruthView = new ImageGridView;
    m_plainView->setObjectName(QStringLiteral("plainView"));
    m_compensatedView->setObjectName(QStringLiteral("compensatedView"));
    m_groundTruthView->setObjectName(QStringLiteral("groundTruthView"));
    for (ImageGridView* view : {m_plainView, m_compensatedView, m_groundTruthView}) view->setPlaceholderText(tr("No samples yet"));
    m_groundTruthView->setCaption(tr("Ground truth"));
    auto* comparison = new QWidget;
    auto* comparisonLayout = new QHBoxLayout(comparison);
    comparisonLayout->setContentsMargins(0, 0, 0, 0);
    comparisonLayout->addWidget(m_plainView);
    comparisonLayout->addWidget(m_compensatedView);
    comparisonLayout->addWidget(m_groundTruthView);

    m_trajectoryPlot = new TrajectoryPlot2D;
    m_trajectoryPlot->setObjectName(QStringLiteral("trajectoryPlot"));
    m_viewStack = new QStackedWidget;
    m_viewStack->setObjectName(QStringLiteral("viewStack"));
    m_viewStack->addWidget(comparison);
    m_viewStack->addWidget(m_trajectoryPlot);

    m_ratioEditor = new RatioCurveEditor;
    m_ratioEditor->setObjectName(QStringLiteral("ratioEditor"));
    auto* ratioBox = new QGroupBox(tr("Compensation ratios ρ_k"));
    m_ratioEditor->setToolTip(tr("Drag a point to change its ratio; double-click resets it to 1. The first points stay at 1: "
                                 "compensation needs that much history."));
    auto* ratioLayout = new QVBoxLayout(ratioBox);
    ratioLayout->addWidget(m_ratioEditor);

    m_errorChart = new ErrorChart;
    m_errorChart->setObjectName(QStringLiteral("errorChart"));
    m_errorChart->setAxisTitles(tr("step k"), QString());
    m_errorChart->setLogarithmicY(true);
    m_errorBox = new QGroupBox(tr("Per-step RMS error"));
    m_errorInfoLabel = new QLabel;
    m_errorInfoLabel->setObjectName(QStringLiteral("errorInfoLabel"));
    m_errorInfoLabel->setWordWrap(true);
    m_errorInfoLabel->setForegroundRole(QPalette::PlaceholderText);
    auto* errorLayout = new QVBoxLayout(m_errorBox);
    errorLayout->addWidget(m_errorInfoLabel);
    errorLayout->addWidget(m_errorChart, 1);

    auto* bottom = new QWidget;
    auto* bottomLayout = new QHBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(ratioBox, 1);
    bottomLayout->addWidget(m_errorBox, 1);
    bottom->setMinimumHeight(280);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_viewStack);
    splitter->addWidget(bottom);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    return splitter;
}

void MainWindow::populateModels(const Options& options) {
    if (!options.defaultPackage.isEmpty())
        m_modelCombo->addItem(tr("%1 (package)").arg(QString::fromLatin1(kDefaultModelName)), options.defaultPackage);
    m_modelCombo->addItem(QStringLiteral("builtin:gmm-image"), QStringLiteral("builtin:gmm-image"));
    m_modelCombo->addItem(QStringLiteral("builtin:gmm2d"), QStringLiteral("builtin:gmm2d"));
    int index = m_modelCombo->findData(options.modelSpec);
    if (index < 0 && !options.modelSpec.isEmpty()) {
        m_modelCombo->addItem(options.modelSpec, options.modelSpec);
        index = m_modelCombo->count() - 1;
    }
    m_modelCombo->setCurrentIndex(std::max(0, index));
    m_classCombo->addItem(tr("each class in turn"), SamplingRequest::kEachClassInTurn);
    m_classCombo->addItem(tr("unconditional"), SamplingRequest::kUnconditional);
    applyModelDefaults();
}

void MainWindow::applyModelDefaults() {
    const QString spec = m_modelCombo->currentData().toString();
    m_batchSpin->setValue(spec == QStringLiteral("builtin:gmm2d") ? kPointBatchSize : kImageBatchSize);
}

void MainWindow::connectControls() {
    connect(m_modelCombo, &QComboBox::currentIndexChanged, this, &MainWindow::onModelChanged);
    connect(m_solverCombo, &QComboBox::currentIndexChanged, this, &MainWindow::onSolverChanged);
    connect(m_nfeSpin, &QSpinBox::valueChanged, m_ratioEditor, &RatioCurveEditor::resizeRatios);
    connect(m_nfeSpin, &QSpinBox::valueChanged, this, &MainWindow::applyPackageRatios);
    connect(m_guidanceSpin, &QDoubleSpinBox::valueChanged, this, &MainWindow::applyPackageRatios);
    connect(m_dcOrderSpin, &QSpinBox::valueChanged, m_ratioEditor, &RatioCurveEditor::setLockedCount);
    // Ratio edits re-sample at once; each new request supersedes the running one (latest wins).
    connect(m_ratioEditor, &RatioCurveEditor::ratiosChanging, this, &MainWindow::onRatiosEdited);
    connect(m_ratioEditor, &RatioCurveEditor::ratiosEdited, this, &MainWindow::onRatiosEdited);
    connect(m_resetRatiosButton, &QPushButton::clicked, this, [this] {
        m_followPackageRatios = false;
        m_ratioEditor->setRatios(onesOfSize(m_nfeSpin->value()));
        requestSampling();
    });
    connect(m_sampleButton, &QPushButton::clicked, this, &MainWindow::requestSampling);
    connect(m_cancelButton, &QPushButton::clicked, this, [this] { m_controller.cancel(); });
}

void MainWindow::onModelChanged() {
    loadPackageRatios();
    m_followPackageRatios = true;
    if (m_packageCpr)
        applyPackageRatios();
    else
        m_ratioEditor->setRatios(onesOfSize(m_nfeSpin->value()));
    m_modelInfoLabel->clear();
    // Classes belong to the model: back to the choices every model has until its labels arrive.
    while (m_classCombo->count() > 2) m_classCombo->removeItem(m_classCombo->count() - 1);
    m_classCombo->setCurrentIndex(0);
    applyModelDefaults();
    requestSampling();
}

void MainWindow::onSolverChanged() {
    const SolverChoice& choice = kSolverChoices[std::max(0, m_solverCombo->currentIndex())];
    m_orderSpin->setEnabled(choice.type != dcscope::SolverType::Ddim);  // DDIM is first order by definition
}

void MainWindow::requestSampling() {
    const SolverChoice& choice = kSolverChoices[std::max(0, m_solverCombo->currentIndex())];
    SamplingRequest request;
    request.modelSpec = m_modelCombo->currentData().toString().toStdString();
    request.device = m_options.device.toStdString();
    request.solver.solver = choice.type;
    request.solver.variant = choice.variant;
    request.solver.order = m_orderSpin->value();
    request.solver.steps = m_nfeSpin->value();
    request.solver.grid = dcscope::parseTimeGrid(m_gridCombo->currentData().toString().toStdString());
    request.solver.dcOrder = m_dcOrderSpin->value();
    const QVector<double>& ratios = m_ratioEditor->ratios();
    request.ratios.assign(ratios.begin(), ratios.end());
    request.seed = static_cast<uint64_t>(m_seedSpin->value());
    request.batchSize = m_batchSpin->value();
    request.classChoice = m_classCombo->currentData().toInt();
    request.guidanceScale = m_guidanceSpin->value();
    request.computeGroundTruth = m_groundTruthCheck->isChecked();
    request.groundTruthFineSteps = m_fineStepsSpin->value();
    request.intraOpThreads = m_threadsSetting;
    m_requestedRatios = ratios;
    m_awaitingSamples = true;
    m_ratioEditPending = false;
    m_currentRequestId = m_controller.submit(std::move(request))->id;
    Q_EMIT samplingRequested(m_currentRequestId);
    m_currentSolverName = m_solverCombo->currentText();
    m_pendingStep.reset();
    setRunning(true);
    statusBar()->showMessage(tr("Sampling…"));
}

void MainWindow::loadPackageRatios() {
    m_packageCpr.reset();
    const QString spec = m_modelCombo->currentData().toString();
    if (spec.startsWith(QStringLiteral("builtin:"))) return;
    try {
        m_packageCpr = dcscope::loadCprCoefficientsFrom(spec.toStdString());
    } catch (const std::exception&) {
        // No compensation entry (or a broken one, which the worker reports when it loads the model).
    }
}

void MainWindow::applyPackageRatios() {
    if (!m_followPackageRatios || !m_packageCpr) return;
    try {
        const auto predicted = dcscope::predictCprRatios(*m_packageCpr, m_guidanceSpin->value(), m_nfeSpin->value());
        m_ratioEditor->setRatios(QVector<double>(predicted.begin(), predicted.end()));
    } catch (const std::exception&) {
        m_ratioEditor->setRatios(onesOfSize(m_nfeSpin->value()));
    }
}

void MainWindow::onRatiosEdited() {
    m_followPackageRatios = false;  // the user's curve from now on
    const QVector<double>& ratios = m_ratioEditor->ratios();
    // The release that ends a drag repeats the last move's ratios: nothing new to sample.
    if (ratios == m_requestedRatios) return;
    // Latest wins, but a run whose samples are not on screen yet is not thrown away for every
    // mouse move: the newest edit waits for it, so the compensated pane keeps up while dragging.
    // Once its samples are shown, an edit supersedes the rest of it (the ground truth) at once.
    if (m_awaitingSamples) {
        m_ratioEditPending = true;
        return;
    }
    requestSampling();
}

void MainWindow::samplesShown() {
    m_awaitingSamples = false;
    if (!m_ratioEditPending) return;
    m_ratioEditPending = false;
    if (m_ratioEditor->ratios() != m_requestedRatios) requestSampling();
}

void MainWindow::setRunning(bool running) {
    m_cancelButton->setEnabled(running);
    if (running) m_progressBar->setValue(0);
}

void MainWindow::onModelLoaded(std::shared_ptr<const ModelSummary> summary) {
    // A superseded request may still have loaded another model; only the selected one matters.
    if (summary->spec != m_modelCombo->currentData().toString()) return;
    m_modelInfoLabel->setText(summary->description.isEmpty() ? tr("%1, samples %2").arg(summary->name, summary->sampleShape)
                                                             : summary->description);
    while (m_classCombo->count() > 2) m_classCombo->removeItem(m_classCombo->count() - 1);
    for (int i = 0; i < summary->labels.size(); ++i) m_classCombo->addItem(summary->labels[i], i);
    const bool conditional = !summary->labels.isEmpty();
    m_classCombo->setEnabled(conditional);
    m_guidanceSpin->setEnabled(conditional);
    m_viewStack->setCurrentWidget(summary->pointModel ? static_cast<QWidget*>(m_trajectoryPlot) : m_viewStack->widget(0));
    m_trajectoryPlot->clearLayers();
    m_trajectoryPlot->setMarkers(summary->modeCentres);
    for (ImageGridView* view : {m_plainView, m_compensatedView, m_groundTruthView}) view->setImages({});
}

void MainWindow::onStepProgress(std::shared_ptr<const StepUpdate> update) {
    if (update->requestId != m_currentRequestId) return;
    m_pendingStep = std::move(update);
    if (!m_stepRepaintTimer.isActive()) m_stepRepaintTimer.start();
}

void MainWindow::applyPendingStep() {
    const std::shared_ptr<const StepUpdate> update = std::exchange(m_pendingStep, nullptr);
    if (!update || update->requestId != m_currentRequestId) return;
    m_progressBar->setValue(int(std::lround(update->progress * kProgressResolution)));
    const bool compensatedRun = update->run == SamplingRun::Compensated;
    if (!update->preview.isEmpty()) (compensatedRun ? m_compensatedView : m_plainView)->setImages(update->preview);
    if (!update->paths.isEmpty() && update->run != SamplingRun::GroundTruth)
        m_trajectoryPlot->setLayer(compensatedRun ? compensatedName(m_currentSolverName) : m_currentSolverName, update->paths,
                                   compensatedRun ? kCompensatedColor : kPlainColor);
    statusBar()->showMessage(
        tr("Sampling: %1, step %2 of %3").arg(runName(update->run)).arg(update->step).arg(update->totalSteps));
}

void MainWindow::onSamplesReady(std::shared_ptr<const SamplingResult> result) {
    if (result->requestId != m_currentRequestId) return;
    // Previews of the finished runs may still be pending; the final samples replace them.
    if (m_pendingStep && m_pendingStep->run != SamplingRun::GroundTruth) m_pendingStep.reset();
    showSamples(*result);
    m_groundTruthView->setImages({});
    m_groundTruthView->setPlaceholderText(tr("Computing the ground truth…"));
    m_errorChart->clearSeries();
    m_errorInfoLabel->setText(tr("Computing the ground truth…"));
    statusBar()->showMessage(resultStatus(*result) + tr(" · computing the ground truth…"));
    Q_EMIT resultShown(result->requestId, false);
    samplesShown();
}

void MainWindow::onFinished(std::shared_ptr<const SamplingResult> result) {
    if (result->requestId != m_currentRequestId) return;
    m_stepRepaintTimer.stop();
    m_pendingStep.reset();
    m_lastResult = result;
    setRunning(false);
    m_progressBar->setValue(kProgressResolution);
    showSamples(*result);
    showErrorCurves(*result);
    statusBar()->showMessage(resultStatus(*result));
    Q_EMIT resultShown(result->requestId, true);
    samplesShown();
    // Chart legends and axes re-layout through posted events; give them a moment before grabbing.
    if (!m_options.screenshotPath.isEmpty())
        QTimer::singleShot(kScreenshotSettleMs, this, [this] { finishScreenshot(true); });
}

void MainWindow::showSamples(const SamplingResult& result) {
    const QString plainName = result.solverName;
    const QString dcName = compensatedName(plainName);
    m_plainView->setCaption(plainName);
    m_compensatedView->setCaption(result.compensated ? dcName + (m_followPackageRatios ? tr(" (package CPR ratios)") : QString())
                                                     : dcName + tr(" (all ρ = 1: same as plain)"));
    if (!result.plainImages.isEmpty()) {
        m_plainView->setImages(result.plainImages);
        m_compensatedView->setImages(result.compensatedImages);
    }
    if (result.hasGroundTruth) {
        m_groundTruthView->setCaption(groundTruthName(result));
        m_groundTruthView->setImages(result.groundTruthImages);
    } else if (!m_groundTruthCheck->isChecked()) {
        m_groundTruthView->setImages({});
        m_groundTruthView->setPlaceholderText(tr("Ground truth is off"));
    }
    m_trajectoryPlot->clearLayers();
    if (!result.plainPaths.isEmpty()) {
        if (result.hasGroundTruth)
            m_trajectoryPlot->setLayer(groundTruthName(result), result.groundTruthPaths, kGroundTruthColor);
        m_trajectoryPlot->setLayer(plainName, result.plainPaths, kPlainColor);
        m_trajectoryPlot->setLayer(result.compensated ? dcName : dcName + tr(" (all ρ = 1)"), result.compensatedPaths,
                                   kCompensatedColor);
    }
}

void MainWindow::showErrorCurves(const SamplingResult& result) {
    m_errorChart->clearSeries();
    if (!result.hasGroundTruth) {
        m_errorInfoLabel->setText(tr("The ground truth is off."));
        return;
    }
    m_errorInfoLabel->setText(tr("RMS distance to the %1 at each t_k; the ground truth's own error (max change when its "
                                 "fine steps are halved): %2")
                             .arg(groundTruthName(result))
                             .arg(std::isnan(result.groundTruthError) ? tr("unknown") : QString::number(result.groundTruthError, 'g', 2)));
    m_errorChart->setSeries(result.solverName, result.plainError, kPlainColor);
    m_errorChart->setSeries(compensatedName(result.solverName), result.compensatedError, kCompensatedColor);
}

QString MainWindow::resultStatus(const SamplingResult& result) const {
    const QString kept = tr(" (kept)");
    QStringList parts;
    parts << tr("%1, %2 steps: NFE %3 per run").arg(result.solverName).arg(result.steps).arg(result.nfePerRun);
    parts << tr("plain %1%2").arg(formatSeconds(result.plainSeconds), result.plainReused ? kept : QString());
    if (!result.compensated)
        parts << tr("DC off (all ρ = 1)");
    else if (result.compensatedResumedFrom > 0)
        parts << tr("DC %1 (resumed at step %2)").arg(formatSeconds(result.compensatedSeconds)).arg(result.compensatedResumedFrom);
    else
        parts << tr("DC %1").arg(formatSeconds(result.compensatedSeconds));
    if (result.modelCallsSaved > 0) parts << tr("%1 model calls saved").arg(result.modelCallsSaved);
    if (result.hasGroundTruth && !result.plainError.isEmpty()) {
        parts << tr("ground truth %1")
                     .arg(result.groundTruthReused    ? kept
                          : result.groundTruthFromDisk ? tr("from cache")
                                                       : tr("%1 calls, %2").arg(result.groundTruthModelCalls).arg(formatSeconds(result.groundTruthSeconds)));
        parts << tr("final RMS error %1 plain, %2 DC")
                     .arg(result.plainError.last().y(), 0, 'g', 3)
                     .arg(result.compensatedError.last().y(), 0, 'g', 3);
    }
    return parts.join(QStringLiteral(" · "));
}

void MainWindow::onCancelled(int requestId) {
    if (requestId != m_currentRequestId) return;  // superseded requests end quietly
    m_stepRepaintTimer.stop();
    m_pendingStep.reset();
    setRunning(false);
    m_awaitingSamples = m_ratioEditPending = false;
    statusBar()->showMessage(tr("Cancelled."));
}

void MainWindow::onFailed(int requestId, const QString& message) {
    if (requestId != m_currentRequestId) return;
    m_stepRepaintTimer.stop();
    m_pendingStep.reset();
    setRunning(false);
    m_awaitingSamples = m_ratioEditPending = false;
    m_progressBar->setValue(0);
    statusBar()->showMessage(tr("Error: %1").arg(message));
    if (!m_options.screenshotPath.isEmpty() && !m_screenshotTaken) {
        std::fprintf(stderr, "dcscope: %s\n", qPrintable(message));
        finishScreenshot(false);
        return;
    }
    showError(this, message);
}

void MainWindow::finishScreenshot(bool succeeded) {
    if (m_options.screenshotPath.isEmpty() || m_screenshotTaken) return;
    m_screenshotTaken = true;
    bool saved = false;
    if (succeeded) {
        // QSaveFile: a crash or a full disk mid-write leaves any previous screenshot intact.
        QSaveFile file(m_options.screenshotPath);
        saved = file.open(QIODevice::WriteOnly) && grab().save(&file, "PNG") && file.commit();
        if (!saved) std::fprintf(stderr, "dcscope: could not write %s\n", qPrintable(m_options.screenshotPath));
    }
    QCoreApplication::exit(saved ? 0 : 1);
}
