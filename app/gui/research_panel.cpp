#include "research_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/package_compensation.h"
#include "error_chart.h"
#include "mse_bar_chart.h"
#include "solver_choices.h"

namespace {

/// "5 8, 10" -> {5, 8, 10}; refuses anything that is not a list of numbers, naming the field.
template <typename T>
std::vector<T> parseList(const QString& text, const QString& field) {
    std::vector<T> values;
    const QStringList parts = QString(text).replace(QLatin1Char(','), QLatin1Char(' ')).split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (const QString& part : parts) {
        bool ok = false;
        const double value = part.toDouble(&ok);
        if (!ok || !std::isfinite(value) || (std::is_integral_v<T> && value != std::floor(value)))
            throw dcscope::Error(dcscope::ErrorCode::InvalidArgument,
                                 field.toStdString() + ": '" + part.toStdString() + "' is not " +
                                     (std::is_integral_v<T> ? "a whole number" : "a number"));
        values.push_back(T(value));
    }
    if (values.empty()) throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, field.toStdString() + ": the list is empty");
    return values;
}

QString formatSeconds(double seconds) {
    if (seconds < 10) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    if (seconds < 90) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 0);
    return QStringLiteral("%1 min").arg(seconds / 60.0, 0, 'f', 1);
}

QTableWidgetItem* cell(const QString& text, bool number = true) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(item->flags() & ~Qt::ItemIsEditable);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

/// A bar's label: the table's name without the plain row's prefix ("unipc-bh2-2+CPR" -> "CPR").
QString barName(const std::string& name, const std::string& plainName) {
    if (name == plainName) return QStringLiteral("plain");
    if (name.rfind(plainName + "+", 0) == 0) return QString::fromStdString(name.substr(plainName.size() + 1));
    return QString::fromStdString(name);
}

QString scientific(double value) { return std::isfinite(value) ? QString::number(value, 'e', 4) : QStringLiteral("n/a"); }

}  // namespace

