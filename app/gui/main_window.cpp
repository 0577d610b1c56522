#include "main_window.h"

#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QThread>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

#include <cmath>
#include <cstdio>
#include <functional>
#include <utility>

#include "comparison_view.h"
#include "dcscope/cpr.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"
#include "dcscope/threads.h"
#include "default_model.h"
#include "error_chart.h"
#include "error_dialog.h"
#include "inference_worker.h"
#include "ratio_curve_editor.h"
#include "research_panel.h"
#include "ratio_edit_command.h"
#include "sample_detail_dialog.h"
#include "solver_choices.h"
#include "trajectory_gl_view.h"

namespace {

// Step updates can arrive every few milliseconds; the views repaint at most this often.
constexpr int kRepaintIntervalMs = 30;
constexpr int kProgressResolution = 1000;
constexpr int kScreenshotSettleMs = 200;
constexpr int kImageBatchSize = 16;
constexpr int kPointBatchSize = 64;  // points are cheap and a cloud shows the distribution better
constexpr int kMaxSeed = 999999;

const QColor kPlainColor(230, 134, 46);
const QColor kCompensatedColor(46, 123, 230);
const QColor kCprOverlayColor(40, 160, 90);
const QColor kSearchedOverlayColor(150, 70, 190);
const QColor kFileOverlayColor(150, 110, 60);
const QColor kResearchOverlayColor(200, 60, 140);

QVector<double> onesOfSize(int count) { return QVector<double>(count, 1.0); }

QString compensatedName(const QString& solverName) { return compensatedSolverName(solverName); }

QString groundTruthName(const SamplingResult& result) {
    return QObject::tr("ground truth (%1, %2 fine steps)").arg(result.groundTruthSolver).arg(result.groundTruthFineSteps);
}

QString formatSeconds(double seconds) {
    return seconds < 1.0 ? QStringLiteral("%1 ms").arg(seconds * 1000.0, 0, 'f', 0)
                         : QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
}

QString formatMse(double mse) { return QString::number(mse, 'e', 2); }

/// "−33.1%" for a DC MSE a third below plain's.
QString formatChange(double plainMse, double compensatedMse) {
    if (!(plainMse > 0) || !std::isfinite(compensatedMse)) return QString();
    const double percent = 100.0 * (compensatedMse / plainMse - 1.0);
    return QStringLiteral("%1%2%").arg(percent < 0 ? QStringLiteral("−") : QStringLiteral("+")).arg(std::abs(percent), 0, 'f', 1);
}

/// Whether a model spec names a 2-D model before it is loaded: the built-in plane mixture or a
/// mixture file (those a user shapes in the plane).
bool namesPointModel(const QString& spec) {
    return spec == QStringLiteral("builtin:gmm2d") || dcscope::isMixtureModelSpec(spec.toStdString());
}

/// The image models' trajectory view in a window of its own. Closing it runs `onClosed` (the
/// main window unchecks View > Trajectories); it never keeps the application running alone.
class TrajectoryWindow : public QWidget {
public:
    explicit TrajectoryWindow(std::function<void()> onClosed) : m_onClosed(std::move(onClosed)) {
        setAttribute(Qt::WA_QuitOnClose, false);
    }

protected:
    void closeEvent(QCloseEvent* event) override {
        QWidget::closeEvent(event);
        m_onClosed();
    }

private:
    std::function<void()> m_onClosed;
};

QString runName(SamplingRun run) {
    switch (run) {
    case SamplingRun::QuickSearch: return QStringLiteral("quick search for DC ratios (once per setting, then cached)");
    case SamplingRun::Plain: return QStringLiteral("plain run");
    case SamplingRun::Compensated: return QStringLiteral("compensated run");
    case SamplingRun::GroundTruth: return QStringLiteral("ground truth");
    }
    return {};
}

}  // namespace

MainWindow::MainWindow(const Options& options, QWidget* parent) : QMainWindow(parent), m_options(options) {
    setWindowTitle(QStringLiteral("dcscope"));
    setAcceptDrops(true);
    m_mainSplitter = new QSplitter(Qt::Horizontal);
    m_mainSplitter->setObjectName(QStringLiteral("mainSplitter"));
    m_mainSplitter->addWidget(createControlPanel());
    m_mainSplitter->addWidget(createCentralArea());
    m_mainSplitter->setStretchFactor(0, 0);
    m_mainSplitter->setStretchFactor(1, 1);
    m_mainSplitter->setCollapsible(0, false);
    setCentralWidget(m_mainSplitter);

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
    createResearchDock();
    createMenus();
    if (options.trajectories) m_projectionAction->setChecked(true);

    populateModels(options);
    populateDevices();
    if (!options.ratios.isEmpty()) m_nfeSpin->setValue(static_cast<int>(options.ratios.size()));
    m_ratioEditor->setLockedCount(m_dcOrderSpin->value());
    m_ratioEditor->setRatios(options.ratios.isEmpty() ? onesOfSize(m_nfeSpin->value()) : options.ratios);
    // A package that ships fitted CPR coefficients opens with DC on: its ratios for this NFE and
    // guidance, until the user edits them.
    loadPackageCompensation();
    m_followPackageRatios = options.ratios.isEmpty();
    applyPackageRatios();
    refreshOverlays();
    onSolverChanged();
    m_committedRatios = m_ratioEditor->ratios();
    // Connected after the initial values are in place, so setting them up starts no sampling.
    connectControls();
    resize(1260, 780);  // fits a 1280x800 screen
    if (options.restoreGeometry) restoreWindowState();

    statusBar()->showMessage(options.startupMessage);
    bool sampling = false;
    if (!options.sessionPath.isEmpty())
        sampling = openSessionFile(options.sessionPath);
    else if (options.restoreLastSession)
        sampling = restoreLastSession();
    placeTrajectoryView();
    if (!sampling && options.sampleOnStart) requestSampling();
}

