#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QUndoStack>
#include <QVector>

#include "dcscope/mixture_definition.h"
#include "dcscope/package_compensation.h"
#include "inference_controller.h"
#include "model_summary.h"
#include "sampling_result.h"
#include "session.h"
#include "step_update.h"

class ComparisonView;
class ErrorChart;
class HelpPage;
class QAction;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QImage;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QThread;
class QStackedWidget;
class QDockWidget;
class ResearchPanel;
struct ResearchContext;
class RatioCurveEditor;
class TrajectoryGlView;
struct MixtureDensity;

/// The dcscope workbench: sampler controls on the left; plain | DC | ground truth with their
/// difference maps and a step scrubber (or the 2-D trajectories) in the centre, the editable
/// ratio curve (with undo) and the error curves below. All sampling runs on the
/// InferenceController's thread; this class only builds requests and shows results. Menus,
/// sessions, export and drag-and-drop are in main_window_actions.cpp. GUI thread only.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    struct Options {
        QString modelSpec;           ///< model to open first: package folder or builtin:NAME
        QString defaultPackage;      ///< the default package folder when one was found (listed first)
        QString device = QStringLiteral("cpu");
        QString startupMessage;      ///< status bar text until the first result
        QVector<double> ratios;      ///< initial compensation ratios (empty: all 1); sets the NFE
        QString screenshotPath;      ///< when set: save the window as PNG after the first result, then quit
        QString sessionPath;         ///< a session to open instead of modelSpec/ratios
        bool restoreLastSession = false;  ///< reopen the session the last run ended with
        bool restoreGeometry = false;     ///< window size and splitters from the settings
        bool sampleOnStart = true;
        /// With screenshotPath: open the research dock on this tab (search | cpr | evaluate |
        /// sweep), run its job after the first result and take the screenshot when it ends.
        QString researchJob;
        bool trajectories = false;   ///< image models too open in the trajectory view (View > Trajectories)
        bool shapeMixture = false;   ///< 2-D mixtures open with mixture shaping on, the first mode selected
    };

    explicit MainWindow(const Options& options, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// QSettings key of the model thread preference (0 = automatic).
    static constexpr const char* kThreadsSettingKey = "performance/threads";
    static constexpr const char* kRecentSessionsKey = "sessions/recent";
    static constexpr int kMaxRecentSessions = 8;
    /// Where the session the window closed with is kept (the app's config folder).
    static QString lastSessionPath();

    /// Queues a sampling request from the current controls (superseding any running one).
    void requestSampling();
    /// The latest result shown, or null before the first.
    std::shared_ptr<const SamplingResult> lastResult() const { return m_lastResult; }
    QUndoStack& undoStack() { return m_undoStack; }

    /// Every setting as a session (what Save session writes).
    Session currentSession() const;
    /// Sets every control from `session` and samples. Unknown models are added to the list.
    void applySession(const Session& session);
    /// Opens a session file; a bad one is reported in one line and changes nothing. Returns success.
    bool openSessionFile(const QString& path);
    /// Writes the session atomically; on failure reports it and returns false.
    bool saveSessionFile(const QString& path);
    /// Opens a model package folder, a mixture model file or builtin:NAME, as File > Open does.
    void openModel(const QString& spec);
    /// Writes the mixture shown in the trajectory view (as edited) as a mixture model file,
    /// atomically, and opens it as the model, keeping the curve. Returns success.
    bool saveMixtureModel(const QString& path);
    /// The mixture the user shaped, if any (null: the model's own).
    std::shared_ptr<const dcscope::MixtureDefinition> editedMixture() const { return m_editedMixture; }
    /// Loads a ratio file (both formats of the spec) as the curve (one undoable edit) and as an
    /// overlay. A bad file is reported in one line. Returns success.
    bool loadRatioFile(const QString& path);
    /// Saves the curve as a dcscope ratio file with its solver metadata, or as the reference's
    /// plain JSON list (`plainList`). Returns success.
    bool saveRatioFile(const QString& path, bool plainList = false);
    /// Writes the shown comparison's denoising as a video on a thread of its own, with progress
    /// in the status bar; Esc (Cancel) stops it. Returns false when one is running or nothing is shown.
    bool startVideoExport(const QString& path);
    bool isExportingVideo() const;
    /// Opens whatever a dropped path is: a package folder, a session, a ratio file or a PNG export.
    void openDroppedPath(const QString& path);
    /// Restores the settings a dcscope PNG was made with (its "dcscope" chunk) and samples them.
    bool openPngSettings(const QString& path);
    /// Writes the comparison as shown (panes, difference rows, captions) as PNG with the DC run's
    /// reproduction chunks. Returns success (failures are reported in one line).
    bool writeComparisonPng(const QString& path);
    /// Writes one pane's images at the step shown (the export grid) with its run's chunks.
    bool writePanePng(const QString& path, int pane);
    /// The research panels (search, CPR, evaluation, sweep) in their dock (View > Research panels).
    ResearchPanel* researchPanel() const { return m_researchPanel; }
    /// The solver the controls describe (its ratios: the curve), as every request uses it.
    dcscope::SolverConfig currentSolverConfig() const;

Q_SIGNALS:
    /// A request built from the controls was queued (for the latency benchmark and tests).
    void samplingRequested(int requestId);
    /// Samples of that request are on screen; `complete`: with the ground truth and error curves.
    void resultShown(int requestId, bool complete);
    /// A video export ended: written, or not (cancelled or failed, with the reason).
    void videoExportFinished(bool written, const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    QWidget* createControlPanel();
    QWidget* createCentralArea();
    /// Puts the trajectory view where the starting model needs it: in the panes' place for a 2-D
    /// model (its only view), in a window of its own for an image model. A window holding an
    /// OpenGL widget, even a hidden one, has Qt compose every repaint of every widget through
    /// OpenGL; on a software renderer that takes the cores the model needs.
    void placeTrajectoryView();
    /// Shows or hides the trajectory view wherever it was placed.
    void showTrajectories(bool on);
    /// Whether the trajectory view is the one choosing the step shown: in the panes' place, or in
    /// its own window beside panes without frames (2-D models have none).
    bool stepFollowsTrajectoryView() const;
    void connectControls();
    void populateModels(const Options& options);
    void populateDevices();
    int addModelEntry(const QString& spec);
    void applyModelDefaults();
    void onModelChanged();
    void onRatiosChanging();
    void onRatiosEdited();
    void setCurveFromProgram(const QVector<double>& ratios);
    void applyUndoneCurve(const QVector<double>& ratios);
    void loadPackageCompensation();
    /// Built-in models ship no ratios: while the curve follows "the model's ratios", they come
    /// from a quick search (core, cached on disk).
    bool wantsQuickSearch() const;
    void takeQuickSearchRatios(const SamplingResult& result);
    void applyPackageRatios();
    void refreshOverlays();
    /// Submits the edit that waited for the run in flight, if any; whether it did.
    bool startPendingEdit();
    void onSolverChanged();
    void onModelLoaded(std::shared_ptr<const ModelSummary> summary);
    void onStepProgress(std::shared_ptr<const StepUpdate> update);
    void applyPendingStep();
    void onSamplesReady(std::shared_ptr<const SamplingResult> result);
    void onFinished(std::shared_ptr<const SamplingResult> result);
    void showSamples(const std::shared_ptr<const SamplingResult>& result, bool complete);
    void showErrorCurves(const SamplingResult& result);
    void updateCaptions(const SamplingResult* result);
    void onCancelled(int requestId);
    void onFailed(int requestId, const QString& message);
    void onStepShown(int step);
    int shownStep() const;  // of the view on screen (panes or trajectories)
    void setRunning(bool running);
    QString resultStatus(const SamplingResult& result) const;
    void finishScreenshot(bool succeeded);
    /// This window, with the trajectory window beside it where that is open.
    QImage screenshot();
    void showSampleDetail(int index);

    // main_window_actions.cpp
    void createMenus();
    void chooseThreadCount();
    void showAbout();
    void showUsage();
    /// Help > How DC-Solver works: the one page, created on first use.
    void showHelpPage();
    /// Performs a `dcscope:ACTION` link of the help page with the window's own controls.
    void onHelpAction(const QString& action);
    /// The help page's live line: the result on screen (after each one shown).
    void updateHelpSummary();
    /// Help's "the model's ratios": follow the package's CPR (or a built-in model's quick search) again.
    void followModelRatios();
    void chooseModelFolder();
    void chooseMixtureModelToOpen();
    void chooseMixtureModelPath();
    /// What the trajectory view shows of a 2-D mixture, as a model file's definition.
    static dcscope::MixtureDefinition mixtureDefinition(const MixtureDensity& mixture, const QString& name);
    /// The trajectory view's mixture edit: sampled as the model (latest wins, as ratio edits).
    void onMixtureEdited(const MixtureDensity& mixture);
    void chooseSessionToOpen();
    void saveSession();
    void chooseSessionPath();
    void chooseRatioFileToLoad();
    void chooseRatioFileToSave(bool plainList);
    /// Exports the images of one pane (0 plain, 1 DC, 2 ground truth) at the step shown.
    void exportPane(int pane);
    void exportComparison();
    void rememberRecentSession(const QString& path);
    void refreshRecentSessionsMenu();
    void createResearchDock();
    void startScreenshotResearchJob();
    ResearchContext researchContext() const;
    void restoreWindowState();
    void saveWindowState();
    /// Where the user left the trajectory window (placeTrajectoryView creates it later than the
    /// main window's own state is restored).
    void restoreTrajectoryWindowGeometry();
    bool restoreLastSession();

    InferenceController m_controller;
    int m_threadsSetting = 0;        // 0: automatic (OMP_NUM_THREADS or every available CPU)
    QString m_threadsDescription;    // as the worker last reported it
    Options m_options;
    int m_currentRequestId = 0;
    std::shared_ptr<const StepUpdate> m_pendingStep;  // newest unshown progress; older ones are dropped
    QTimer m_stepRepaintTimer;
    std::shared_ptr<const SamplingResult> m_lastResult;
    std::shared_ptr<const SamplingResult> m_shownResult;  // samples on screen (maybe without the ground truth yet)
    std::optional<dcscope::PackageCompensation> m_packageCompensation;  // the selected package's entry
    bool m_followPackageRatios = false;  // ratios are the package's CPR prediction (no user edit yet)
    QVector<double> m_requestedRatios;   // of the latest request
    QVector<double> m_committedRatios;   // the curve before the edit in progress (undo's "before")
    QUndoStack m_undoStack;
    bool m_awaitingSamples = false;      // the latest request's samples are not on screen yet
    bool m_ratioEditPending = false;     // a ratio or mixture edit arrived meanwhile; sampled once they are
    std::shared_ptr<const dcscope::MixtureDefinition> m_editedMixture;     // the user's shape of the model's mixture
    std::shared_ptr<const dcscope::MixtureDefinition> m_requestedMixture;  // of the latest request
    bool m_keepCurveOnModelChange = false;
    bool m_shapeMixtureStarted = false;  // Options::shapeMixture was applied
    QString m_loadedModelName;  // ModelInfo::name of the model on screen  // a saved mixture reopened as the model keeps the user's curve
    QString m_currentSolverName;  // of the latest request, for labelling its progress
    bool m_screenshotTaken = false;
    bool m_screenshotResearchStarted = false;
    QString m_sessionPath;        // the session file Save writes to (empty: ask)
    QString m_loadedModelSpec;    // the model the worker holds (the last one that loaded)
    QVector<double> m_loadedModelRatios;  // that model's curve, put back if another fails to load
    bool m_loadedModelFollowsPackage = false;
    QVector<Session::Overlay> m_fileOverlays;  // loaded ratio files, kept as overlays
    QVector<double> m_quickSearchRatios;       // what the last quick search found for these settings

    QComboBox* m_modelCombo = nullptr;
    QComboBox* m_deviceCombo = nullptr;
    QComboBox* m_solverCombo = nullptr;
    QSpinBox* m_orderSpin = nullptr;
    QComboBox* m_gridCombo = nullptr;
    QSpinBox* m_nfeSpin = nullptr;
    QSpinBox* m_dcOrderSpin = nullptr;
    QDoubleSpinBox* m_guidanceSpin = nullptr;
    QComboBox* m_classCombo = nullptr;
    QSpinBox* m_batchSpin = nullptr;
    QSpinBox* m_seedSpin = nullptr;
    QPushButton* m_randomSeedButton = nullptr;
    QCheckBox* m_seedLockCheck = nullptr;
    QCheckBox* m_groundTruthCheck = nullptr;
    QSpinBox* m_fineStepsSpin = nullptr;
    QPushButton* m_sampleButton = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QPushButton* m_resetRatiosButton = nullptr;
    QProgressBar* m_progressBar = nullptr;
    QLabel* m_modelInfoLabel = nullptr;
    QMenu* m_recentMenu = nullptr;
    QAction* m_noisyStateAction = nullptr;
    QAction* m_shapeMixtureAction = nullptr;      // View > Shape the mixture (2-D mixtures)
    QAction* m_saveMixtureAction = nullptr;
    QAction* m_projectionAction = nullptr;        // image models: the trajectory view instead of the panes
    QThread* m_videoThread = nullptr;             // the running video export, if any
    std::shared_ptr<std::atomic<bool>> m_videoCancel;  // set to stop it

    QSplitter* m_mainSplitter = nullptr;
    QSplitter* m_centralSplitter = nullptr;
    QStackedWidget* m_viewStack = nullptr;
    ComparisonView* m_comparison = nullptr;
    TrajectoryGlView* m_trajectoryView = nullptr;
    std::unique_ptr<QWidget> m_trajectoryWindow;  // holds the view for image models; null when it is in the panes' place
    RatioCurveEditor* m_ratioEditor = nullptr;
    ErrorChart* m_errorChart = nullptr;
    QGroupBox* m_errorBox = nullptr;
    QLabel* m_errorInfoLabel = nullptr;
    HelpPage* m_helpPage = nullptr;  // child of the window; hidden, not deleted, when closed
    QDockWidget* m_researchDock = nullptr;
    ResearchPanel* m_researchPanel = nullptr;
};