ResearchPanel::ResearchPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("researchPanel"));
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("researchTabs"));
    m_tabs->addTab(createSearchTab(), tr("Search"));
    m_tabs->addTab(createCprTab(), tr("CPR"));
    m_tabs->addTab(createEvaluationTab(), tr("Evaluate"));
    m_tabs->addTab(createSweepTab(), tr("Sweep"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(m_tabs);

    connect(&m_controller, &ResearchController::progress, this, &ResearchPanel::onProgress);
    connect(&m_controller, &ResearchController::finished, this, &ResearchPanel::onFinished);
    connect(&m_controller, &ResearchController::cancelled, this, [this](int id) { onEnded(id, false, tr("cancelled")); });
    connect(&m_controller, &ResearchController::failed, this, [this](int id, const QString& message) { onEnded(id, false, message); });
}

ResearchPanel::~ResearchPanel() = default;

ResearchPanel::JobControls ResearchPanel::makeJobControls(const QString& startText, const QString& startTip, const QString& name) {
    JobControls controls;
    controls.start = new QPushButton(startText);
    controls.start->setObjectName(name + QStringLiteral("StartButton"));
    controls.start->setToolTip(startTip);
    controls.cancel = new QPushButton(tr("Cancel"));
    controls.cancel->setObjectName(name + QStringLiteral("CancelButton"));
    controls.cancel->setToolTip(tr("Stop this job within one model evaluation; nothing it found so far is applied"));
    controls.cancel->setEnabled(false);
    controls.progress = new QProgressBar;
    controls.progress->setObjectName(name + QStringLiteral("Progress"));
    controls.progress->setToolTip(tr("How far the job is"));
    controls.progress->setRange(0, 1);
    controls.progress->setValue(0);
    controls.status = new QLabel(tr("idle"));
    controls.status->setObjectName(name + QStringLiteral("Status"));
    controls.status->setWordWrap(true);
    controls.status->setToolTip(tr("What the job is doing, and the time left at its rate so far"));
    return controls;
}

QWidget* ResearchPanel::jobRow(const JobControls& controls) {
    auto* box = new QWidget;
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(controls.start);
    buttons->addWidget(controls.cancel);
    buttons->addWidget(controls.progress, 1);
    layout->addLayout(buttons);
    layout->addWidget(controls.status);
    return box;
}

// ---- Search ----------------------------------------------------------------------------------

QWidget* ResearchPanel::createSearchTab() {
    auto* tab = new QWidget;
    auto* form = new QFormLayout;
    m_optimizerCombo = new QComboBox;
    m_optimizerCombo->setObjectName(QStringLiteral("optimizerCombo"));
    m_optimizerCombo->addItem(tr("scan (global scan + Brent)"), QStringLiteral("scan"));
    m_optimizerCombo->addItem(tr("golden (bracket from 1 + Brent)"), QStringLiteral("golden"));
    m_optimizerCombo->addItem(tr("adamw (the paper's)"), QStringLiteral("adamw"));
    m_optimizerCombo->setToolTip(tr("How each step's ratio is minimised: scan tries ratios 0.4..2 then refines the best; golden "
                                    "walks from 1; adamw follows the gradient as the paper does"));
    form->addRow(tr("Optimiser"), m_optimizerCombo);
    m_searchDatapointsSpin = new QSpinBox;
    m_searchDatapointsSpin->setObjectName(QStringLiteral("searchDatapointsSpin"));
    m_searchDatapointsSpin->setRange(1, 512);
    m_searchDatapointsSpin->setValue(10);
    m_searchDatapointsSpin->setToolTip(tr("Search batch: datapoints seed .. seed + n - 1, classes in turn (as dcscope-cli search)"));
    form->addRow(tr("Datapoints"), m_searchDatapointsSpin);
    m_searchSeedSpin = new QSpinBox;
    m_searchSeedSpin->setObjectName(QStringLiteral("searchSeedSpin"));
    m_searchSeedSpin->setRange(0, 999999);
    m_searchSeedSpin->setToolTip(tr("First seed of the search batch; held-out scoring uses seeds from seed + 1000000"));
    form->addRow(tr("Seed"), m_searchSeedSpin);
    m_budgetSpin = new QSpinBox;
    m_budgetSpin->setObjectName(QStringLiteral("budgetSpin"));
    m_budgetSpin->setRange(1, 200);
    m_budgetSpin->setValue(dcscope::ScanOptions{}.refineBudget);
    m_budgetSpin->setToolTip(tr("Loss evaluations per step beyond the scan (scan), in all (golden), or iterations (adamw)"));
    form->addRow(tr("Budget"), m_budgetSpin);
    connect(m_optimizerCombo, &QComboBox::currentIndexChanged, this, [this] {
        const QString name = m_optimizerCombo->currentData().toString();
        m_budgetSpin->setValue(name == QLatin1String("scan")     ? dcscope::ScanOptions{}.refineBudget
                               : name == QLatin1String("golden") ? dcscope::GoldenOptions{}.budget
                                                                 : dcscope::AdamWOptions{}.iterations);
    });
    m_searchFineSpin = new QSpinBox;
    m_searchFineSpin->setObjectName(QStringLiteral("searchFineSpin"));
    configureFineStepsSpin(*m_searchFineSpin, 5000);
    m_searchFineSpin->setToolTip(tr("Fine steps of the search's ground truth (DPM-Solver++ 2M; cached on disk; auto: %1)")
                                     .arg(QString::fromStdString(dcscope::describeFineSteps(dcscope::kDefaultFineSteps))));
    form->addRow(tr("Ground truth steps"), m_searchFineSpin);

    m_searchJob = makeJobControls(tr("Search"), tr("Search the ratios for the window's solver, NFE and guidance"), QStringLiteral("search"));
    connect(m_searchJob.start, &QPushButton::clicked, this, &ResearchPanel::startSearch);
    connect(m_searchJob.cancel, &QPushButton::clicked, this, [this] { m_controller.cancel(m_searchJob.jobId); });

    m_lossChart = new ErrorChart;
    m_lossChart->setObjectName(QStringLiteral("searchLossChart"));
    m_lossChart->setLogarithmicY(true);
    m_lossChart->setAxisTitles(tr("step k"), tr("MSE at t_k+1"));
    m_lossChart->setTitle(tr("error per step at ρ = 1 and at the searched ρ*"));
    m_lossChart->setMinimumHeight(170);
    m_lossChart->setToolTip(tr("Each searched step's MSE against the ground truth at t_k+1 with ρ = 1 and with the ratio ρ* "
                               "found: the state's, and the model's data prediction from that state (where the step's loss "
                               "compares it). The search minimises the sum of the two, each relative to ρ = 1, so one "
                               "may rise where the other falls more."));

    m_searchResultLabel = new QLabel(tr("No search yet."));
    m_searchResultLabel->setObjectName(QStringLiteral("searchResultLabel"));
    m_searchResultLabel->setWordWrap(true);
    m_applySearchButton = new QPushButton(tr("Apply"));
    m_applySearchButton->setObjectName(QStringLiteral("applySearchButton"));
    m_applySearchButton->setToolTip(tr("Make the searched ratios the curve (undoable)"));
    m_saveSearchButton = new QPushButton(tr("Save..."));
    m_saveSearchButton->setObjectName(QStringLiteral("saveSearchButton"));
    m_saveSearchButton->setToolTip(tr("Write the ratios with the search's metadata, as dcscope-cli search does"));
    m_scoreSearchButton = new QPushButton(tr("Score on held-out"));
    m_scoreSearchButton->setObjectName(QStringLiteral("scoreSearchButton"));
    m_scoreSearchButton->setToolTip(tr("Held-out MSE of plain, the curve and the searched ratios (Evaluate tab)"));
    for (QPushButton* button : {m_applySearchButton, m_saveSearchButton, m_scoreSearchButton}) button->setEnabled(false);
    connect(m_applySearchButton, &QPushButton::clicked, this, [this] { Q_EMIT applyOverlayRequested(QString::fromLatin1(kSearchOverlay)); });
    connect(m_saveSearchButton, &QPushButton::clicked, this, &ResearchPanel::chooseSearchSavePath);
    connect(m_scoreSearchButton, &QPushButton::clicked, this, &ResearchPanel::scoreSearchOnHeldOut);
    auto* resultButtons = new QHBoxLayout;
    resultButtons->addWidget(m_applySearchButton);
    resultButtons->addWidget(m_saveSearchButton);
    resultButtons->addWidget(m_scoreSearchButton);
    resultButtons->addStretch(1);

    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(form);
    layout->addWidget(jobRow(m_searchJob));
    layout->addWidget(m_lossChart, 1);
    layout->addWidget(m_searchResultLabel);
    layout->addLayout(resultButtons);
    return tab;
}

dcscope::SearchOptions ResearchPanel::searchOptions() const {
    dcscope::SearchOptions options;
    options.optimizer = dcscope::parseRatioOptimizer(m_optimizerCombo->currentData().toString().toStdString());
    const int budget = m_budgetSpin->value();
    switch (options.optimizer) {
    case dcscope::RatioOptimizer::Scan: options.scan.refineBudget = budget; break;
    case dcscope::RatioOptimizer::Golden: options.golden.budget = budget; break;
    case dcscope::RatioOptimizer::AdamW: options.adamw.iterations = budget; break;
    }
    return options;
}

ResearchJob ResearchPanel::baseJob(ResearchJob::Kind kind, const ResearchContext& context) const {
    ResearchJob job;
    job.kind = kind;
    job.modelSpec = context.modelSpec;
    job.device = context.device;
    job.solver = context.solver;
    job.solver.ratios.clear();
    job.search.guidance = context.guidance;
    return job;
}

int ResearchPanel::submit(ResearchJob job, JobControls& controls) {
    controls.jobId = m_controller.submit(std::move(job));
    controls.start->setEnabled(false);
    controls.cancel->setEnabled(true);
    controls.progress->setRange(0, 0);  // busy until the first progress
    controls.status->setText(tr("waiting for the model..."));
    return controls.jobId;
}

void ResearchPanel::startSearch() {
    if (!m_context || m_searchJob.jobId) return;
    const ResearchContext context = m_context();
    ResearchJob job = baseJob(ResearchJob::Kind::Search, context);
    try {
        job.search.options = searchOptions();
        dcscope::validate(job.search.options);
    } catch (const dcscope::Error& error) {
        m_searchJob.status->setText(QString::fromStdString(error.what()));
        return;
    }
    job.search.datapoints = m_searchDatapointsSpin->value();
    job.search.seed = uint64_t(m_searchSeedSpin->value());
    job.search.groundTruth.fineSteps = m_searchFineSpin->value();
    m_lossBefore.clear();
    m_lossAfter.clear();
    m_predictionLossBefore.clear();
    m_predictionLossAfter.clear();
    m_lossChart->clearSeries();
    submit(std::move(job), m_searchJob);
}

void ResearchPanel::showSearch(const ResearchOutcome& outcome) {
    const auto& ratios = outcome.search.result.ratios;
    m_searchRatios = QVector<double>(ratios.begin(), ratios.end());
    m_searchSteps = int(ratios.size());
    QStringList values;
    for (const double rho : ratios) values << QString::number(rho, 'f', 3);
    // A ratio the final-state step moved off its greedy value (a dip to 0.42 in the curve, say)
    // is said to be one, with its kind, so the curve's odd point has its reason beside it.
    QStringList moved;
    for (const auto& step : outcome.search.result.steps) {
        if (!step.refined || step.rho == step.greedyRho) continue;
        moved << tr("ρ_%1 %2 → %3, %4")
                     .arg(step.step)
                     .arg(step.greedyRho, 0, 'f', 3)
                     .arg(step.rho, 0, 'f', 3)
                     .arg(QString::fromUtf8(dcscope::finalStateChoice(step)));
    }
    const QString finalState = moved.isEmpty() ? QString() : tr(" Against the final state: %1.").arg(moved.join(QStringLiteral("; ")));
    m_searchResultLabel->setText(tr("%1, NFE %2, guidance %3: %4 model calls in %5 (ground truth %6). Ratios: %7.%9 Shown dashed as "
                                    "\"%8\" in the ratio editor.")
                                     .arg(QString::fromStdString(dcscope::displayName(outcome.solver)))
                                     .arg(outcome.solver.steps)
                                     .arg(outcome.guidance)
                                     .arg(outcome.search.result.evaluations)
                                     .arg(formatSeconds(outcome.seconds))
                                     .arg(outcome.search.groundTruthFromCache ? tr("from the cache")
                                                                              : tr("%1 calls").arg(outcome.search.groundTruthEvaluations))
                                     .arg(values.join(QStringLiteral(", ")))
                                     .arg(QString::fromLatin1(kSearchOverlay))
                                     .arg(finalState));
    for (QPushButton* button : {m_applySearchButton, m_saveSearchButton, m_scoreSearchButton}) button->setEnabled(true);
    Q_EMIT overlaysChanged();
}

bool ResearchPanel::saveSearchFile(const QString& path) {
    if (!m_lastSearch) return false;
    try {
        dcscope::saveRatios(path.toStdString(), m_lastSearch->search.result.ratios, m_lastSearch->search.metadata);
    } catch (const dcscope::Error& error) {
        Q_EMIT statusMessage(QString::fromStdString(error.what()));
        return false;
    }
    Q_EMIT statusMessage(tr("Saved the searched ratios to %1").arg(path));
    return true;
}

void ResearchPanel::chooseSearchSavePath() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save searched ratios"), QStringLiteral("ratios.json"),
                                                      tr("Ratio files (*.json)"));
    if (!path.isEmpty()) saveSearchFile(path);
}