void MainWindow::placeTrajectoryView() {
    if (namesPointModel(m_modelCombo->currentData().toString())) {
        m_viewStack->addWidget(m_trajectoryView);
    } else {
        auto window = std::make_unique<TrajectoryWindow>([this] { m_projectionAction->setChecked(false); });
        window->setObjectName(QStringLiteral("trajectoryWindow"));
        window->setWindowTitle(tr("dcscope: trajectories on the principal plane"));
        auto* layout = new QVBoxLayout(window.get());
        layout->setContentsMargins(0, 0, 0, 0);
        layout->addWidget(m_trajectoryView);
        window->resize(760, 720);
        // The window's shortcuts (Ctrl+T back, undo, cancel, steps) work from here as well.
        for (QAction* menuAction : menuBar()->actions())
            if (menuAction->menu()) window->addActions(menuAction->menu()->actions());
        m_trajectoryWindow = std::move(window);
        if (m_options.restoreGeometry) restoreTrajectoryWindowGeometry();
    }
    showTrajectories(m_projectionAction->isChecked());
}

void MainWindow::showTrajectories(bool on) {
    if (!m_trajectoryWindow) {
        if (m_viewStack->indexOf(m_trajectoryView) >= 0)
            m_viewStack->setCurrentWidget(on ? static_cast<QWidget*>(m_trajectoryView) : m_comparison);
        return;
    }
    if (!on) {
        m_trajectoryWindow->hide();
    } else if (isVisible()) {  // otherwise showEvent opens it with this window
        m_trajectoryWindow->show();
        m_trajectoryWindow->raise();
        m_trajectoryWindow->activateWindow();
    }
}

bool MainWindow::stepFollowsTrajectoryView() const {
    if (!m_trajectoryWindow) return m_viewStack->currentWidget() == m_trajectoryView;
    return m_trajectoryWindow->isVisible() && !m_comparison->hasFrames();
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (m_trajectoryWindow && m_projectionAction->isChecked() && !m_trajectoryWindow->isVisible()) showTrajectories(true);
}

MainWindow::~MainWindow() {
    // A running video export reads the shown result: stop it before the window goes.
    if (m_videoThread) {
        m_videoCancel->store(true);
        m_videoThread->wait();
        delete m_videoThread;
    }
}

