// MainWindow's menus, sessions, ratio files, export and drag-and-drop (the window's layout and
// sampling are in main_window.cpp).
#include <QAction>
#include <QActionGroup>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QThread>
#include <QTimer>

#include <cmath>
#include <cstdio>
#include <functional>

#include <nlohmann/json.hpp>

#include "comparison_view.h"
#include "research_panel.h"
#include "ratio_curve_editor.h"
#include "dcscope/compensation.h"
#include "dcscope/npy.h"
#include "dcscope/solver.h"
#include "dcscope/threads.h"
#include "error_dialog.h"
#include "help_page.h"
#include "main_window.h"
#include "png_export.h"
#include "ratio_edit_command.h"
#include "reproduction_png.h"
#include "ratio_curve_editor.h"
#include "solver_choices.h"
#include "trajectory_gl_view.h"
#include "video_export.h"

namespace {

constexpr const char* kGeometryKey = "window/geometry";
constexpr const char* kStateKey = "window/state";
constexpr const char* kMainSplitterKey = "window/mainSplitter";
constexpr const char* kCentralSplitterKey = "window/centralSplitter";
constexpr const char* kTrajectoryGeometryKey = "window/trajectoryGeometry";  // image models' trajectory window
const QString kSessionFilter = QStringLiteral("dcscope sessions (*.dcscope.json);;JSON (*.json)");
const QString kRatioFilter = QStringLiteral("Ratio files (*.json)");
const QString kPngFilter = QStringLiteral("PNG images (*.png)");

/// A file dialog that does not block (no nested event loop): `chosen` runs once a path is picked.
void askForPath(QWidget* parent, const QString& title, const QString& filter, QFileDialog::AcceptMode mode,
                QFileDialog::FileMode fileMode, std::function<void(const QString&)> chosen, const QString& suffix = {}) {
    auto* dialog = new QFileDialog(parent, title, QString(), filter);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(mode);
    dialog->setFileMode(fileMode);
    if (fileMode == QFileDialog::Directory) dialog->setOption(QFileDialog::ShowDirsOnly);
    if (!suffix.isEmpty()) dialog->setDefaultSuffix(suffix);
    QObject::connect(dialog, &QFileDialog::fileSelected, parent, [chosen = std::move(chosen)](const QString& path) { chosen(path); });
    dialog->open();
}

/// Session names of the solver combo's entries (core's names, as the CLI's --solver takes them).
QString solverName(const SolverChoice& choice) { return QString::fromStdString(dcscope::toString(choice.type)); }
QString variantName(const SolverChoice& choice) { return QString::fromStdString(dcscope::toString(choice.variant)); }

}  // namespace