void ResearchPanel::scoreSearchOnHeldOut() {
    m_scoreSearchNext = true;
    m_tabs->setCurrentIndex(2);
    startEvaluation();
}

// ---- CPR -------------------------------------------------------------------------------------

QWidget* ResearchPanel::createCprTab() {
    auto* tab = new QWidget;
    m_cprSourceLabel = new QLabel(tr("No coefficients loaded."));
    m_cprSourceLabel->setObjectName(QStringLiteral("cprSourceLabel"));
    m_cprSourceLabel->setWordWrap(true);
    m_loadCprButton = new QPushButton(tr("Load..."));
    m_loadCprButton->setObjectName(QStringLiteral("loadCprButton"));
    m_loadCprButton->setToolTip(tr("CPR coefficients: a .npy of 36 values, or a package folder with a compensation entry"));
    m_packageCprButton = new QPushButton(tr("Package's"));
    m_packageCprButton->setObjectName(QStringLiteral("packageCprButton"));
    m_packageCprButton->setToolTip(tr("Use the coefficients the model package ships"));
    m_saveCprButton = new QPushButton(tr("Save .npy..."));
    m_saveCprButton->setObjectName(QStringLiteral("saveCprButton"));
    m_saveCprButton->setToolTip(tr("Write the coefficients in use as a flat float64 .npy (the public file's layout)"));
    m_saveCprButton->setEnabled(false);
    m_applyCprButton = new QPushButton(tr("Apply prediction"));
    m_applyCprButton->setObjectName(QStringLiteral("applyCprButton"));
    m_applyCprButton->setToolTip(tr("Make the prediction for the window's NFE and guidance the curve (undoable)"));
    m_applyCprButton->setEnabled(false);
    connect(m_loadCprButton, &QPushButton::clicked, this, &ResearchPanel::chooseCprFile);
    connect(m_packageCprButton, &QPushButton::clicked, this, [this] {
        const ResearchContext context = m_context ? m_context() : ResearchContext{};
        if (!context.packageCpr) {
            m_cprSourceLabel->setText(tr("This model ships no CPR coefficients."));
            return;
        }
        m_cpr = context.packageCpr;
        m_cprSourceLabel->setText(tr("The package's coefficients; their prediction is dashed as \"%1\".").arg(QString::fromLatin1(kCprOverlay)));
        m_saveCprButton->setEnabled(true);
        m_applyCprButton->setEnabled(true);
        Q_EMIT overlaysChanged();
    });
    connect(m_saveCprButton, &QPushButton::clicked, this, &ResearchPanel::chooseCprSavePath);
    connect(m_applyCprButton, &QPushButton::clicked, this, [this] { Q_EMIT applyOverlayRequested(QString::fromLatin1(kCprOverlay)); });
    auto* fileButtons = new QHBoxLayout;
    fileButtons->addWidget(m_loadCprButton);
    fileButtons->addWidget(m_packageCprButton);
    fileButtons->addWidget(m_saveCprButton);
    fileButtons->addWidget(m_applyCprButton);

    auto* form = new QFormLayout;
    m_cprNfeEdit = new QLineEdit(QStringLiteral("6 8 10 12"));
    m_cprNfeEdit->setObjectName(QStringLiteral("cprNfeEdit"));
    m_cprNfeEdit->setToolTip(tr("NFE values of the grid (at least 3 distinct, several >= 6)"));
    form->addRow(tr("NFE list"), m_cprNfeEdit);
    m_cprGuidanceEdit = new QLineEdit(QStringLiteral("1 3 5"));
    m_cprGuidanceEdit->setObjectName(QStringLiteral("cprGuidanceEdit"));
    m_cprGuidanceEdit->setToolTip(tr("Guidance values of the grid (at least 3 distinct)"));
    form->addRow(tr("Guidance list"), m_cprGuidanceEdit);
    m_cprDatapointsSpin = new QSpinBox;
    m_cprDatapointsSpin->setObjectName(QStringLiteral("cprDatapointsSpin"));
    m_cprDatapointsSpin->setRange(1, 512);
    m_cprDatapointsSpin->setValue(10);
    m_cprDatapointsSpin->setToolTip(tr("Search batch of every configuration (seeds and optimiser as on the Search tab)"));
    form->addRow(tr("Datapoints"), m_cprDatapointsSpin);

    m_cprJob = makeJobControls(tr("Fit"), tr("Search every (NFE, guidance) of the grid, then fit the 36 coefficients"), QStringLiteral("cpr"));
    connect(m_cprJob.start, &QPushButton::clicked, this, &ResearchPanel::startCprFit);
    connect(m_cprJob.cancel, &QPushButton::clicked, this, [this] { m_controller.cancel(m_cprJob.jobId); });

    m_residualTable = new QTableWidget(0, 4);
    m_residualTable->setObjectName(QStringLiteral("residualTable"));
    m_residualTable->setHorizontalHeaderLabels({tr("configuration"), tr("NFE"), tr("rms residual"), tr("max residual")});
    m_residualTable->horizontalHeader()->setStretchLastSection(true);
    m_residualTable->verticalHeader()->hide();
    m_residualTable->setToolTip(tr("How far the fitted prediction is from each searched curve (steps k = 3..S)"));

    auto* layout = new QVBoxLayout(tab);
    layout->addWidget(m_cprSourceLabel);
    layout->addLayout(fileButtons);
    layout->addLayout(form);
    layout->addWidget(jobRow(m_cprJob));
    layout->addWidget(m_residualTable, 1);
    return tab;
}