QWidget* MainWindow::createControlPanel() {
    auto* panel = new QWidget;
    auto* layout = new QVBoxLayout(panel);

    auto* modelBox = new QGroupBox(tr("Model"));
    auto* modelLayout = new QFormLayout(modelBox);
    m_modelCombo = new QComboBox;
    m_modelCombo->setObjectName(QStringLiteral("modelCombo"));
    m_modelCombo->setToolTip(tr("The diffusion model: a package folder (File > Open package, or drop one on the window) "
                                "or a built-in Gaussian mixture with an exact score"));
    m_deviceCombo = new QComboBox;
    m_deviceCombo->setObjectName(QStringLiteral("deviceCombo"));
    m_deviceCombo->setToolTip(tr("Where the model runs: the CPU or a CUDA device LibTorch sees (from the next sampling on)"));
    m_modelInfoLabel = new QLabel;
    m_modelInfoLabel->setWordWrap(true);
    m_modelInfoLabel->setForegroundRole(QPalette::PlaceholderText);
    modelLayout->addRow(m_modelCombo);
    modelLayout->addRow(tr("Device"), m_deviceCombo);
    modelLayout->addRow(m_modelInfoLabel);
    layout->addWidget(modelBox);

    auto* solverBox = new QGroupBox(tr("Solver"));
    auto* solverForm = new QFormLayout(solverBox);
    m_solverCombo = new QComboBox;
    m_solverCombo->setObjectName(QStringLiteral("solverCombo"));
    for (const SolverChoice& choice : solverChoices()) m_solverCombo->addItem(choice.label());
    m_solverCombo->setToolTip(tr("The multistep solver; DC compensates its model outputs"));
    m_orderSpin = new QSpinBox;
    m_orderSpin->setObjectName(QStringLiteral("orderSpin"));
    m_orderSpin->setRange(1, 3);
    m_orderSpin->setValue(2);
    m_orderSpin->setToolTip(tr("Order of the multistep formulas (DDIM is first order)"));
    m_gridCombo = new QComboBox;
    m_gridCombo->setObjectName(QStringLiteral("gridCombo"));
    m_gridCombo->addItem(tr("uniform in t"), QStringLiteral("time_uniform"));
    m_gridCombo->addItem(tr("uniform in log-SNR"), QStringLiteral("logSNR"));
    m_gridCombo->addItem(tr("quadratic in t"), QStringLiteral("time_quadratic"));
    m_gridCombo->setToolTip(tr("Where the coarse times t_0 > ... > t_S lie"));
    m_nfeSpin = new QSpinBox;
    m_nfeSpin->setObjectName(QStringLiteral("nfeSpin"));
    m_nfeSpin->setRange(1, 100);
    m_nfeSpin->setValue(10);
    m_nfeSpin->setToolTip(tr("Steps S = model calls per run; the ratio curve is resampled when it changes"));
    m_dcOrderSpin = new QSpinBox;
    m_dcOrderSpin->setObjectName(QStringLiteral("dcOrderSpin"));
    m_dcOrderSpin->setRange(1, 3);
    m_dcOrderSpin->setValue(2);
    m_dcOrderSpin->setToolTip(tr("Order K of the Lagrange interpolation DC uses; the first K ratios stay 1"));
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
    m_classCombo->setToolTip(tr("The class each sample is conditioned on (each class in turn: sample b gets class b mod K)"));
    m_guidanceSpin = new QDoubleSpinBox;
    m_guidanceSpin->setObjectName(QStringLiteral("guidanceSpin"));
    m_guidanceSpin->setRange(0.0, 30.0);
    m_guidanceSpin->setSingleStep(0.5);
    m_guidanceSpin->setValue(3.0);
    m_guidanceSpin->setToolTip(tr("Classifier-free guidance scale w (1 = plain conditional model)"));
    m_batchSpin = new QSpinBox;
    m_batchSpin->setObjectName(QStringLiteral("batchSpin"));
    m_batchSpin->setRange(1, Session::kMaxBatch);
    m_batchSpin->setValue(kImageBatchSize);
    m_batchSpin->setToolTip(tr("Samples per comparison"));
    m_seedSpin = new QSpinBox;
    m_seedSpin->setObjectName(QStringLiteral("seedSpin"));
    m_seedSpin->setRange(0, kMaxSeed);
    m_seedSpin->setToolTip(tr("Sample b starts from datapoint seed + b: the same noise as dcscope-cli --seed"));
    m_randomSeedButton = new QPushButton(tr("Random"));
    m_randomSeedButton->setObjectName(QStringLiteral("randomSeedButton"));
    m_randomSeedButton->setToolTip(tr("Pick a random seed and sample"));
    m_seedLockCheck = new QCheckBox(tr("Lock"));
    m_seedLockCheck->setObjectName(QStringLiteral("seedLockCheck"));
    m_seedLockCheck->setToolTip(tr("Keep this seed: the seed box and Random are disabled"));
    auto* seedRow = new QHBoxLayout;
    seedRow->addWidget(m_seedSpin, 1);
    seedRow->addWidget(m_randomSeedButton);
    seedRow->addWidget(m_seedLockCheck);
    m_groundTruthCheck = new QCheckBox(tr("Ground truth"));
    m_groundTruthCheck->setObjectName(QStringLiteral("groundTruthCheck"));
    m_groundTruthCheck->setChecked(true);
    m_groundTruthCheck->setToolTip(tr("Solve the same noise with many small steps that land exactly on every coarse time "
                                      "(cached on disk), for the error curves, the ground-truth pane and the difference maps"));
    m_fineStepsSpin = new QSpinBox;
    m_fineStepsSpin->setObjectName(QStringLiteral("fineStepsSpin"));
    configureFineStepsSpin(*m_fineStepsSpin, 2000);
    m_fineStepsSpin->setToolTip(tr("Fine steps of the ground truth over all coarse intervals (auto: %1); its own error (the "
                                   "change when they are halved) is shown above the error chart")
                                    .arg(QString::fromStdString(dcscope::describeFineSteps(dcscope::kDefaultFineSteps))));
    samplesForm->addRow(tr("Class"), m_classCombo);
    samplesForm->addRow(tr("Guidance"), m_guidanceSpin);
    samplesForm->addRow(tr("Batch"), m_batchSpin);
    samplesForm->addRow(tr("Seed"), seedRow);
    samplesForm->addRow(m_groundTruthCheck);
    samplesForm->addRow(tr("GT fine steps"), m_fineStepsSpin);
    layout->addWidget(samplesBox);

    auto* buttons = new QHBoxLayout;
    m_sampleButton = new QPushButton(tr("Sample"));
    m_sampleButton->setObjectName(QStringLiteral("sampleButton"));
    m_sampleButton->setDefault(true);
    m_sampleButton->setToolTip(tr("Sample plain and compensated from the same noise (Ctrl+Enter)"));
    m_cancelButton = new QPushButton(tr("Cancel"));
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setEnabled(false);
    m_cancelButton->setToolTip(tr("Stop within one model call; the panes keep the last x0-prediction (Esc)"));
    buttons->addWidget(m_sampleButton);
    buttons->addWidget(m_cancelButton);
    layout->addLayout(buttons);
    m_progressBar = new QProgressBar;
    m_progressBar->setObjectName(QStringLiteral("progressBar"));
    m_progressBar->setRange(0, kProgressResolution);
    m_progressBar->setValue(0);
    m_progressBar->setTextVisible(false);
    m_progressBar->setToolTip(tr("Progress of the current request (plain run, DC run, ground truth)"));
    layout->addWidget(m_progressBar);
    m_resetRatiosButton = new QPushButton(tr("Reset ratios to 1"));
    m_resetRatiosButton->setObjectName(QStringLiteral("resetRatiosButton"));
    m_resetRatiosButton->setToolTip(tr("Every ρ back to 1 (no compensation); undoable"));
    layout->addWidget(m_resetRatiosButton);
    layout->addStretch(1);

    panel->setMinimumWidth(250);
    panel->setMaximumWidth(330);
    return panel;
}

QWidget* MainWindow::createCentralArea() {
    m_comparison = new ComparisonView;
    m_comparison->setObjectName(QStringLiteral("comparisonView"));
    for (auto pane : {ComparisonView::Pane::Plain, ComparisonView::Pane::Compensated, ComparisonView::Pane::GroundTruth})
        m_comparison->setPlaceholderText(pane, tr("No samples yet"));
    m_comparison->setCaption(ComparisonView::Pane::GroundTruth, tr("Ground truth"));

    m_trajectoryView = new TrajectoryGlView;
    m_trajectoryView->setObjectName(QStringLiteral("trajectoryView"));
    m_trajectoryView->setToolTip(tr("Drag to pan, wheel to zoom, Space plays, Left/Right step; hover a solver's state to inspect it"));
    m_viewStack = new QStackedWidget;
    m_viewStack->setObjectName(QStringLiteral("viewStack"));
    m_viewStack->addWidget(m_comparison);  // the trajectory view joins once the model is known

    m_ratioEditor = new RatioCurveEditor;
    m_ratioEditor->setObjectName(QStringLiteral("ratioEditor"));
    auto* ratioBox = new QGroupBox(tr("Compensation ratios ρ_k"));
    m_ratioEditor->setToolTip(tr("Drag a point, or select it with Left/Right and move it with Up/Down (Shift: finer); "
                                 "double-click or Enter types a value; click a dashed overlay's name to apply it. "
                                 "The first points stay at 1: compensation needs that much history."));
    auto* ratioLayout = new QVBoxLayout(ratioBox);
    ratioLayout->addWidget(m_ratioEditor);

    m_errorChart = new ErrorChart;
    m_errorChart->setObjectName(QStringLiteral("errorChart"));
    m_errorChart->setAxisTitles(tr("step k"), QString());
    m_errorChart->setLogarithmicY(true);
    m_errorChart->setToolTip(tr("RMS distance of each run to the ground truth at every t_k; the dashed line marks the step shown"));
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
    bottom->setMinimumHeight(200);

    m_centralSplitter = new QSplitter(Qt::Vertical);
    m_centralSplitter->setObjectName(QStringLiteral("centralSplitter"));
    m_centralSplitter->addWidget(m_viewStack);
    m_centralSplitter->addWidget(bottom);
    m_centralSplitter->setStretchFactor(0, 3);
    m_centralSplitter->setStretchFactor(1, 1);
    return m_centralSplitter;
}