QString MainWindow::lastSessionPath() {
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation)).filePath(QStringLiteral("last.dcscope.json"));
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open package…"), this, &MainWindow::chooseModelFolder);
    open->setObjectName(QStringLiteral("openPackageAction"));
    open->setShortcut(QKeySequence::Open);
    file->addAction(tr("Open &mixture model…"), this, &MainWindow::chooseMixtureModelToOpen)
        ->setObjectName(QStringLiteral("openMixtureModelAction"));
    QAction* openSession = file->addAction(tr("Open &session…"), this, &MainWindow::chooseSessionToOpen);
    openSession->setObjectName(QStringLiteral("openSessionAction"));
    openSession->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_recentMenu = file->addMenu(tr("&Recent sessions"));
    m_recentMenu->setObjectName(QStringLiteral("recentSessionsMenu"));
    refreshRecentSessionsMenu();
    QAction* save = file->addAction(tr("&Save session"), this, &MainWindow::saveSession);
    save->setObjectName(QStringLiteral("saveSessionAction"));
    save->setShortcut(QKeySequence::Save);
    QAction* saveAs = file->addAction(tr("Save session &as…"), this, &MainWindow::chooseSessionPath);
    saveAs->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    file->addSeparator();
    file->addAction(tr("&Load ratios…"), this, &MainWindow::chooseRatioFileToLoad)->setObjectName(QStringLiteral("loadRatiosAction"));
    file->addAction(tr("Save &ratios…"), this, [this] { chooseRatioFileToSave(false); })->setObjectName(QStringLiteral("saveRatiosAction"));
    file->addAction(tr("Save ratios as a plain &list…"), this, [this] { chooseRatioFileToSave(true); })
        ->setToolTip(tr("The reference implementation's format: a JSON list of S numbers"));
    m_saveMixtureAction = file->addAction(tr("Save mi&xture as model…"), this, &MainWindow::chooseMixtureModelPath);
    m_saveMixtureAction->setObjectName(QStringLiteral("saveMixtureModelAction"));
    m_saveMixtureAction->setToolTip(tr("The 2-D mixture shown (as you shaped it) as a small JSON model file, accepted wherever a model is"));
    m_saveMixtureAction->setEnabled(false);
    file->addSeparator();
    QAction* exportComparison = file->addAction(tr("&Export comparison as PNG…"), this, &MainWindow::exportComparison);
    exportComparison->setObjectName(QStringLiteral("exportComparisonAction"));
    exportComparison->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    QMenu* panes = file->addMenu(tr("Export pane at the shown step"));
    const QString paneNames[] = {tr("&Plain pane…"), tr("&DC pane…"), tr("&Ground-truth pane…")};
    for (int pane = 0; pane < 3; ++pane)
        panes->addAction(paneNames[pane], this, [this, pane] { exportPane(pane); })->setObjectName(QStringLiteral("exportPaneAction%1").arg(pane));
    file->addAction(tr("Export &video of the steps…"), this, [this] {
        askForPath(this, tr("Export video"), QStringLiteral("Videos (*.avi *.mp4)"), QFileDialog::AcceptSave, QFileDialog::AnyFile,
                   [this](const QString& path) { startVideoExport(path); }, QStringLiteral("avi"));
    })->setObjectName(QStringLiteral("exportVideoAction"));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_undoStack.createUndoAction(this, tr("&Undo"));
    undo->setObjectName(QStringLiteral("undoAction"));
    undo->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Z));
    QAction* redo = m_undoStack.createRedoAction(this, tr("&Redo"));
    redo->setObjectName(QStringLiteral("redoAction"));
    redo->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z));
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(tr("Reset ratios to &1"), this, [this] { m_resetRatiosButton->click(); });
    edit->addSeparator();
    QAction* sample = edit->addAction(tr("&Sample"), this, &MainWindow::requestSampling);
    sample->setObjectName(QStringLiteral("sampleAction"));
    sample->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    QAction* cancel = edit->addAction(tr("&Cancel sampling"), this, [this] {
        m_controller.cancel();
        if (m_videoCancel) m_videoCancel->store(true);
    });
    cancel->setObjectName(QStringLiteral("cancelAction"));
    cancel->setShortcut(QKeySequence(Qt::Key_Escape));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    m_noisyStateAction = view->addAction(tr("&Noisy state instead of x0-prediction"));
    m_noisyStateAction->setObjectName(QStringLiteral("noisyStateAction"));
    m_noisyStateAction->setCheckable(true);
    m_noisyStateAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    connect(m_noisyStateAction, &QAction::toggled, m_comparison, &ComparisonView::setShowNoisyState);
    connect(m_comparison, &ComparisonView::displayModeChanged, m_noisyStateAction, &QAction::setChecked);
    QAction* projection = view->addAction(tr("&Trajectories of image samples (principal plane)"));
    projection->setObjectName(QStringLiteral("trajectoryProjectionAction"));
    projection->setCheckable(true);
    projection->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    projection->setToolTip(tr("Every trajectory projected on the two principal directions of the ground truth's path"));
    connect(projection, &QAction::toggled, this, [this](bool on) {
        // In the panes' place a 2-D model always shows it (it has no images).
        if (!m_trajectoryWindow && m_shownResult && !m_shownResult->plainPaths.isEmpty()) return;
        showTrajectories(on);
        if (on && m_shownResult) m_trajectoryView->setScene(m_shownResult->trajectoryScene, true);
    });
    m_projectionAction = projection;
    m_shapeMixtureAction = view->addAction(tr("&Shape the mixture (2-D models)"));
    m_shapeMixtureAction->setObjectName(QStringLiteral("shapeMixtureAction"));
    m_shapeMixtureAction->setCheckable(true);
    m_shapeMixtureAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_shapeMixtureAction->setToolTip(tr("In the trajectory view: click adds a mode, drag moves one, Delete removes the selected one"));
    connect(m_shapeMixtureAction, &QAction::toggled, m_trajectoryView, &TrajectoryGlView::setMixtureEditing);
    connect(m_trajectoryView, &TrajectoryGlView::mixtureEditingChanged, m_shapeMixtureAction, &QAction::setChecked);
    connect(m_trajectoryView, &TrajectoryGlView::mixtureEditingChanged, this, [this](bool editing) {
        if (editing) statusBar()->showMessage(tr("Shaping the mixture: click adds a mode, drag moves one, Delete removes it; "
                                                 "File > Save mixture as model keeps it"));
    });
    QAction* previous = view->addAction(tr("&Previous step"), this, [this] { m_comparison->setStep(m_comparison->step() - 1); });
    previous->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Left));
    QAction* next = view->addAction(tr("N&ext step"), this, [this] { m_comparison->setStep(m_comparison->step() + 1); });
    next->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Right));
    QAction* research = m_researchDock->toggleViewAction();
    research->setText(tr("&Research panels (search, CPR, evaluation, sweep)"));
    research->setObjectName(QStringLiteral("researchPanelsAction"));
    research->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    view->addAction(research);
    QMenu* colormaps = view->addMenu(tr("Difference &colour map"));
    auto* colormapGroup = new QActionGroup(colormaps);
    for (const QString& name : heatColormapNames()) {
        QAction* action = colormaps->addAction(name, this, [this, name] { m_comparison->setColormap(heatColormapFromName(name)); });
        action->setCheckable(true);
        action->setChecked(name == heatColormapName(m_comparison->colormap()));
        colormapGroup->addAction(action);
    }

    QMenu* settings = menuBar()->addMenu(tr("&Settings"));
    QAction* threads = settings->addAction(tr("Model &threads…"), this, &MainWindow::chooseThreadCount);
    threads->setObjectName(QStringLiteral("threadsAction"));
    threads->setToolTip(tr("How many CPU threads each model call may use"));
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("How DC-Solver &works"), this, &MainWindow::showHelpPage)->setObjectName(QStringLiteral("howDcSolverWorksAction"));
    QAction* usage = help->addAction(tr("&Using dcscope"), this, &MainWindow::showUsage);
    usage->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About dcscope"), this, &MainWindow::showAbout)->setObjectName(QStringLiteral("aboutAction"));
}

void MainWindow::chooseThreadCount() {
    auto* dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Model threads"));
    dialog->setLabelText(tr("Threads per model call (0 = automatic: OMP_NUM_THREADS, else all %1 available CPUs):")
                             .arg(dcscope::availableCpuCount()));
    dialog->setInputMode(QInputDialog::IntInput);
    dialog->setIntRange(0, 256);
    dialog->setIntValue(m_threadsSetting);
    connect(dialog, &QInputDialog::intValueSelected, this, [this](int value) {
        if (value == m_threadsSetting) return;
        m_threadsSetting = value;
        QSettings().setValue(QLatin1String(kThreadsSettingKey), value);
        m_threadsDescription = QString::fromStdString(dcscope::describe(dcscope::chooseIntraOpThreads(value)));
        statusBar()->showMessage(tr("Model threads: %1 (from the next sampling on)").arg(m_threadsDescription));
    });
    dialog->open();
}