bool ResearchPanel::loadCprFile(const QString& path) {
    try {
        m_cpr = dcscope::loadCprCoefficientsFrom(path.toStdString());
    } catch (const dcscope::Error& error) {
        m_cprSourceLabel->setText(QString::fromStdString(error.what()));
        Q_EMIT statusMessage(QString::fromStdString(error.what()));
        return false;
    }
    m_cprSourceLabel->setText(tr("%1; its prediction is dashed as \"%2\".").arg(QFileInfo(path).fileName(), QString::fromLatin1(kCprOverlay)));
    m_saveCprButton->setEnabled(true);
    m_applyCprButton->setEnabled(true);
    Q_EMIT overlaysChanged();
    return true;
}

bool ResearchPanel::saveCprFile(const QString& path) {
    if (!m_cpr) return false;
    try {
        dcscope::saveCprCoefficients(path.toStdString(), *m_cpr);
    } catch (const dcscope::Error& error) {
        Q_EMIT statusMessage(QString::fromStdString(error.what()));
        return false;
    }
    Q_EMIT statusMessage(tr("Saved the CPR coefficients to %1").arg(path));
    return true;
}

void ResearchPanel::chooseCprFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load CPR coefficients"), QString(), tr("Coefficients (*.npy);;All files (*)"));
    if (!path.isEmpty()) loadCprFile(path);
}

void ResearchPanel::chooseCprSavePath() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save CPR coefficients"), QStringLiteral("cpr.npy"), tr("Coefficients (*.npy)"));
    if (!path.isEmpty()) saveCprFile(path);
}

void ResearchPanel::startCprFit() {
    if (!m_context || m_cprJob.jobId) return;
    const ResearchContext context = m_context();
    ResearchJob job = baseJob(ResearchJob::Kind::CprFit, context);
    try {
        job.cprNfes = parseList<int>(m_cprNfeEdit->text(), QStringLiteral("NFE list"));
        job.cprGuidances = parseList<double>(m_cprGuidanceEdit->text(), QStringLiteral("guidance list"));
        job.search.options = searchOptions();
        dcscope::validate(job.search.options);
    } catch (const dcscope::Error& error) {
        m_cprJob.status->setText(QString::fromStdString(error.what()));
        return;
    }
    job.search.datapoints = m_cprDatapointsSpin->value();
    job.search.seed = uint64_t(m_searchSeedSpin->value());
    job.search.groundTruth.fineSteps = m_searchFineSpin->value();
    m_residualTable->setRowCount(0);
    submit(std::move(job), m_cprJob);
}