int MainWindow::addModelEntry(const QString& spec) {
    int index = m_modelCombo->findData(spec);
    if (index < 0) {
        m_modelCombo->addItem(spec, spec);
        index = m_modelCombo->count() - 1;
    }
    return index;
}

void MainWindow::populateModels(const Options& options) {
    if (!options.defaultPackage.isEmpty())
        m_modelCombo->addItem(tr("%1 (package)").arg(QString::fromLatin1(kDefaultModelName)), options.defaultPackage);
    m_modelCombo->addItem(QStringLiteral("builtin:gmm-image"), QStringLiteral("builtin:gmm-image"));
    m_modelCombo->addItem(QStringLiteral("builtin:gmm2d"), QStringLiteral("builtin:gmm2d"));
    m_modelCombo->setCurrentIndex(options.modelSpec.isEmpty() ? 0 : addModelEntry(options.modelSpec));
    m_classCombo->addItem(tr("each class in turn"), SamplingRequest::kEachClassInTurn);
    m_classCombo->addItem(tr("unconditional"), SamplingRequest::kUnconditional);
    applyModelDefaults();
}

void MainWindow::populateDevices() {
    for (const std::string& device : dcscope::availableDevices())
        m_deviceCombo->addItem(QString::fromStdString(device), QString::fromStdString(device));
    // A device asked for on the command line stays selectable even where it is missing: the
    // worker then reports it in one line.
    int index = m_deviceCombo->findData(m_options.device);
    if (index < 0) {
        m_deviceCombo->addItem(m_options.device, m_options.device);
        index = m_deviceCombo->count() - 1;
    }
    m_deviceCombo->setCurrentIndex(index);
}

void MainWindow::applyModelDefaults() {
    const QString spec = m_modelCombo->currentData().toString();
    m_batchSpin->setValue(namesPointModel(spec) ? kPointBatchSize : kImageBatchSize);
}

void MainWindow::connectControls() {
    connect(m_modelCombo, &QComboBox::currentIndexChanged, this, &MainWindow::onModelChanged);
    connect(m_solverCombo, &QComboBox::currentIndexChanged, this, &MainWindow::onSolverChanged);
    connect(m_nfeSpin, &QSpinBox::valueChanged, this, [this](int steps) {
        m_ratioEditor->resizeRatios(steps);  // resampled over the normalised step position
        m_committedRatios = m_ratioEditor->ratios();
        applyPackageRatios();
        refreshOverlays();
    });
    connect(m_guidanceSpin, &QDoubleSpinBox::valueChanged, this, [this] {
        applyPackageRatios();
        refreshOverlays();
    });
    connect(m_dcOrderSpin, &QSpinBox::valueChanged, this, [this](int order) {
        m_ratioEditor->setLockedCount(order);
        m_committedRatios = m_ratioEditor->ratios();
    });
    // Ratio edits re-sample at once; each new request supersedes the running one (latest wins).
    connect(m_ratioEditor, &RatioCurveEditor::ratiosChanging, this, &MainWindow::onRatiosChanging);
    connect(m_ratioEditor, &RatioCurveEditor::ratiosEdited, this, &MainWindow::onRatiosEdited);
    connect(m_resetRatiosButton, &QPushButton::clicked, this, [this] {
        m_ratioEditor->setRatios(onesOfSize(m_nfeSpin->value()));
        onRatiosEdited();
    });
    connect(m_sampleButton, &QPushButton::clicked, this, &MainWindow::requestSampling);
    connect(m_cancelButton, &QPushButton::clicked, this, [this] { m_controller.cancel(); });
    connect(m_randomSeedButton, &QPushButton::clicked, this, [this] {
        m_seedSpin->setValue(int(QRandomGenerator::global()->bounded(kMaxSeed + 1)));
        requestSampling();
    });
    connect(m_seedLockCheck, &QCheckBox::toggled, this, [this](bool locked) {
        m_seedSpin->setEnabled(!locked);
        m_randomSeedButton->setEnabled(!locked);
    });
    connect(m_comparison, &ComparisonView::stepChanged, this, &MainWindow::onStepShown);
    // The trajectory view's step and the scrubber follow each other.
    connect(m_comparison, &ComparisonView::stepChanged, m_trajectoryView, &TrajectoryGlView::setStep);
    connect(m_trajectoryView, &TrajectoryGlView::stateClicked, this, [this](int particle, int step) {
        // Image models: the clicked sample's images at that step, enlarged.
        if (!m_comparison->hasFrames()) return;
        m_comparison->setStep(step);
        showSampleDetail(particle);
    });
    connect(m_trajectoryView, &TrajectoryGlView::stepChanged, this, [this](int step) {
        if (m_comparison->hasFrames()) m_comparison->setStep(step);
        onStepShown(step);
    });
    connect(m_comparison, &ComparisonView::sampleClicked, this, &MainWindow::showSampleDetail);
    connect(m_trajectoryView, &TrajectoryGlView::mixtureEdited, this, &MainWindow::onMixtureEdited);
    // Image models: hovering the selected sample's path shows its images at the hovered step.
    connect(m_trajectoryView, &TrajectoryGlView::stateHovered, this, [this](int particle, int step) {
        if (!m_shownResult) return;
        const bool noisy = m_comparison->showsNoisyState();
        const auto& frames = noisy ? m_shownResult->stateFrames : m_shownResult->predictionFrames;
        if (step < 0 || step >= frames.size() || particle < 0 || particle >= frames[step].plain.size()) return;
        const ComparisonFrame& frame = frames[step];
        QVector<QImage> images{frame.plain[particle]};
        QStringList captions{tr("plain")};
        if (particle < frame.compensated.size()) {
            images.append(frame.compensated[particle]);
            captions.append(tr("DC"));
        }
        if (particle < frame.groundTruth.size()) {
            images.append(frame.groundTruth[particle]);
            captions.append(tr("ground truth"));
        }
        m_trajectoryView->setStateImages(particle, step, images, captions);
    });
}

