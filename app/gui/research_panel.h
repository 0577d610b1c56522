#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <QPair>
#include <QString>
#include <QVector>
#include <QWidget>

#include "dcscope/cpr.h"
#include "dcscope/ground_truth.h"
#include "dcscope/solver.h"
#include "research_controller.h"

class ErrorChart;
class MseBarChart;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QSpinBox;
class QTabWidget;
class QTableWidget;

/// What the research panels take from the workbench when a job starts.
struct ResearchContext {
    std::string modelSpec;
    std::string device = "cpu";
    dcscope::SolverConfig solver;  ///< its ratios: the curve in the ratio editor
    double guidance = 1.0;
    uint64_t seed = 0;             ///< the window's seed (the sweep grid samples the same noise)
    int classChoice = -1;          ///< as SamplingRequest::classChoice
    int groundTruthFineSteps = dcscope::kDefaultFineSteps;
    std::optional<dcscope::CprCoefficients> packageCpr;  ///< the package's fitted CPR, if it has one
    bool hasQualityModel = false;  ///< the package has a quality section (class accuracy, Frechet distance)
};

/// The researcher's tools next to the workbench, one tab each: ratio search, CPR (load, predict,
/// fit over a grid of searches), held-out evaluation (table and bar chart, quality metrics) and
/// sweep grids. Every job runs on the ResearchController's thread with a progress bar, an ETA and
/// Cancel; the window keeps sampling meanwhile. Results reach the ratio editor as overlays
/// (overlays()), applied by name through applyOverlayRequested(). GUI thread only.
class ResearchPanel : public QWidget {
    Q_OBJECT

public:
    using ContextProvider = std::function<ResearchContext()>;
    static constexpr const char* kSearchOverlay = "panel search";
    static constexpr const char* kCprOverlay = "CPR (panel)";

    explicit ResearchPanel(QWidget* parent = nullptr);
    ~ResearchPanel() override;

    void setContextProvider(ContextProvider provider) { m_context = std::move(provider); }

    /// The curves to draw dashed in the ratio editor for `steps` and `guidance`: the last search
    /// result (when it was searched for that many steps) and the CPR prediction of the
    /// coefficients loaded or fitted here.
    QVector<QPair<QString, QVector<double>>> overlays(int steps, double guidance) const;

    void startSearch();
    void startCprFit();
    void startEvaluation();
    void startSweep();
    /// Cancels the job of the tab shown (or every job when `all`).
    void cancelJobs(bool all = false);
    bool isBusy() const;

    /// The last search's ratios (empty before one finished), the coefficients in use (loaded or
    /// fitted), the last evaluation as shown in the table.
    QVector<double> searchRatios() const { return m_searchRatios; }
    std::optional<dcscope::CprCoefficients> cprCoefficients() const { return m_cpr; }
    /// The last sweep grid rendered (null before one).
    const SweepGrid* sweepGrid() const { return m_lastSweep ? &m_lastSweep->sweep : nullptr; }
    bool loadCprFile(const QString& path);
    bool saveCprFile(const QString& path);
    bool saveSearchFile(const QString& path);
    bool saveSweepFile(const QString& path);
    QTabWidget* tabs() const { return m_tabs; }

Q_SIGNALS:
    /// overlays() changed (a search finished, coefficients were loaded or fitted).
    void overlaysChanged();
    /// The user asked to make an overlay the curve (one undoable edit in the window).
    void applyOverlayRequested(const QString& name);
    /// A job ended; `kind` is ResearchJob::Kind as int, `succeeded` false when cancelled or failed.
    void jobEnded(int kind, bool succeeded, const QString& message);
    void statusMessage(const QString& message);

private:
    struct JobControls {
        int jobId = 0;  // 0: none running
        QPushButton* start = nullptr;
        QPushButton* cancel = nullptr;
        QProgressBar* progress = nullptr;
        QLabel* status = nullptr;
    };