void ResearchPanel::showCprFit(const ResearchOutcome& outcome) {
    const dcscope::CprFit& fit = outcome.cpr.fit;
    m_cpr = fit.coefficients;
    m_residualTable->setRowCount(int(fit.residuals.size()));
    for (int row = 0; row < int(fit.residuals.size()); ++row) {
        const auto& residual = fit.residuals[size_t(row)];
        m_residualTable->setItem(row, 0, cell(QString::fromStdString(residual.source), false));
        m_residualTable->setItem(row, 1, cell(QString::number(residual.steps)));
        m_residualTable->setItem(row, 2, cell(scientific(residual.rms)));
        m_residualTable->setItem(row, 3, cell(scientific(residual.maxAbs)));
    }
    m_residualTable->resizeColumnsToContents();
    m_cprSourceLabel->setText(tr("Fitted to %1 equations from %2 searches (condition number %3, %4 model calls, %5); the "
                                 "prediction is dashed as \"%6\".")
                                  .arg(fit.equations)
                                  .arg(outcome.cpr.samples.size())
                                  .arg(fit.conditionNumber, 0, 'g', 3)
                                  .arg(outcome.cpr.evaluations)
                                  .arg(formatSeconds(outcome.seconds))
                                  .arg(QString::fromLatin1(kCprOverlay)));
    m_saveCprButton->setEnabled(true);
    m_applyCprButton->setEnabled(true);
    Q_EMIT overlaysChanged();
}

// ---- Evaluation ------------------------------------------------------------------------------

QWidget* ResearchPanel::createEvaluationTab() {
    auto* tab = new QWidget;
    auto* form = new QFormLayout;
    m_heldOutSpin = new QSpinBox;
    m_heldOutSpin->setObjectName(QStringLiteral("heldOutSpin"));
    m_heldOutSpin->setRange(2, 4096);
    m_heldOutSpin->setValue(32);
    m_heldOutSpin->setToolTip(tr("Held-out datapoints (as dcscope-cli evaluate --heldout)"));
    form->addRow(tr("Held-out datapoints"), m_heldOutSpin);
    m_heldOutSeedSpin = new QSpinBox;
    m_heldOutSeedSpin->setObjectName(QStringLiteral("heldOutSeedSpin"));
    m_heldOutSeedSpin->setRange(0, 999999);
    m_heldOutSeedSpin->setToolTip(tr("Search seed; the held-out seeds start at seed + 1000000 (as dcscope-cli evaluate --seed)"));
    form->addRow(tr("Seed"), m_heldOutSeedSpin);
    m_evaluateCurrentCheck = new QCheckBox(tr("the curve (DC with the current ratios)"));
    m_evaluateCurrentCheck->setObjectName(QStringLiteral("evaluateCurrentCheck"));
    m_evaluateCurrentCheck->setChecked(true);
    m_evaluateCurrentCheck->setToolTip(tr("A row for the ratios in the ratio editor"));
    m_evaluateCprCheck = new QCheckBox(tr("CPR prediction (loaded, fitted or the package's)"));
    m_evaluateCprCheck->setObjectName(QStringLiteral("evaluateCprCheck"));
    m_evaluateCprCheck->setChecked(true);
    m_evaluateCprCheck->setToolTip(tr("A row for the CPR prediction at these settings: the CPR tab's coefficients, else the package's"));
    m_evaluateBaselinesCheck = new QCheckBox(tr("DPM-Solver++ and DDIM"));
    m_evaluateBaselinesCheck->setObjectName(QStringLiteral("evaluateBaselinesCheck"));
    m_evaluateBaselinesCheck->setChecked(true);
    m_evaluateBaselinesCheck->setToolTip(tr("Reference rows of the other solvers at the same NFE"));
    auto* rows = new QVBoxLayout;
    rows->addWidget(m_evaluateCurrentCheck);
    rows->addWidget(m_evaluateCprCheck);
    rows->addWidget(m_evaluateBaselinesCheck);
    form->addRow(tr("Rows"), rows);
    m_qualityCheck = new QCheckBox(tr("class accuracy and Frechet distance"));
    m_qualityCheck->setObjectName(QStringLiteral("qualityCheck"));
    m_qualityCheck->setToolTip(tr("For packages with a quality model: the metrics of dcscope-cli quality for the plain and DC rows"));
    m_qualitySamplesSpin = new QSpinBox;
    m_qualitySamplesSpin->setObjectName(QStringLiteral("qualitySamplesSpin"));
    m_qualitySamplesSpin->setRange(10, 10000);
    m_qualitySamplesSpin->setValue(250);
    m_qualitySamplesSpin->setToolTip(tr("Class-balanced samples per row for the quality metrics (1000 in the README's figures)"));
    auto* quality = new QHBoxLayout;
    quality->addWidget(m_qualityCheck);
    quality->addWidget(m_qualitySamplesSpin);
    form->addRow(tr("Quality"), quality);

    m_evaluationJob = makeJobControls(tr("Evaluate"), tr("Held-out MSE against the ground truth at the window's settings"),
                                      QStringLiteral("evaluation"));
    connect(m_evaluationJob.start, &QPushButton::clicked, this, [this] {
        m_scoreSearchNext = false;
        startEvaluation();
    });
    connect(m_evaluationJob.cancel, &QPushButton::clicked, this, [this] { m_controller.cancel(m_evaluationJob.jobId); });

    m_evaluationInfoLabel = new QLabel;
    m_evaluationInfoLabel->setObjectName(QStringLiteral("evaluationInfoLabel"));
    m_evaluationInfoLabel->setWordWrap(true);
    m_evaluationTable = new QTableWidget(0, 6);
    m_evaluationTable->setObjectName(QStringLiteral("evaluationTable"));
    m_evaluationTable->setHorizontalHeaderLabels({tr("configuration"), tr("NFE"), tr("MSE mean"), tr("95% lower"), tr("95% upper"), tr("vs plain")});
    m_evaluationTable->horizontalHeader()->setStretchLastSection(true);
    m_evaluationTable->verticalHeader()->hide();
    m_evaluationTable->setToolTip(tr("Final-state MSE against the ground truth per datapoint: mean and 95% Student-t interval"));
    m_qualityTable = new QTableWidget(0, 3);
    m_qualityTable->setObjectName(QStringLiteral("qualityTable"));
    m_qualityTable->setHorizontalHeaderLabels({tr("configuration"), tr("class accuracy"), tr("Frechet distance")});
    m_qualityTable->horizontalHeader()->setStretchLastSection(true);
    m_qualityTable->verticalHeader()->hide();
    m_qualityTable->setToolTip(tr("The package's classifier on generated samples (as dcscope-cli quality)"));
    m_qualityTable->setMaximumHeight(110);
    m_qualityTable->hide();
    m_barChart = new MseBarChart;
    m_barChart->setObjectName(QStringLiteral("evaluationBarChart"));
    m_barChart->setToolTip(tr("Mean held-out MSE per configuration with its 95% interval"));

    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(form);
    layout->addWidget(jobRow(m_evaluationJob));
    layout->addWidget(m_evaluationInfoLabel);
    layout->addWidget(m_evaluationTable, 1);
    layout->addWidget(m_qualityTable);
    layout->addWidget(m_barChart, 1);
    return tab;
}