dcscope::MixtureDefinition MainWindow::mixtureDefinition(const MixtureDensity& mixture, const QString& name) {
    dcscope::MixtureDefinition definition;
    definition.name = name.isEmpty() ? std::string("mixture") : name.toStdString();
    for (const QString& label : mixture.labels) definition.labels.push_back(label.toStdString());
    if (definition.labels.empty()) definition.labels.push_back("all");
    for (int i = 0; i < mixture.means.size(); ++i) {
        dcscope::MixtureComponent component;
        component.mean = {mixture.means[i].x(), mixture.means[i].y()};
        component.weight = mixture.weights[i];
        component.std = mixture.stds[i];
        component.classIndex = i < mixture.classes.size() ? mixture.classes[i] : 0;
        definition.components.push_back(std::move(component));
    }
    return definition;
}

void MainWindow::onMixtureEdited(const MixtureDensity& mixture) {
    const QString& name = m_loadedModelName;
    m_editedMixture = std::make_shared<dcscope::MixtureDefinition>(
        mixtureDefinition(mixture, name.endsWith(QStringLiteral(" (edited)")) ? name : name + QStringLiteral(" (edited)")));
    m_followPackageRatios = false;  // the quick search of the old mixture no longer applies; the curve stays
    m_saveMixtureAction->setEnabled(true);
    if (m_awaitingSamples) {
        m_ratioEditPending = true;  // sampled once the run in flight shows its samples, as ratio edits
        return;
    }
    requestSampling();
}

void MainWindow::onModelChanged() {
    m_editedMixture.reset();
    m_trajectoryView->setMixtureEditing(false);
    if (m_keepCurveOnModelChange) {
        // A saved mixture reopened as the model: the same model, so the user's curve stays.
        m_keepCurveOnModelChange = false;
        applyModelDefaults();
        requestSampling();
        return;
    }
    if (m_modelCombo->currentData().toString() != m_loadedModelSpec) {
        m_loadedModelRatios = m_ratioEditor->ratios();
        m_loadedModelFollowsPackage = m_followPackageRatios;
    }
    loadPackageCompensation();
    m_followPackageRatios = true;
    if (m_packageCompensation && m_packageCompensation->cpr)
        applyPackageRatios();
    else
        setCurveFromProgram(onesOfSize(m_nfeSpin->value()));
    m_fileOverlays.clear();
    m_quickSearchRatios.clear();
    refreshOverlays();
    m_undoStack.clear();  // edits of another model's curve are not this one's
    m_modelInfoLabel->clear();
    // Classes belong to the model: back to the choices every model has until its labels arrive.
    while (m_classCombo->count() > 2) m_classCombo->removeItem(m_classCombo->count() - 1);
    m_classCombo->setCurrentIndex(0);
    applyModelDefaults();
    requestSampling();
}

void MainWindow::onSolverChanged() {
    const SolverChoice& choice = solverChoices()[std::max(0, m_solverCombo->currentIndex())];
    m_orderSpin->setEnabled(choice.type != dcscope::SolverType::Ddim);  // DDIM is first order by definition
}

dcscope::SolverConfig MainWindow::currentSolverConfig() const {
    const SolverChoice& choice = solverChoices()[std::max(0, m_solverCombo->currentIndex())];
    dcscope::SolverConfig config;
    config.solver = choice.type;
    config.variant = choice.variant;
    config.order = m_orderSpin->value();
    config.steps = m_nfeSpin->value();
    config.grid = dcscope::parseTimeGrid(m_gridCombo->currentData().toString().toStdString());
    config.dcOrder = m_dcOrderSpin->value();
    const QVector<double>& ratios = m_ratioEditor->ratios();
    config.ratios.assign(ratios.begin(), ratios.end());
    return config;
}

