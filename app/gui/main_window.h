#pragma once

#include <memory>
#include <optional>

#include <QMainWindow>
#include <QString>
#include <QTimer>
#include <QVector>

#include "dcscope/cpr.h"
#include "inference_controller.h"
#include "model_summary.h"
#include "sampling_result.h"
#include "step_update.h"

class ErrorChart;
class ImageGridView;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class RatioCurveEditor;
class TrajectoryPlot2D;

/// The dcscope window: sampler controls on the left; the plain and the compensated samples side
/// by side (or the 2-D trajectories) in the centre, with the editable ratio curve and the error
/// curves below. All sampling runs on the InferenceController's thread; this class only builds
/// requests and shows results. GUI thread only.
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
        bool sampleOnStart = true;
    };

    explicit MainWindow(const Options& options, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// QSettings key of the model thread preference (0 = automatic).
    static constexpr const char* kThreadsSettingKey = "performance/threads";

    /// Queues a sampling request from the current controls (superseding any running one).
    void requestSampling();
    /// The latest result shown, or null before the first.
    std::shared_ptr<const SamplingResult> lastResult() const { return m_lastResult; }

Q_SIGNALS:
    /// A request built from the controls was queued (for the latency benchmark and tests).
    void samplingRequested(int requestId);
    /// Samples of that request are on screen; `complete`: with the ground truth and error curves.
    void resultShown(int requestId, bool complete);

private:
    QWidget* createControlPanel();
    QWidget* createCentralArea();
    void connectControls();
    void populateModels(const Options& options);
    void applyModelDefaults();
    void onModelChanged();
    void onRatiosEdited();
    void loadPackageRatios();
    void applyPackageRatios();
    void samplesShown();
    void onSolverChanged();
    void onModelLoaded(std::shared_ptr<const ModelSummary> summary);
    void onStepProgress(std::shared_ptr<const StepUpdate> update);
    void applyPendingStep();
    void onSamplesReady(std::shared_ptr<const SamplingResult> result);
    void onFinished(std::shared_ptr<const SamplingResult> result);
    void showSamples(const SamplingResult& result);
    void showErrorCurves(const SamplingResult& result);
    void onCancelled(int requestId);
    void onFailed(int requestId, const QString& message);
    void setRunning(bool running);
    QString resultStatus(const SamplingResult& result) const;
    void finishScreenshot(bool succeeded);

    void createMenus();
    void chooseThreadCount();
    void showAbout();

    InferenceController m_controller;
    int m_threadsSetting = 0;        // 0: automatic (OMP_NUM_THREADS or every available CPU)
    QString m_threadsDescription;    // as the worker last reported it
    Options m_options;
    int m_currentRequestId = 0;
    std::shared_ptr<const StepUpdate> m_pendingStep;  // newest unshown progress; older ones are dropped
    QTimer m_stepRepaintTimer;
    std::shared_ptr<const SamplingResult> m_lastResult;
    std::optional<dcscope::CprCoefficients> m_packageCpr;  // the selected package's fitted coefficients
    bool m_followPackageRatios = false;  // ratios are the package's CPR prediction (no user edit yet)
    QVector<double> m_requestedRatios;   // of the latest request
    bool m_awaitingSamples = false;      // the latest request's samples are not on screen yet
    bool m_ratioEditPending = false;     // a ratio edit arrived meanwhile; sampled once they are
    QString m_currentSolverName;  // of the latest request, for labelling its progress
    bool m_screenshotTaken = false;

    QComboBox* m_modelCombo = nullptr;
    QComboBox* m_solverCombo = nullptr;
    QSpinBox* m_orderSpin = nullptr;
    QComboBox* m_gridCombo = nullptr;
    QSpinBox* m_nfeSpin = nullptr;
    QSpinBox* m_dcOrderSpin = nullptr;
    QDoubleSpinBox* m_guidanceSpin = nullptr;
    QComboBox* m_classCombo = nullptr;
    QSpinBox* m_batchSpin = nullptr;
    QSpinBox* m_seedSpin = nullptr;
    QCheckBox* m_groundTruthCheck = nullptr;
    QSpinBox* m_fineStepsSpin = nullptr;
    QPushButton* m_sampleButton = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QPushButton* m_resetRatiosButton = nullptr;
    QProgressBar* m_progressBar = nullptr;
    QLabel* m_modelInfoLabel = nullptr;

    QStackedWidget* m_viewStack = nullptr;
    ImageGridView* m_plainView = nullptr;
    ImageGridView* m_compensatedView = nullptr;
    ImageGridView* m_groundTruthView = nullptr;
    TrajectoryPlot2D* m_trajectoryPlot = nullptr;
    RatioCurveEditor* m_ratioEditor = nullptr;
    ErrorChart* m_errorChart = nullptr;
    QGroupBox* m_errorBox = nullptr;
    QLabel* m_errorInfoLabel = nullptr;
};