    QWidget* createSearchTab();
    QWidget* createCprTab();
    QWidget* createEvaluationTab();
    QWidget* createSweepTab();
    JobControls makeJobControls(const QString& startText, const QString& startTip, const QString& name);
    QWidget* jobRow(const JobControls& controls);
    ResearchJob baseJob(ResearchJob::Kind kind, const ResearchContext& context) const;
    dcscope::SearchOptions searchOptions() const;
    int submit(ResearchJob job, JobControls& controls);
    JobControls* controlsFor(int jobId);
    void onProgress(std::shared_ptr<const ResearchProgress> progress);
    void onFinished(std::shared_ptr<const ResearchOutcome> outcome);
    void onEnded(int jobId, bool succeeded, const QString& message);
    void showSearch(const ResearchOutcome& outcome);
    void showCprFit(const ResearchOutcome& outcome);
    void showEvaluation(const ResearchOutcome& outcome);
    void showSweep(const ResearchOutcome& outcome);
    void scoreSearchOnHeldOut();
    void chooseCprFile();
    void chooseCprSavePath();
    void chooseSearchSavePath();
    void chooseSweepSavePath();
    void updateSweepAxes();

    ResearchController m_controller;
    ContextProvider m_context;

    QTabWidget* m_tabs = nullptr;
    // Search
    JobControls m_searchJob;
    QComboBox* m_optimizerCombo = nullptr;
    QSpinBox* m_searchDatapointsSpin = nullptr;
    QSpinBox* m_searchSeedSpin = nullptr;
    QSpinBox* m_budgetSpin = nullptr;
    QSpinBox* m_searchFineSpin = nullptr;
    ErrorChart* m_lossChart = nullptr;
    QPushButton* m_applySearchButton = nullptr;
    QPushButton* m_saveSearchButton = nullptr;
    QPushButton* m_scoreSearchButton = nullptr;
    QLabel* m_searchResultLabel = nullptr;
    QVector<double> m_searchRatios;
    int m_searchSteps = 0;
    std::shared_ptr<const ResearchOutcome> m_lastSearch;
    QVector<QPointF> m_lossBefore, m_lossAfter;
    QVector<QPointF> m_predictionLossBefore, m_predictionLossAfter;  // steps whose loss had the prediction term
    // CPR
    JobControls m_cprJob;
    QLabel* m_cprSourceLabel = nullptr;
    QLineEdit* m_cprNfeEdit = nullptr;
    QLineEdit* m_cprGuidanceEdit = nullptr;
    QSpinBox* m_cprDatapointsSpin = nullptr;
    QTableWidget* m_residualTable = nullptr;
    QPushButton* m_loadCprButton = nullptr;
    QPushButton* m_packageCprButton = nullptr;
    QPushButton* m_saveCprButton = nullptr;
    QPushButton* m_applyCprButton = nullptr;
    std::optional<dcscope::CprCoefficients> m_cpr;
    // Evaluation
    JobControls m_evaluationJob;
    QSpinBox* m_heldOutSpin = nullptr;
    QSpinBox* m_heldOutSeedSpin = nullptr;
    QCheckBox* m_evaluateCurrentCheck = nullptr;
    QCheckBox* m_evaluateCprCheck = nullptr;
    QCheckBox* m_evaluateBaselinesCheck = nullptr;
    QCheckBox* m_qualityCheck = nullptr;
    QSpinBox* m_qualitySamplesSpin = nullptr;
    QTableWidget* m_evaluationTable = nullptr;
    QTableWidget* m_qualityTable = nullptr;
    MseBarChart* m_barChart = nullptr;
    QLabel* m_evaluationInfoLabel = nullptr;
    bool m_scoreSearchNext = false;  // the next evaluation includes the search result
    // Sweep
    JobControls m_sweepJob;
    QComboBox* m_sweepLayoutCombo = nullptr;
    QLineEdit* m_sweepNfeEdit = nullptr;
    QLineEdit* m_sweepGuidanceEdit = nullptr;
    QLabel* m_sweepGuidanceLabel = nullptr;
    QCheckBox* m_sweepCompensatedCheck = nullptr;
    QSpinBox* m_sweepSamplesSpin = nullptr;
    QLabel* m_sweepPreview = nullptr;
    QScrollArea* m_sweepScroll = nullptr;
    QPushButton* m_saveSweepButton = nullptr;
    std::shared_ptr<const ResearchOutcome> m_lastSweep;
};