void MainWindow::requestSampling() {
    SamplingRequest request;
    request.modelSpec = m_modelCombo->currentData().toString().toStdString();
    request.editedMixture = m_editedMixture;
    m_requestedMixture = m_editedMixture;
    request.device = m_deviceCombo->currentData().toString().toStdString();
    request.solver = currentSolverConfig();
    request.ratios = request.solver.ratios;  // the request carries them apart (see SamplingRequest)
    request.solver.ratios.clear();
    const QVector<double>& ratios = m_ratioEditor->ratios();
    request.seed = static_cast<uint64_t>(m_seedSpin->value());
    request.batchSize = m_batchSpin->value();
    request.classChoice = m_classCombo->currentData().toInt();
    request.guidanceScale = m_guidanceSpin->value();
    request.computeGroundTruth = m_groundTruthCheck->isChecked();
    request.groundTruthFineSteps = m_fineStepsSpin->value();
    request.intraOpThreads = m_threadsSetting;
    request.quickSearch = wantsQuickSearch();
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

void MainWindow::loadPackageCompensation() {
    m_packageCompensation.reset();
    const QString spec = m_modelCombo->currentData().toString();
    if (spec.startsWith(QStringLiteral("builtin:")) || dcscope::isMixtureModelSpec(spec.toStdString())) return;
    try {
        m_packageCompensation = dcscope::loadPackageCompensation(spec.toStdString());
    } catch (const std::exception&) {
        // Not a package (or a broken entry): the worker reports it in one line when it loads the model.
    }
}

bool MainWindow::wantsQuickSearch() const {
    // Exact models (built-ins and mixture files) ship no ratios: a quick search finds them.
    const QString spec = m_modelCombo->currentData().toString();
    return m_followPackageRatios && !m_editedMixture &&
           (spec.startsWith(QStringLiteral("builtin:")) || dcscope::isMixtureModelSpec(spec.toStdString()));
}

void MainWindow::takeQuickSearchRatios(const SamplingResult& result) {
    if (result.quickSearchRatios.isEmpty() || !m_followPackageRatios) return;
    m_quickSearchRatios = result.quickSearchRatios;
    setCurveFromProgram(result.quickSearchRatios);
    m_requestedRatios = m_ratioEditor->ratios();  // what this result was sampled with
    refreshOverlays();
}

void MainWindow::applyPackageRatios() {
    if (!m_followPackageRatios || !m_packageCompensation || !m_packageCompensation->cpr) return;
    try {
        const auto predicted =
            dcscope::predictCprRatios(*m_packageCompensation->cpr, m_guidanceSpin->value(), m_nfeSpin->value());
        setCurveFromProgram(QVector<double>(predicted.begin(), predicted.end()));
    } catch (const std::exception&) {
        setCurveFromProgram(onesOfSize(m_nfeSpin->value()));
    }
}

void MainWindow::refreshOverlays() {
    m_ratioEditor->clearOverlays();
    const int steps = m_nfeSpin->value();
    const double guidance = m_guidanceSpin->value();
    if (m_packageCompensation && m_packageCompensation->cpr) {
        try {
            const auto predicted = dcscope::predictCprRatios(*m_packageCompensation->cpr, guidance, steps);
            m_ratioEditor->setOverlay(tr("CPR fit"), QVector<double>(predicted.begin(), predicted.end()), kCprOverlayColor);
        } catch (const std::exception&) {
            // No prediction for these settings: no overlay.
        }
    }
    if (m_packageCompensation) {
        // The searched file the CPR coefficients were fitted to, where one matches exactly.
        for (const dcscope::CprSample& sample : m_packageCompensation->ratioSamples)
            if (int(sample.ratios.size()) == steps && std::abs(sample.guidance - guidance) < 1e-9)
                m_ratioEditor->setOverlay(tr("searched"), QVector<double>(sample.ratios.begin(), sample.ratios.end()),
                                          kSearchedOverlayColor);
    }
    if (m_quickSearchRatios.size() == steps)
        m_ratioEditor->setOverlay(tr("quick search"), m_quickSearchRatios, kSearchedOverlayColor);
    for (const Session::Overlay& overlay : m_fileOverlays) m_ratioEditor->setOverlay(overlay.name, overlay.values, kFileOverlayColor);
    if (m_researchPanel)
        for (const auto& [name, values] : m_researchPanel->overlays(steps, guidance))
            m_ratioEditor->setOverlay(name, values, kResearchOverlayColor);
}

void MainWindow::setCurveFromProgram(const QVector<double>& ratios) {
    m_ratioEditor->setRatios(RatioCurveEditor::resampled(ratios, m_nfeSpin->value()));
    m_committedRatios = m_ratioEditor->ratios();
}

void MainWindow::onRatiosChanging() {
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

void MainWindow::onRatiosEdited() {
    const QVector<double> after = m_ratioEditor->ratios();
    if (after != m_committedRatios) {
        m_undoStack.push(new RatioEditCommand(m_committedRatios, after, [this](const QVector<double>& ratios) { applyUndoneCurve(ratios); },
                                              tr("edit of the ratio curve")));
        m_committedRatios = after;
    }
    onRatiosChanging();
}

void MainWindow::applyUndoneCurve(const QVector<double>& ratios) {
    setCurveFromProgram(ratios);
    onRatiosChanging();
}

bool MainWindow::startPendingEdit() {
    // Called before a result is drawn: the worker starts on the edit that waited for it while
    // this thread draws the panes, instead of idling through the drawing.
    m_awaitingSamples = false;
    if (!m_ratioEditPending) return false;
    m_ratioEditPending = false;
    if (m_ratioEditor->ratios() == m_requestedRatios && m_editedMixture == m_requestedMixture) return false;
    requestSampling();
    return true;
}

void MainWindow::setRunning(bool running) {
    m_cancelButton->setEnabled(running);
    if (running) m_progressBar->setValue(0);
}

void MainWindow::onModelLoaded(std::shared_ptr<const ModelSummary> summary) {
    // A superseded request may still have loaded another model; only the selected one matters.
    if (summary->spec != m_modelCombo->currentData().toString()) return;
    m_loadedModelSpec = summary->spec;
    m_loadedModelName = summary->name;
    m_modelInfoLabel->setText(summary->description.isEmpty() ? tr("%1, samples %2").arg(summary->name, summary->sampleShape)
                                                             : summary->description);
    const int chosenClass = m_classCombo->currentData().toInt();
    while (m_classCombo->count() > 2) m_classCombo->removeItem(m_classCombo->count() - 1);
    for (int i = 0; i < summary->labels.size(); ++i) m_classCombo->addItem(summary->labels[i], i);
    // A session may have chosen a class before the labels were known.
    m_classCombo->setCurrentIndex(std::max(0, m_classCombo->findData(chosenClass)));
    const bool conditional = !summary->labels.isEmpty();
    m_classCombo->setEnabled(conditional);
    m_guidanceSpin->setEnabled(conditional);
    if (m_trajectoryWindow) {
        if (summary->pointModel) m_projectionAction->setChecked(true);  // a 2-D model's only view
        const QString placeholder = summary->pointModel ? tr("2-D samples: see the trajectory window (View > Trajectories, Ctrl+T)")
                                                        : tr("No samples yet");
        for (auto pane : {ComparisonView::Pane::Plain, ComparisonView::Pane::Compensated, ComparisonView::Pane::GroundTruth})
            m_comparison->setPlaceholderText(pane, placeholder);
    } else {
        showTrajectories(summary->pointModel || m_projectionAction->isChecked());
    }
    m_trajectoryView->clearScene();
    m_comparison->clearFrames();
    m_shownResult.reset();
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
    if (!update->preview.isEmpty())
        m_comparison->showLive(compensatedRun ? ComparisonView::Pane::Compensated : ComparisonView::Pane::Plain, update->preview);
    if (!update->paths.isEmpty() && update->run != SamplingRun::GroundTruth) {
        // Live: the run's states so far replace that run's layer; the rest of the scene stays.
        TrajectoryScene scene = m_trajectoryView->scene();
        const bool first = scene.plain.isEmpty() && scene.groundTruth.isEmpty();
        (compensatedRun ? scene.compensated : scene.plain) = update->paths;
        if (scene.times.size() != update->totalSteps + 1) scene.times = QVector<double>(update->totalSteps + 1, 0.0);
        m_trajectoryView->setScene(scene, first);
        m_trajectoryView->setStep(update->step);
    }
    statusBar()->showMessage(
        tr("Sampling: %1, step %2 of %3").arg(runName(update->run)).arg(update->step).arg(update->totalSteps));
}

void MainWindow::onSamplesReady(std::shared_ptr<const SamplingResult> result) {
    if (result->requestId != m_currentRequestId) return;
    // Previews of the finished runs may still be pending; the final samples replace them.
    if (m_pendingStep && m_pendingStep->run != SamplingRun::GroundTruth) m_pendingStep.reset();
    const bool nextEditStarted = startPendingEdit();
    showSamples(result, false);
    m_errorChart->clearSeries();
    m_errorInfoLabel->setText(tr("Computing the ground truth…"));
    m_errorInfoLabel->show();
    if (!nextEditStarted) statusBar()->showMessage(resultStatus(*result) + tr(" · computing the ground truth…"));
    Q_EMIT resultShown(result->requestId, false);
}

void MainWindow::onFinished(std::shared_ptr<const SamplingResult> result) {
    if (result->requestId != m_currentRequestId) return;
    m_stepRepaintTimer.stop();
    m_pendingStep.reset();
    m_lastResult = result;
    setRunning(false);
    m_progressBar->setValue(kProgressResolution);
    const bool nextEditStarted = startPendingEdit();
    showSamples(result, true);
    showErrorCurves(*result);
    if (!nextEditStarted) statusBar()->showMessage(resultStatus(*result));
    Q_EMIT resultShown(result->requestId, true);
    // Chart legends and axes re-layout through posted events; give them a moment before grabbing.
    if (!m_options.screenshotPath.isEmpty() && !m_options.researchJob.isEmpty()) {
        startScreenshotResearchJob();
    } else if (!m_options.screenshotPath.isEmpty()) {
        QTimer::singleShot(kScreenshotSettleMs, this, [this] { finishScreenshot(true); });
    }
}

void MainWindow::showSamples(const std::shared_ptr<const SamplingResult>& shown, bool complete) {
    const SamplingResult& result = *shown;
    takeQuickSearchRatios(result);
    m_shownResult = shown;  // immutable: shared, not copied (it holds every step's images)
    if (!result.predictionFrames.isEmpty()) {
        m_comparison->setFrames(result.predictionFrames, result.stateFrames, /*keepStep=*/true);
        if (!complete && m_groundTruthCheck->isChecked())
            m_comparison->setPlaceholderText(ComparisonView::Pane::GroundTruth, tr("Computing the ground truth…"));
        else if (!m_groundTruthCheck->isChecked())
            m_comparison->setPlaceholderText(ComparisonView::Pane::GroundTruth, tr("Ground truth is off"));
    }
    updateCaptions(&result);
    // Fitted to the first complete scene of a model; later ones keep the user's pan and zoom.
    // Image models have a scene (their projection) once the ground truth is known.
    if (!result.plainPaths.isEmpty() || (complete && !result.trajectoryScene.groundTruth.isEmpty()))
        m_trajectoryView->setScene(result.trajectoryScene, m_trajectoryView->scene().groundTruth.isEmpty());
    const bool mixture = m_trajectoryView->mixture().isValid();
    m_shapeMixtureAction->setEnabled(mixture);
    m_saveMixtureAction->setEnabled(mixture);
    if (mixture && m_options.shapeMixture && !m_shapeMixtureStarted) {
        m_shapeMixtureStarted = true;
        m_trajectoryView->setMixtureEditing(true);
        m_trajectoryView->setSelectedMode(0);
    }
    onStepShown(shownStep());
}

void MainWindow::updateCaptions(const SamplingResult* result) {
    if (!result) return;
    const QString nfe = tr("NFE %1").arg(result->nfePerRun);
    const bool known = std::isfinite(result->plainMse);
    m_comparison->setCaption(ComparisonView::Pane::Plain,
                             result->solverName + QLatin1Char('\n') + nfe +
                                 (known ? tr(" · MSE %1").arg(formatMse(result->plainMse)) : QString()));
    QString how;
    if (!result->compensated)
        how = m_packageCompensation || m_modelCombo->currentData().toString().startsWith(QStringLiteral("builtin:"))
                  ? tr(" · all ρ = 1: same as plain")
                  : tr(" · all ρ = 1: same as plain (this package ships no ratios; edit the curve)");
    else if (!result->quickSearchRatios.isEmpty() && m_followPackageRatios)
        how = result->quickSearchFromCache ? tr(" · quick-search ratios (cached)") : tr(" · quick-search ratios");
    else if (m_followPackageRatios)
        how = tr(" · package CPR ratios");
    m_comparison->setCaption(ComparisonView::Pane::Compensated,
                             compensatedName(result->solverName) + how + QLatin1Char('\n') + nfe +
                                 (known ? tr(" · MSE %1 (%2)").arg(formatMse(result->compensatedMse),
                                                                    formatChange(result->plainMse, result->compensatedMse))
                                        : QString()));
    m_comparison->setCaption(ComparisonView::Pane::GroundTruth,
                             result->hasGroundTruth ? tr("Ground truth\n%1, %2 fine steps").arg(result->groundTruthSolver).arg(result->groundTruthFineSteps)
                                                    : tr("Ground truth"));
    updateHelpSummary();
}

void MainWindow::showErrorCurves(const SamplingResult& result) {
    m_errorChart->clearSeries();
    if (!result.hasGroundTruth) {
        m_errorBox->setTitle(tr("Per-step RMS error"));
        m_errorInfoLabel->setText(tr("The ground truth is off."));
        m_errorInfoLabel->show();
        return;
    }
    // The details go into the title: the chart needs every pixel of height it can get.
    m_errorBox->setTitle(tr("Per-step RMS error against the ground truth (its own error: %1)")
                             .arg(std::isnan(result.groundTruthError) ? tr("unknown") : QString::number(result.groundTruthError, 'g', 2)));
    m_errorBox->setToolTip(tr("RMS distance to the %1 at each t_k; the ground truth's own error is the largest change "
                              "when its fine steps are halved")
                               .arg(groundTruthName(result)));
    m_errorInfoLabel->hide();
    m_errorChart->setSeries(result.solverName, result.plainError, kPlainColor);
    m_errorChart->setSeries(compensatedName(result.solverName), result.compensatedError, kCompensatedColor);
    onStepShown(shownStep());
}

int MainWindow::shownStep() const {
    return stepFollowsTrajectoryView() ? m_trajectoryView->step() : m_comparison->step();
}

void MainWindow::onStepShown(int step) {
    const bool stepped = m_comparison->hasFrames() || stepFollowsTrajectoryView();
    m_errorChart->setHighlightedX(stepped ? double(step) : std::numeric_limits<double>::quiet_NaN());
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
    // The newest x0-prediction is what the run got to: show it rather than drop it.
    applyPendingStep();
    setRunning(false);
    m_awaitingSamples = m_ratioEditPending = false;
    statusBar()->showMessage(tr("Cancelled; the panes show the last x0-prediction."));
}

void MainWindow::onFailed(int requestId, const QString& message) {
    if (requestId != m_currentRequestId) return;
    m_stepRepaintTimer.stop();
    m_pendingStep.reset();
    setRunning(false);
    m_awaitingSamples = m_ratioEditPending = false;
    m_progressBar->setValue(0);
    statusBar()->showMessage(tr("Error: %1").arg(message));
    const QString failedSpec = m_modelCombo->currentData().toString();
    const int loadedIndex = m_modelCombo->findData(m_loadedModelSpec);
    if (failedSpec != m_loadedModelSpec && loadedIndex >= 0) {
        // The selected model did not load: go back to the one the worker still holds, with its
        // curve, and drop the entry if it was not one of the fixed ones.
        const int failedIndex = m_modelCombo->currentIndex();
        {
            const QSignalBlocker blocker(m_modelCombo);
            m_modelCombo->setCurrentIndex(loadedIndex);
            if (failedIndex >= 0 && failedSpec != m_options.defaultPackage && !failedSpec.startsWith(QStringLiteral("builtin:")))
                m_modelCombo->removeItem(failedIndex);
        }
        loadPackageCompensation();
        m_followPackageRatios = m_loadedModelFollowsPackage;
        setCurveFromProgram(m_loadedModelRatios);
        m_fileOverlays.clear();
        refreshOverlays();
        statusBar()->showMessage(tr("Error: %1 · kept %2").arg(message, m_modelCombo->currentText()));
    }
    if (!m_options.screenshotPath.isEmpty() && !m_screenshotTaken) {
        std::fprintf(stderr, "dcscope: %s\n", qPrintable(message));
        finishScreenshot(false);
        return;
    }
    showError(this, message);
}

void MainWindow::showSampleDetail(int index) {
    const ComparisonFrame* frame = m_comparison->currentFrame();
    if (!frame || !m_shownResult || index < 0 || index >= frame->plain.size()) return;
    const SamplingResult& result = *m_shownResult;
    SampleDetailDialog::Sample sample;
    sample.index = index;
    sample.seed = result.firstSeed + uint64_t(index);
    const int classIndex = index < result.sampleClasses.size() ? result.sampleClasses[index] : -1;
    const int comboIndex = m_classCombo->findData(classIndex);
    sample.className = classIndex < 0 ? tr("unconditional")
                                      : comboIndex >= 0 ? m_classCombo->itemText(comboIndex) : tr("class %1").arg(classIndex);
    sample.classIndex = classIndex;
    sample.step = m_comparison->step();
    sample.steps = m_comparison->stepCount();
    sample.noisyState = m_comparison->showsNoisyState();
    sample.plain = frame->plain[index];
    sample.compensated = index < frame->compensated.size() ? frame->compensated[index] : QImage();
    sample.groundTruth = index < frame->groundTruth.size() ? frame->groundTruth[index] : QImage();
    sample.plainName = result.solverName;
    sample.compensatedName = compensatedName(result.solverName);
    if (index < result.plainSampleMse.size()) sample.plainMse = result.plainSampleMse[index];
    if (index < result.compensatedSampleMse.size()) sample.compensatedMse = result.compensatedSampleMse[index];
    auto* dialog = new SampleDetailDialog(sample, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

QImage MainWindow::screenshot() {
    QImage window = grab().toImage();
    if (!m_trajectoryWindow || !m_trajectoryWindow->isVisible()) return window;
    // The trajectory window to the right of this one, as they would stand side by side.
    const QImage trajectories = m_trajectoryWindow->grab().toImage();
    QImage both(window.width() + trajectories.width(), std::max(window.height(), trajectories.height()), QImage::Format_RGB32);
    both.fill(palette().color(QPalette::Window).darker(150));
    QPainter painter(&both);
    painter.drawImage(0, 0, window);
    painter.drawImage(window.width(), 0, trajectories);
    return both;
}

void MainWindow::finishScreenshot(bool succeeded) {
    if (m_options.screenshotPath.isEmpty() || m_screenshotTaken) return;
    m_screenshotTaken = true;
    bool saved = false;
    if (succeeded) {
        // QSaveFile: a crash or a full disk mid-write leaves any previous screenshot intact.
        QSaveFile file(m_options.screenshotPath);
        saved = file.open(QIODevice::WriteOnly) && screenshot().save(&file, "PNG") && file.commit();
        if (!saved) std::fprintf(stderr, "dcscope: could not write %s\n", qPrintable(m_options.screenshotPath));
    }
    QCoreApplication::exit(saved ? 0 : 1);
}