void ResearchPanel::startEvaluation() {
    if (!m_context || m_evaluationJob.jobId) return;
    const ResearchContext context = m_context();
    ResearchJob job = baseJob(ResearchJob::Kind::Evaluation, context);
    job.heldOut.guidance = context.guidance;
    job.heldOut.datapoints = m_heldOutSpin->value();
    job.heldOut.seed = uint64_t(m_heldOutSeedSpin->value());
    job.heldOut.groundTruth.fineSteps = context.groundTruthFineSteps;
    try {
        if (m_evaluateCurrentCheck->isChecked() && !context.solver.ratios.empty()) {
            dcscope::validate(context.solver);
            job.dcRatios.emplace_back("current", context.solver.ratios);
        }
        if (m_scoreSearchNext && m_searchSteps == context.solver.steps)
            job.dcRatios.emplace_back("search", std::vector<double>(m_searchRatios.begin(), m_searchRatios.end()));
        const std::optional<dcscope::CprCoefficients> cpr = m_cpr ? m_cpr : context.packageCpr;
        if (m_evaluateCprCheck->isChecked() && cpr) {
            dcscope::SolverConfig checked = job.solver;
            checked.ratios = dcscope::predictCprRatios(*cpr, context.guidance, context.solver.steps);
            dcscope::validate(checked);
            job.cprRatios = checked.ratios;
        }
    } catch (const dcscope::Error& error) {
        m_evaluationJob.status->setText(QString::fromStdString(error.what()));
        return;
    }
    m_scoreSearchNext = false;
    job.baselines = m_evaluateBaselinesCheck->isChecked();
    job.qualitySamples = m_qualityCheck->isChecked() && context.hasQualityModel ? m_qualitySamplesSpin->value() : 0;
    submit(std::move(job), m_evaluationJob);
}

void ResearchPanel::showEvaluation(const ResearchOutcome& outcome) {
    const auto& rows = outcome.evaluation.rows;
    m_evaluationTable->setRowCount(int(rows.size()));
    QVector<MseBarChart::Bar> bars;
    const double reference = rows.empty() ? 1.0 : rows.front().mse.mean;
    for (int i = 0; i < int(rows.size()); ++i) {
        const auto& row = rows[size_t(i)];
        m_evaluationTable->setItem(i, 0, cell(QString::fromStdString(row.name), false));
        m_evaluationTable->setItem(i, 1, cell(QString::number(row.config.steps)));
        m_evaluationTable->setItem(i, 2, cell(scientific(row.mse.mean)));
        m_evaluationTable->setItem(i, 3, cell(scientific(row.mse.lower)));
        m_evaluationTable->setItem(i, 4, cell(scientific(row.mse.upper)));
        m_evaluationTable->setItem(i, 5, cell(QString::number(row.mse.mean / reference, 'f', 4)));
        bars.push_back({barName(row.name, rows.front().name), row.mse.mean, row.mse.lower, row.mse.upper});
    }
    m_evaluationTable->resizeColumnsToContents();
    m_barChart->setBars(bars, tr("held-out MSE"));
    m_qualityTable->setVisible(!outcome.quality.empty());
    m_qualityTable->setRowCount(int(outcome.quality.size()));
    for (int i = 0; i < int(outcome.quality.size()); ++i) {
        const auto& quality = outcome.quality[size_t(i)];
        m_qualityTable->setItem(i, 0, cell(QString::fromStdString(quality.name), false));
        m_qualityTable->setItem(i, 1, cell(QString::number(quality.report.classAccuracy * 100.0, 'f', 1) + QStringLiteral("%")));
        m_qualityTable->setItem(i, 2, cell(QString::number(quality.report.frechetDistance, 'f', 2)));
    }
    const int datapoints = rows.empty() ? 0 : rows.front().mse.count;
    m_evaluationInfoLabel->setText(
        tr("%1, NFE %2, guidance %3, %4 held-out datapoints (seeds %5..%6), ground-truth error max %7, rms %8; %9.")
            .arg(QString::fromStdString(dcscope::displayName(outcome.solver)))
            .arg(outcome.solver.steps)
            .arg(outcome.guidance)
            .arg(datapoints)
            .arg(outcome.heldOutFirstSeed)
            .arg(outcome.heldOutFirstSeed + uint64_t(std::max(datapoints, 1)) - 1)
            .arg(scientific(outcome.evaluation.groundTruthError), scientific(outcome.evaluation.groundTruthErrorRms))
            .arg(formatSeconds(outcome.seconds)));
}