void MainWindow::showAbout() {
    auto* box = new QMessageBox(QMessageBox::Information, tr("About dcscope"),
                                tr("<b>dcscope %1</b><br>Explore diffusion samplers: UniPC, DPM-Solver++ and DDIM with and without "
                                   "dynamic compensation (DC-Solver).<br><br>Model threads: %2<br>Device: %3")
                                    .arg(QCoreApplication::applicationVersion(), m_threadsDescription.toHtmlEscaped(),
                                         m_deviceCombo->currentText()),
                                QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("aboutBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::showUsage() {
    auto* box = new QMessageBox(
        QMessageBox::NoIcon, tr("Using dcscope"),
        tr("<p><b>Panes.</b> Plain | DC | ground truth from the same noise; below them |x − ground truth| on one shared "
           "colour scale. Click a sample to enlarge it.</p>"
           "<p><b>Step scrubber.</b> Shows every pane at step k: the x0-prediction (default) or the noisy state "
           "(Ctrl+N). Ctrl+Left/Right step through; the error chart marks k. <b>Wipe</b> splits the DC pane between DC "
           "and plain.</p>"
           "<p><b>Ratio curve.</b> Drag a point, or select it with Left/Right and move it with Up/Down (Shift: by 0.01); "
           "double-click or Enter types a value. Ctrl+Z / Ctrl+Shift+Z undo and redo. Dashed curves are overlays "
           "(the package's CPR fit, its searched file, loaded files): click a name to apply it.</p>"
           "<p><b>Files.</b> Ctrl+O opens a package; drop a package folder, a ratio file, a session or an exported PNG "
           "on the window. Ctrl+S saves the session, Ctrl+E exports the comparison as PNG with everything needed to "
           "reproduce it (dcscope-cli sample --from-png).</p>"
           "<p>Ctrl+Enter samples, Esc cancels within one model call.</p>"),
        QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("usageBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::showHelpPage() {
    if (!m_helpPage) {
        m_helpPage = new HelpPage(this);
        connect(m_helpPage, &HelpPage::actionRequested, this, &MainWindow::onHelpAction);
        updateHelpSummary();
    }
    m_helpPage->show();
    m_helpPage->raise();
    m_helpPage->activateWindow();
}

void MainWindow::onHelpAction(const QString& action) {
    // Each link does what the student would do by hand, through the same controls and paths
    // (undo, overlays, the model's ratios following NFE and guidance), and samples at once so
    // the panes answer the link.
    const auto sampleAfter = [this](auto change) {
        change();
        requestSampling();
    };
    if (action == QLatin1String("ratios-one")) {
        m_resetRatiosButton->click();  // one undoable edit; re-samples
    } else if (action == QLatin1String("ratios-model")) {
        followModelRatios();
    } else if (action == QLatin1String("guidance-high") || action == QLatin1String("guidance-low")) {
        if (!m_guidanceSpin->isEnabled()) {
            statusBar()->showMessage(tr("This model is unconditional: guidance does not apply to it."), 8000);
            return;
        }
        sampleAfter([&] { m_guidanceSpin->setValue(action == QLatin1String("guidance-high") ? 7.5 : 1.0); });
    } else if (action.startsWith(QLatin1String("nfe-"))) {
        bool valid = false;
        const int steps = action.mid(4).toInt(&valid);
        if (!valid || steps < m_nfeSpin->minimum() || steps > m_nfeSpin->maximum()) return;
        sampleAfter([&] { m_nfeSpin->setValue(steps); });
    } else if (action == QLatin1String("show-noisy")) {
        m_noisyStateAction->toggle();
    } else if (action == QLatin1String("step-first") || action == QLatin1String("step-last")) {
        const int last = m_comparison->hasFrames() ? m_comparison->stepCount() : (m_shownResult ? m_shownResult->steps : 0);
        const int step = action == QLatin1String("step-first") ? 0 : last;
        if (m_comparison->hasFrames()) {
            m_comparison->setStep(step);  // the trajectory view and the chart's marker follow it
        } else {
            m_trajectoryView->setStep(step);  // 2-D models have no frames, only trajectories
            onStepShown(step);
        }
    } else {
        statusBar()->showMessage(tr("The help page asked for an unknown action: %1").arg(action), 8000);
    }
}

void MainWindow::followModelRatios() {
    const bool builtin = m_modelCombo->currentData().toString().startsWith(QStringLiteral("builtin:"));
    const bool hasCpr = m_packageCompensation && m_packageCompensation->cpr;
    if (!builtin && !hasCpr) {
        // A package without CPR coefficients: at most a searched file for exactly these settings.
        if (m_ratioEditor->overlayNames().contains(tr("searched")))
            m_ratioEditor->applyOverlay(tr("searched"));  // a user edit: undoable, re-samples
        else
            statusBar()->showMessage(tr("This package ships no ratios for these settings: the curve stays as it is."), 8000);
        return;
    }
    // Back to following the model, as when it was opened, so NFE and guidance changes bring
    // their own ratios again; the change itself is one undoable edit like any other.
    const QVector<double> before = m_ratioEditor->ratios();
    m_followPackageRatios = true;
    if (hasCpr)
        applyPackageRatios();
    else if (m_quickSearchRatios.size() == m_nfeSpin->value())
        setCurveFromProgram(m_quickSearchRatios);  // at once; the request's quick search confirms or replaces it
    const QVector<double> after = m_ratioEditor->ratios();
    if (after != before)
        m_undoStack.push(new RatioEditCommand(before, after, [this](const QVector<double>& ratios) { applyUndoneCurve(ratios); },
                                              tr("the model's ratios")));
    requestSampling();  // built-in models: with a quick search for these settings
}

void MainWindow::updateHelpSummary() {
    if (!m_helpPage) return;
    if (!m_shownResult) {
        m_helpPage->setLiveSummary(tr("<b>Now:</b> nothing sampled yet."));
        return;
    }
    const SamplingResult& result = *m_shownResult;
    QString settings = tr("%1, NFE %2").arg(result.solverName.toHtmlEscaped()).arg(result.nfePerRun);
    if (!result.plainRecord.classes.empty())  // guidance means nothing to an unconditional model
        settings += tr(", guidance %1").arg(result.plainRecord.guidance, 0, 'g', 3);
    const auto mse = [](double value) { return QString::number(value, 'e', 1); };
    QString errors;
    if (std::isfinite(result.plainMse) && std::isfinite(result.compensatedMse)) {
        errors = tr("final MSE plain %1, DC %2").arg(mse(result.plainMse), mse(result.compensatedMse));
        if (result.plainMse > 0)
            errors += QStringLiteral(" (%1%2%)")
                          .arg(result.compensatedMse < result.plainMse ? QStringLiteral("−") : QStringLiteral("+"))
                          .arg(std::abs(100.0 * (result.compensatedMse / result.plainMse - 1.0)), 0, 'f', 0);
    } else {
        // Shown before the ground truth arrives, or with the ground truth off.
        errors = m_groundTruthCheck->isChecked() && m_shownResult != m_lastResult ? tr("computing the ground truth…")
                                                                                 : tr("no ground truth, so no error");
    }
    if (!result.compensated) errors += tr("; all ρ = 1, so DC is plain");
    m_helpPage->setLiveSummary(tr("<b>Now:</b> %1: %2").arg(settings, errors));
}

void MainWindow::chooseModelFolder() {
    askForPath(this, tr("Open model package"), QString(), QFileDialog::AcceptOpen, QFileDialog::Directory,
               [this](const QString& path) { openModel(path); });
}

void MainWindow::chooseMixtureModelToOpen() {
    askForPath(this, tr("Open mixture model"), tr("Mixture models (*.json)"), QFileDialog::AcceptOpen, QFileDialog::ExistingFile,
               [this](const QString& path) { openModel(path); });
}

void MainWindow::chooseMixtureModelPath() {
    askForPath(this, tr("Save mixture as model"), tr("Mixture models (*.json)"), QFileDialog::AcceptSave, QFileDialog::AnyFile,
               [this](const QString& path) { saveMixtureModel(path); }, QStringLiteral("json"));
}

bool MainWindow::saveMixtureModel(const QString& path) {
    const MixtureDensity& shown = m_trajectoryView->mixture();
    if (!m_editedMixture && !shown.isValid()) {
        showError(this, tr("%1: nothing to save: the model on screen is not a 2-D mixture").arg(path));
        return false;
    }
    try {
        // Unedited: the model's own mixture under its own name (nothing to re-sample).
        dcscope::writeMixtureDefinition(path.toStdString(),
                                        m_editedMixture ? *m_editedMixture : mixtureDefinition(shown, m_loadedModelName));
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    // The file is now the model: the same mixture, so the curve stays.
    const int index = addModelEntry(QFileInfo(path).absoluteFilePath());
    if (index != m_modelCombo->currentIndex()) {
        m_keepCurveOnModelChange = true;
        m_modelCombo->setCurrentIndex(index);
    } else {
        m_editedMixture.reset();  // saved over the open file: that file is the model again
        requestSampling();
    }
    statusBar()->showMessage(tr("Saved the mixture as %1").arg(QDir::toNativeSeparators(path)));
    return true;
}

void MainWindow::openModel(const QString& spec) {
    const bool mixtureFile = dcscope::isMixtureModelSpec(spec.toStdString());
    if (mixtureFile && !QFileInfo(spec).isFile()) {
        showError(this, tr("%1: no such mixture model file").arg(spec));
        return;
    }
    if (!mixtureFile && !spec.startsWith(QStringLiteral("builtin:")) && !QFileInfo(QDir(spec).filePath(QStringLiteral("model.json"))).isFile()) {
        showError(this, tr("%1: not a model package (no model.json in it)").arg(spec));
        return;
    }
    const QFileInfo info(spec);
    const int index = addModelEntry(info.isDir() ? QDir(spec).absolutePath() : info.isFile() ? info.absoluteFilePath() : spec);
    if (index == m_modelCombo->currentIndex())
        requestSampling();
    else
        m_modelCombo->setCurrentIndex(index);  // onModelChanged samples
}

Session MainWindow::currentSession() const {
    Session session;
    session.modelSpec = m_modelCombo->currentData().toString();
    session.device = m_deviceCombo->currentData().toString();
    const SolverChoice& choice = solverChoices()[std::max(0, m_solverCombo->currentIndex())];
    session.solver = solverName(choice);
    session.variant = variantName(choice);
    session.order = m_orderSpin->value();
    session.grid = m_gridCombo->currentData().toString();
    session.nfe = m_nfeSpin->value();
    session.dcOrder = m_dcOrderSpin->value();
    session.guidance = m_guidanceSpin->value();
    session.classChoice = m_classCombo->currentData().toInt();
    session.batch = m_batchSpin->value();
    session.seed = m_seedSpin->value();
    session.seedLocked = m_seedLockCheck->isChecked();
    session.groundTruth = m_groundTruthCheck->isChecked();
    session.groundTruthFineSteps = m_fineStepsSpin->value();
    session.ratios = m_ratioEditor->ratios();
    session.followPackageRatios = m_followPackageRatios;
    session.overlays = m_fileOverlays;
    if (m_editedMixture)
        session.editedMixture =
            QJsonDocument::fromJson(QByteArray::fromStdString(dcscope::mixtureDefinitionJson(*m_editedMixture))).toJson(QJsonDocument::Compact);
    session.step = m_comparison->hasFrames() && m_comparison->step() < m_comparison->stepCount() ? m_comparison->step() : -1;
    session.noisyState = m_comparison->showsNoisyState();
    session.colormap = heatColormapName(m_comparison->colormap());
    session.wipe = m_comparison->wipePosition();
    return session;
}

void MainWindow::applySession(const Session& session) {
    {
        // Every control is set quietly; the one sampling at the end uses all of them.
        const QSignalBlocker blockModel(m_modelCombo), blockNfe(m_nfeSpin), blockGuidance(m_guidanceSpin),
            blockDcOrder(m_dcOrderSpin), blockSolver(m_solverCombo);
        const QString previousModel = m_modelCombo->currentData().toString();
        m_modelCombo->setCurrentIndex(addModelEntry(session.modelSpec));
        const bool modelChanged = previousModel != session.modelSpec;
        int device = m_deviceCombo->findData(session.device);
        if (device < 0) {
            m_deviceCombo->addItem(session.device, session.device);
            device = m_deviceCombo->count() - 1;
        }
        m_deviceCombo->setCurrentIndex(device);
        const int solver = solverChoiceIndex(dcscope::parseSolverType(session.solver.toStdString()),
                                             dcscope::parseUniPCVariant(session.variant.toStdString()));
        m_solverCombo->setCurrentIndex(std::max(0, solver));
        m_orderSpin->setValue(session.order);
        m_gridCombo->setCurrentIndex(std::max(0, m_gridCombo->findData(session.grid)));
        m_nfeSpin->setValue(session.nfe);
        m_dcOrderSpin->setValue(session.dcOrder);
        m_ratioEditor->setLockedCount(session.dcOrder);
        m_guidanceSpin->setValue(session.guidance);
        if (modelChanged) {
            while (m_classCombo->count() > 2) m_classCombo->removeItem(m_classCombo->count() - 1);
            m_modelInfoLabel->clear();
        }
        // The labels of a model not loaded yet arrive with it; onModelLoaded keeps this choice.
        if (m_classCombo->findData(session.classChoice) < 0 && session.classChoice >= 0)
            m_classCombo->addItem(tr("class %1").arg(session.classChoice), session.classChoice);
        m_classCombo->setCurrentIndex(std::max(0, m_classCombo->findData(session.classChoice)));
        m_batchSpin->setValue(session.batch);
        m_seedLockCheck->setChecked(false);
        m_seedSpin->setValue(int(session.seed));
        m_seedLockCheck->setChecked(session.seedLocked);
        m_groundTruthCheck->setChecked(session.groundTruth);
        m_fineStepsSpin->setValue(session.groundTruthFineSteps);
    }
    onSolverChanged();
    loadPackageCompensation();
    m_fileOverlays.clear();
    for (const Session::Overlay& overlay : session.overlays) m_fileOverlays.append(overlay);
    m_followPackageRatios = session.followPackageRatios && m_packageCompensation && m_packageCompensation->cpr;
    if (m_followPackageRatios)
        applyPackageRatios();
    else
        setCurveFromProgram(session.ratios.isEmpty() ? QVector<double>(session.nfe, 1.0) : session.ratios);
    refreshOverlays();
    m_undoStack.clear();
    m_comparison->setColormap(heatColormapFromName(session.colormap));
    m_comparison->setShowNoisyState(session.noisyState);
    m_comparison->setWipePosition(session.wipe);
    m_comparison->clearFrames();
    // A shaped, unsaved mixture comes back as it was (parseSession has checked it); the view
    // drops any shape of its own.
    m_trajectoryView->clearScene();
    m_editedMixture.reset();
    if (!session.editedMixture.isEmpty())
        m_editedMixture = std::make_shared<dcscope::MixtureDefinition>(
            dcscope::parseMixtureDefinition(session.editedMixture.toStdString(), "session"));
    if (session.step >= 0) {
        // Shown once the comparison's frames arrive.
        const int step = session.step;
        auto connection = std::make_shared<QMetaObject::Connection>();
        *connection = connect(this, &MainWindow::resultShown, this, [this, step, connection](int, bool complete) {
            m_comparison->setStep(step);
            if (complete) disconnect(*connection);
        });
    }
    requestSampling();
}

bool MainWindow::openSessionFile(const QString& path) {
    Session session;
    try {
        session = loadSession(path);
    } catch (const SessionError& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    applySession(session);
    m_sessionPath = path;
    rememberRecentSession(path);
    statusBar()->showMessage(tr("Opened session %1").arg(QFileInfo(path).fileName()));
    return true;
}

bool MainWindow::saveSessionFile(const QString& path) {
    try {
        ::saveSession(path, currentSession());
    } catch (const SessionError& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    m_sessionPath = path;
    rememberRecentSession(path);
    statusBar()->showMessage(tr("Saved session %1").arg(path));
    return true;
}

void MainWindow::chooseSessionToOpen() {
    askForPath(this, tr("Open session"), kSessionFilter, QFileDialog::AcceptOpen, QFileDialog::ExistingFile,
               [this](const QString& path) { openSessionFile(path); });
}

void MainWindow::saveSession() {
    if (m_sessionPath.isEmpty())
        chooseSessionPath();
    else
        saveSessionFile(m_sessionPath);
}

void MainWindow::chooseSessionPath() {
    askForPath(
        this, tr("Save session"), kSessionFilter, QFileDialog::AcceptSave, QFileDialog::AnyFile,
        [this](const QString& path) {
            saveSessionFile(path.endsWith(QStringLiteral(".json")) ? path : path + QStringLiteral(".dcscope.json"));
        },
        QStringLiteral("dcscope.json"));
}

void MainWindow::rememberRecentSession(const QString& path) {
    QSettings settings;
    QStringList recent = settings.value(QLatin1String(kRecentSessionsKey)).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecentSessions) recent.removeLast();
    settings.setValue(QLatin1String(kRecentSessionsKey), recent);
    refreshRecentSessionsMenu();
}

void MainWindow::refreshRecentSessionsMenu() {
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QLatin1String(kRecentSessionsKey)).toStringList();
    for (const QString& path : recent)
        m_recentMenu->addAction(QFileInfo(path).fileName(), this, [this, path] { openSessionFile(path); })->setToolTip(path);
    m_recentMenu->setEnabled(!recent.isEmpty());
}

bool MainWindow::loadRatioFile(const QString& path) {
    std::vector<double> values;
    try {
        values = dcscope::loadRatios(path.toStdString());
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    if (values.empty() || int(values.size()) > m_nfeSpin->maximum()) {
        showError(this, tr("%1: field 'ratios' must hold 1..%2 values, not %3").arg(path).arg(m_nfeSpin->maximum()).arg(values.size()));
        return false;
    }
    const QVector<double> ratios(values.begin(), values.end());
    // The file's length is its step count S.
    m_nfeSpin->setValue(int(ratios.size()));
    const QString name = tr("file: %1").arg(QFileInfo(path).completeBaseName());
    m_fileOverlays.removeIf([&](const Session::Overlay& overlay) { return overlay.name == name; });
    m_fileOverlays.append({name, ratios});
    refreshOverlays();
    m_ratioEditor->setRatios(ratios);
    m_followPackageRatios = false;
    onRatiosEdited();
    statusBar()->showMessage(tr("Loaded ratios from %1").arg(path));
    return true;
}

bool MainWindow::saveRatioFile(const QString& path, bool plainList) {
    const SolverChoice& choice = solverChoices()[std::max(0, m_solverCombo->currentIndex())];
    const nlohmann::json metadata = {{"nfe", m_nfeSpin->value()},
                                     {"cfg", m_guidanceSpin->value()},
                                     {"solver", dcscope::toString(choice.type)},
                                     {"variant", dcscope::toString(choice.variant)},
                                     {"order", m_orderSpin->value()},
                                     {"grid", m_gridCombo->currentData().toString().toStdString()},
                                     {"dc_order", m_dcOrderSpin->value()},
                                     {"model", m_modelCombo->currentData().toString().toStdString()},
                                     {"source", "dcscope window"}};
    const QVector<double>& ratios = m_ratioEditor->ratios();
    try {
        const std::vector<double> values(ratios.begin(), ratios.end());
        if (plainList)
            dcscope::writeFileAtomically(path.toStdString(), nlohmann::json(values).dump() + "\n");
        else
            dcscope::saveRatios(path.toStdString(), values, metadata);
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    statusBar()->showMessage(tr("Saved ratios to %1").arg(path));
    return true;
}

void MainWindow::chooseRatioFileToLoad() {
    askForPath(this, tr("Load ratios"), kRatioFilter, QFileDialog::AcceptOpen, QFileDialog::ExistingFile,
               [this](const QString& path) { loadRatioFile(path); });
}

void MainWindow::chooseRatioFileToSave(bool plainList) {
    askForPath(this, tr("Save ratios"), kRatioFilter, QFileDialog::AcceptSave, QFileDialog::AnyFile,
               [this, plainList](const QString& path) { saveRatioFile(path, plainList); }, QStringLiteral("json"));
}

bool MainWindow::writeComparisonPng(const QString& path) {
    if (!m_shownResult || !m_comparison->hasFrames()) {
        showError(this, tr("Nothing to export yet: sample first"));
        return false;
    }
    try {
        writeExportPng(path, pngImageOf(m_comparison->grab().toImage(), false), m_shownResult->compensatedRecord);
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    statusBar()->showMessage(tr("Exported the comparison to %1").arg(path));
    return true;
}

bool MainWindow::writePanePng(const QString& path, int pane) {
    const ComparisonFrame* frame = m_comparison->currentFrame();
    const QVector<QImage>* images = !frame       ? nullptr
                                    : pane == 0 ? &frame->plain
                                    : pane == 1 ? &frame->compensated
                                                : &frame->groundTruth;
    if (!m_shownResult || !images || images->isEmpty()) {
        showError(this, tr("Nothing to export in that pane yet"));
        return false;
    }
    // The ground truth has no run of its own to re-run: its chunks describe the DC run it judges.
    const dcscope::ReproductionRecord& record = pane == 0 ? m_shownResult->plainRecord : m_shownResult->compensatedRecord;
    try {
        writeExportPng(path, exportGrid(*images, record.pngColumns), record);
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    statusBar()->showMessage(tr("Exported step %1 to %2").arg(m_comparison->step()).arg(path));
    return true;
}

void MainWindow::exportPane(int pane) {
    askForPath(this, tr("Export pane as PNG"), kPngFilter, QFileDialog::AcceptSave, QFileDialog::AnyFile,
               [this, pane](const QString& path) { writePanePng(path, pane); }, QStringLiteral("png"));
}

void MainWindow::exportComparison() {
    askForPath(this, tr("Export comparison as PNG"), kPngFilter, QFileDialog::AcceptSave, QFileDialog::AnyFile,
               [this](const QString& path) { writeComparisonPng(path); }, QStringLiteral("png"));
}

bool MainWindow::isExportingVideo() const { return m_videoThread != nullptr; }

bool MainWindow::startVideoExport(const QString& path) {
    if (m_videoThread) {
        showError(this, tr("%1: a video export is still running").arg(path));
        return false;
    }
    if (!m_shownResult || m_shownResult->predictionFrames.isEmpty()) {
        showError(this, tr("%1: nothing to export: sample an image model first").arg(path));
        return false;
    }
    VideoExportInput input;
    input.predictions = m_shownResult->predictionFrames;
    input.states = m_shownResult->stateFrames;
    input.stepTimes = m_shownResult->stepTimes;
    input.plainName = m_shownResult->solverName;
    input.compensatedName = compensatedSolverName(m_shownResult->solverName);
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_videoCancel = cancel;
    // The export only reads its copied input; progress and the end come back as queued calls.
    m_videoThread = QThread::create([this, path, input, cancel] {
        const VideoExportResult result = exportComparisonVideo(path, input, VideoExportOptions{}, [this, cancel](int done, int total) {
            QMetaObject::invokeMethod(this, [this, done, total] {
                statusBar()->showMessage(tr("Exporting video: frame %1 of %2 (Esc cancels)").arg(done).arg(total));
            }, Qt::QueuedConnection);
            return !cancel->load();
        });
        QMetaObject::invokeMethod(this, [this, path, result] {
            m_videoThread->wait();
            delete m_videoThread;
            m_videoThread = nullptr;
            m_videoCancel.reset();
            const QString message = result.written    ? tr("Exported %1 frames (%2x%3) to %4").arg(result.frames).arg(result.frameSize.width()).arg(result.frameSize.height()).arg(path)
                                    : result.cancelled ? tr("Video export cancelled; nothing was written")
                                                       : result.error;
            statusBar()->showMessage(message);
            if (!result.written && !result.cancelled) showError(this, message);
            Q_EMIT videoExportFinished(result.written, message);
        }, Qt::QueuedConnection);
    });
    m_videoThread->start();
    return true;
}

bool MainWindow::openPngSettings(const QString& path) {
    dcscope::ReproductionRecord record;
    try {
        record = dcscope::readReproductionRecord(path.toStdString());
    } catch (const std::exception& error) {
        showError(this, QString::fromStdString(error.what()));
        return false;
    }
    if (record.noiseSource != dcscope::NoiseSource::Datapoints) {
        showError(this, tr("%1: made from a noise file, which the window cannot restore (use dcscope-cli sample --from-png)").arg(path));
        return false;
    }
    Session session;
    session.modelSpec = QString::fromStdString(record.modelSpec);
    session.device = QString::fromStdString(record.device);
    session.solver = QString::fromStdString(dcscope::toString(record.solver.solver));
    session.variant = QString::fromStdString(dcscope::toString(record.solver.variant));
    session.order = record.solver.order;
    session.grid = QString::fromStdString(dcscope::toString(record.solver.grid));
    session.nfe = record.solver.steps;
    session.dcOrder = record.solver.dcOrder;
    session.guidance = record.guidance;
    session.classChoice = classChoiceOf(record);
    session.batch = record.batchSize;
    session.seed = qint64(record.seed);
    session.groundTruth = record.groundTruth.has_value();
    if (record.groundTruth) session.groundTruthFineSteps = record.groundTruth->fineSteps;
    session.ratios = QVector<double>(record.solver.ratios.begin(), record.solver.ratios.end());
    session.colormap = heatColormapName(m_comparison->colormap());
    applySession(session);
    statusBar()->showMessage(tr("Restored the settings of %1").arg(QFileInfo(path).fileName()));
    return true;
}

void MainWindow::openDroppedPath(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) {
        openModel(path);
        return;
    }
    if (path.endsWith(QStringLiteral(".json"), Qt::CaseInsensitive)) {
        QFile file(path);
        const QByteArray bytes = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
        const QJsonObject object = QJsonDocument::fromJson(bytes).object();
        const QString format = object.value(QStringLiteral("format")).toString();
        if (format == QLatin1String(Session::kFormat))
            openSessionFile(path);
        else if (format == QLatin1String(dcscope::kMixtureFormat))
            openModel(path);
        else
            loadRatioFile(path);
        return;
    }
    if (path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive)) {
        openPngSettings(path);
        return;
    }
    showError(this, tr("%1: not something dcscope opens (a model package folder, a mixture model, a session, a ratio file or an exported PNG)").arg(path));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls())
        for (const QUrl& url : event->mimeData()->urls())
            if (url.isLocalFile()) {
                event->acceptProposedAction();
                return;
            }
}

void MainWindow::dropEvent(QDropEvent* event) {
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) {
            openDroppedPath(url.toLocalFile());
            event->acceptProposedAction();
            return;  // one thing at a time: a second drop would supersede the first anyway
        }
}

void MainWindow::restoreWindowState() {
    const QSettings settings;
    if (settings.contains(QLatin1String(kGeometryKey))) restoreGeometry(settings.value(QLatin1String(kGeometryKey)).toByteArray());
    if (settings.contains(QLatin1String(kStateKey))) restoreState(settings.value(QLatin1String(kStateKey)).toByteArray());
    if (settings.contains(QLatin1String(kMainSplitterKey)))
        m_mainSplitter->restoreState(settings.value(QLatin1String(kMainSplitterKey)).toByteArray());
    if (settings.contains(QLatin1String(kCentralSplitterKey)))
        m_centralSplitter->restoreState(settings.value(QLatin1String(kCentralSplitterKey)).toByteArray());
}

void MainWindow::saveWindowState() {
    QSettings settings;
    settings.setValue(QLatin1String(kGeometryKey), saveGeometry());
    settings.setValue(QLatin1String(kStateKey), saveState());
    settings.setValue(QLatin1String(kMainSplitterKey), m_mainSplitter->saveState());
    settings.setValue(QLatin1String(kCentralSplitterKey), m_centralSplitter->saveState());
    if (m_trajectoryWindow) settings.setValue(QLatin1String(kTrajectoryGeometryKey), m_trajectoryWindow->saveGeometry());
}

void MainWindow::restoreTrajectoryWindowGeometry() {
    const QSettings settings;
    if (m_trajectoryWindow && settings.contains(QLatin1String(kTrajectoryGeometryKey)))
        m_trajectoryWindow->restoreGeometry(settings.value(QLatin1String(kTrajectoryGeometryKey)).toByteArray());
}

bool MainWindow::restoreLastSession() {
    const QString path = lastSessionPath();
    if (!QFileInfo::exists(path)) return false;
    try {
        applySession(loadSession(path));
    } catch (const SessionError& error) {
        // Never fatal: start with the defaults and say why in one line.
        statusBar()->showMessage(tr("Last session not restored: %1").arg(QString::fromStdString(error.what())));
        return false;
    }
    statusBar()->showMessage(tr("Restored the last session"));
    return true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_trajectoryWindow) m_trajectoryWindow->hide();
    if (m_options.restoreGeometry) saveWindowState();
    if (m_options.restoreLastSession && m_options.screenshotPath.isEmpty()) {
        QDir().mkpath(QFileInfo(lastSessionPath()).absolutePath());
        try {
            ::saveSession(lastSessionPath(), currentSession());
        } catch (const SessionError& error) {
            std::fprintf(stderr, "dcscope: %s\n", error.what());
        }
    }
    QMainWindow::closeEvent(event);
}

void MainWindow::createResearchDock() {
    m_researchPanel = new ResearchPanel;
    m_researchPanel->setContextProvider([this] { return researchContext(); });
    m_researchDock = new QDockWidget(tr("Research"), this);
    m_researchDock->setObjectName(QStringLiteral("researchDock"));  // saveState() keys docks by name
    m_researchDock->setWidget(m_researchPanel);
    m_researchDock->setAllowedAreas(Qt::LeftDockWidgetArea | Qt::RightDockWidgetArea);
    addDockWidget(Qt::RightDockWidgetArea, m_researchDock);
    m_researchDock->hide();  // the workbench first; View > Research panels opens it
    connect(m_researchPanel, &ResearchPanel::overlaysChanged, this, &MainWindow::refreshOverlays);
    connect(m_researchPanel, &ResearchPanel::applyOverlayRequested, this, [this](const QString& name) {
        refreshOverlays();  // the overlay for the settings shown now
        if (m_ratioEditor->overlayNames().contains(name)) m_ratioEditor->applyOverlay(name);
    });
    connect(m_researchPanel, &ResearchPanel::statusMessage, this, [this](const QString& message) { statusBar()->showMessage(message, 8000); });
}

ResearchContext MainWindow::researchContext() const {
    ResearchContext context;
    context.modelSpec = m_modelCombo->currentData().toString().toStdString();
    context.device = m_deviceCombo->currentData().toString().toStdString();
    context.solver = currentSolverConfig();
    context.guidance = m_guidanceSpin->value();
    context.seed = static_cast<uint64_t>(m_seedSpin->value());
    context.classChoice = m_classCombo->currentData().toInt();
    context.groundTruthFineSteps = m_fineStepsSpin->value();
    if (m_packageCompensation) context.packageCpr = m_packageCompensation->cpr;
    if (!QString::fromStdString(context.modelSpec).startsWith(QStringLiteral("builtin:"))) {
        QFile manifest(QDir(QString::fromStdString(context.modelSpec)).filePath(QStringLiteral("model.json")));
        if (manifest.open(QIODevice::ReadOnly))
            context.hasQualityModel = QJsonDocument::fromJson(manifest.readAll()).object().contains(QStringLiteral("quality"));
    }
    return context;
}

void MainWindow::startScreenshotResearchJob() {
    static const QStringList tabs = {QStringLiteral("search"), QStringLiteral("cpr"), QStringLiteral("evaluate"), QStringLiteral("sweep")};
    const int tab = int(tabs.indexOf(m_options.researchJob));
    if (tab < 0 || m_researchPanel->isBusy() || m_screenshotTaken) {
        if (tab < 0) std::fprintf(stderr, "dcscope: --research-job must be one of search, cpr, evaluate, sweep\n");
        finishScreenshot(tab >= 0);
        return;
    }
    if (m_screenshotResearchStarted) return;  // one job per scripted run (later results only re-sample)
    m_screenshotResearchStarted = true;
    m_researchDock->show();
    m_researchPanel->tabs()->setCurrentIndex(tab);
    connect(m_researchPanel, &ResearchPanel::jobEnded, this, [this](int, bool succeeded, const QString& message) {
        if (!succeeded) std::fprintf(stderr, "dcscope: research job: %s\n", qPrintable(message));
        QTimer::singleShot(500, this, [this, succeeded] { finishScreenshot(succeeded); });
    });
    switch (tab) {
    case 0: m_researchPanel->startSearch(); break;
    case 1: m_researchPanel->startCprFit(); break;
    case 2: m_researchPanel->startEvaluation(); break;
    default: m_researchPanel->startSweep(); break;
    }
    if (!m_researchPanel->isBusy()) finishScreenshot(false);
}