// ---- Sweep -----------------------------------------------------------------------------------

QWidget* ResearchPanel::createSweepTab() {
    auto* tab = new QWidget;
    auto* form = new QFormLayout;
    m_sweepLayoutCombo = new QComboBox;
    m_sweepLayoutCombo->setObjectName(QStringLiteral("sweepLayoutCombo"));
    m_sweepLayoutCombo->addItem(tr("NFE x solver / compensation"), int(SweepLayout::NfeBySolver));
    m_sweepLayoutCombo->addItem(tr("guidance x NFE"), int(SweepLayout::GuidanceByNfe));
    m_sweepLayoutCombo->setToolTip(tr("The two axes of the grid: rows x columns"));
    form->addRow(tr("Axes"), m_sweepLayoutCombo);
    m_sweepNfeEdit = new QLineEdit(QStringLiteral("5 8 10 15"));
    m_sweepNfeEdit->setObjectName(QStringLiteral("sweepNfeEdit"));
    m_sweepNfeEdit->setToolTip(tr("NFE values: the rows, or the columns of guidance x NFE"));
    form->addRow(tr("NFE list"), m_sweepNfeEdit);
    m_sweepGuidanceEdit = new QLineEdit(QStringLiteral("1 3 5 7.5"));
    m_sweepGuidanceEdit->setObjectName(QStringLiteral("sweepGuidanceEdit"));
    m_sweepGuidanceEdit->setToolTip(tr("Guidance values: the rows of guidance x NFE"));
    m_sweepGuidanceLabel = new QLabel(tr("Guidance list"));
    form->addRow(m_sweepGuidanceLabel, m_sweepGuidanceEdit);
    m_sweepCompensatedCheck = new QCheckBox(tr("with DC"));
    m_sweepCompensatedCheck->setObjectName(QStringLiteral("sweepCompensatedCheck"));
    m_sweepCompensatedCheck->setChecked(true);
    m_sweepCompensatedCheck->setToolTip(tr("Guidance x NFE: sample with DC (CPR prediction where coefficients are known, else the "
                                           "curve resampled to each NFE) instead of plainly"));
    form->addRow(QString(), m_sweepCompensatedCheck);
    m_sweepSamplesSpin = new QSpinBox;
    m_sweepSamplesSpin->setObjectName(QStringLiteral("sweepSamplesSpin"));
    m_sweepSamplesSpin->setRange(1, 16);
    m_sweepSamplesSpin->setValue(4);
    m_sweepSamplesSpin->setToolTip(tr("Samples per cell: the window's first samples (same seed, same noise)"));
    form->addRow(tr("Samples per cell"), m_sweepSamplesSpin);
    connect(m_sweepLayoutCombo, &QComboBox::currentIndexChanged, this, &ResearchPanel::updateSweepAxes);
    updateSweepAxes();

    m_sweepJob = makeJobControls(tr("Render grid"), tr("Sample every cell against its ground truth and draw the labelled grid"),
                                 QStringLiteral("sweep"));
    connect(m_sweepJob.start, &QPushButton::clicked, this, &ResearchPanel::startSweep);
    connect(m_sweepJob.cancel, &QPushButton::clicked, this, [this] { m_controller.cancel(m_sweepJob.jobId); });

    m_sweepPreview = new QLabel(tr("No grid yet."));
    m_sweepPreview->setObjectName(QStringLiteral("sweepPreview"));
    m_sweepPreview->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_sweepScroll = new QScrollArea;
    m_sweepScroll->setWidget(m_sweepPreview);
    m_sweepScroll->setWidgetResizable(false);
    m_sweepScroll->setToolTip(tr("The grid as it will be saved"));
    m_saveSweepButton = new QPushButton(tr("Save PNG..."));
    m_saveSweepButton->setObjectName(QStringLiteral("saveSweepButton"));
    m_saveSweepButton->setToolTip(tr("Write the grid as a PNG file"));
    m_saveSweepButton->setEnabled(false);
    connect(m_saveSweepButton, &QPushButton::clicked, this, &ResearchPanel::chooseSweepSavePath);

    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(form);
    layout->addWidget(jobRow(m_sweepJob));
    layout->addWidget(m_sweepScroll, 1);
    layout->addWidget(m_saveSweepButton, 0, Qt::AlignLeft);
    return tab;
}

void ResearchPanel::updateSweepAxes() {
    const bool byGuidance = m_sweepLayoutCombo->currentData().toInt() == int(SweepLayout::GuidanceByNfe);
    m_sweepGuidanceEdit->setEnabled(byGuidance);
    m_sweepCompensatedCheck->setEnabled(byGuidance);
}

void ResearchPanel::startSweep() {
    if (!m_context || m_sweepJob.jobId) return;
    const ResearchContext context = m_context();
    ResearchJob job = baseJob(ResearchJob::Kind::Sweep, context);
    SweepSpec& spec = job.sweep;
    spec.layout = SweepLayout(m_sweepLayoutCombo->currentData().toInt());
    spec.base = context.solver;  // with the curve: the DC cells' ratios
    spec.guidance = context.guidance;
    spec.compensated = m_sweepCompensatedCheck->isChecked();
    spec.cpr = m_cpr ? m_cpr : context.packageCpr;
    spec.seed = context.seed;
    spec.samples = m_sweepSamplesSpin->value();
    spec.classChoice = context.classChoice;
    spec.groundTruthFineSteps = context.groundTruthFineSteps;
    try {
        const auto nfes = parseList<int>(m_sweepNfeEdit->text(), QStringLiteral("NFE list"));
        spec.nfes = QVector<int>(nfes.begin(), nfes.end());
        if (spec.layout == SweepLayout::GuidanceByNfe) {
            const auto guidances = parseList<double>(m_sweepGuidanceEdit->text(), QStringLiteral("guidance list"));
            spec.guidances = QVector<double>(guidances.begin(), guidances.end());
        }
        validate(spec);
    } catch (const dcscope::Error& error) {
        m_sweepJob.status->setText(QString::fromStdString(error.what()));
        return;
    }
    submit(std::move(job), m_sweepJob);
}

void ResearchPanel::showSweep(const ResearchOutcome& outcome) {
    m_sweepPreview->setPixmap(QPixmap::fromImage(outcome.sweep.image));
    m_sweepPreview->adjustSize();
    m_saveSweepButton->setEnabled(true);
}

bool ResearchPanel::saveSweepFile(const QString& path) {
    if (!m_lastSweep) return false;
    QString error;
    if (!saveSweepGrid(m_lastSweep->sweep, path, &error)) {
        Q_EMIT statusMessage(error);
        return false;
    }
    Q_EMIT statusMessage(tr("Saved the sweep grid to %1").arg(path));
    return true;
}

void ResearchPanel::chooseSweepSavePath() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save sweep grid"), QStringLiteral("sweep.png"), tr("PNG images (*.png)"));
    if (!path.isEmpty()) saveSweepFile(path);
}

// ---- jobs ------------------------------------------------------------------------------------

ResearchPanel::JobControls* ResearchPanel::controlsFor(int jobId) {
    for (JobControls* controls : {&m_searchJob, &m_cprJob, &m_evaluationJob, &m_sweepJob})
        if (controls->jobId == jobId && jobId != 0) return controls;
    return nullptr;
}

void ResearchPanel::onProgress(std::shared_ptr<const ResearchProgress> progress) {
    JobControls* controls = controlsFor(progress->jobId);
    if (!controls) return;
    if (progress->total > 0) {
        controls->progress->setRange(0, progress->total);
        controls->progress->setValue(progress->done);
    } else {
        controls->progress->setRange(0, 0);
    }
    const double eta = progress->etaSeconds();
    controls->status->setText(eta >= 0 ? tr("%1 (about %2 left)").arg(progress->text, formatSeconds(eta)) : progress->text);
    if (controls == &m_searchJob && progress->step && progress->step->searched) {
        const auto& step = *progress->step;
        m_lossBefore.push_back(QPointF(step.step, step.lossBefore));
        m_lossAfter.push_back(QPointF(step.step, step.lossAfter));
        m_lossChart->setSeries(tr("state, ρ = 1"), m_lossBefore, QColor(200, 80, 60));
        m_lossChart->setSeries(tr("state, ρ*"), m_lossAfter, QColor(40, 120, 200));
        if (std::isfinite(step.predictionLossBefore)) {
            m_predictionLossBefore.push_back(QPointF(step.step, step.predictionLossBefore));
            m_predictionLossAfter.push_back(QPointF(step.step, step.predictionLossAfter));
            m_lossChart->setSeries(tr("pred., ρ = 1"), m_predictionLossBefore, QColor(235, 165, 140));
            m_lossChart->setSeries(tr("pred., ρ*"), m_predictionLossAfter, QColor(130, 180, 230));
        }
    }
}

void ResearchPanel::onFinished(std::shared_ptr<const ResearchOutcome> outcome) {
    JobControls* controls = controlsFor(outcome->jobId);
    if (!controls) return;
    switch (outcome->kind) {
    case ResearchJob::Kind::Search:
        m_lastSearch = outcome;
        showSearch(*outcome);
        break;
    case ResearchJob::Kind::CprFit: showCprFit(*outcome); break;
    case ResearchJob::Kind::Evaluation: showEvaluation(*outcome); break;
    case ResearchJob::Kind::Sweep:
        m_lastSweep = outcome;
        showSweep(*outcome);
        break;
    }
    onEnded(outcome->jobId, true, tr("done in %1").arg(formatSeconds(outcome->seconds)));
}

void ResearchPanel::onEnded(int jobId, bool succeeded, const QString& message) {
    JobControls* controls = controlsFor(jobId);
    if (!controls) return;
    const int kind = controls == &m_searchJob ? int(ResearchJob::Kind::Search)
                     : controls == &m_cprJob  ? int(ResearchJob::Kind::CprFit)
                     : controls == &m_evaluationJob ? int(ResearchJob::Kind::Evaluation)
                                                    : int(ResearchJob::Kind::Sweep);
    controls->jobId = 0;
    controls->start->setEnabled(true);
    controls->cancel->setEnabled(false);
    controls->progress->setRange(0, 1);
    controls->progress->setValue(succeeded ? 1 : 0);
    controls->status->setText(message);
    Q_EMIT jobEnded(kind, succeeded, message);
}

void ResearchPanel::cancelJobs(bool all) {
    for (JobControls* controls : {&m_searchJob, &m_cprJob, &m_evaluationJob, &m_sweepJob}) {
        const bool shown = m_tabs->currentWidget() && m_tabs->currentWidget()->isAncestorOf(controls->start);
        if (controls->jobId && (all || shown)) m_controller.cancel(controls->jobId);
    }
}

bool ResearchPanel::isBusy() const { return m_searchJob.jobId || m_cprJob.jobId || m_evaluationJob.jobId || m_sweepJob.jobId; }

QVector<QPair<QString, QVector<double>>> ResearchPanel::overlays(int steps, double guidance) const {
    QVector<QPair<QString, QVector<double>>> curves;
    if (!m_searchRatios.isEmpty() && m_searchSteps == steps) curves.push_back({QString::fromLatin1(kSearchOverlay), m_searchRatios});
    if (m_cpr) {
        try {
            const auto predicted = dcscope::predictCprRatios(*m_cpr, guidance, steps);
            curves.push_back({QString::fromLatin1(kCprOverlay), QVector<double>(predicted.begin(), predicted.end())});
        } catch (const dcscope::Error&) {
            // No prediction for these settings (non-finite): no overlay.
        }
    }
    return curves;
}
