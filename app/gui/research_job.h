#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <QString>

#include "dcscope/cancel.h"
#include "dcscope/quality.h"
#include "research.h"
#include "sweep_grid.h"

/// One background job of the research panels: a ratio search, a CPR fit over a grid of searches,
/// a held-out evaluation table or a sweep grid. Built on the GUI thread and then shared read-only;
/// only its cancel token is touched afterwards.
struct ResearchJob {
    enum class Kind { Search, CprFit, Evaluation, Sweep };

    int id = 0;                   ///< assigned by ResearchController::submit()
    Kind kind = Kind::Search;
    std::string modelSpec;        ///< package folder or builtin:NAME
    std::string device = "cpu";
    int intraOpThreads = 0;       ///< 0: automatic
    dcscope::SolverConfig solver; ///< the window's solver (ratios ignored: see the fields below)

    /// Search (its guidance, batch, optimiser and ground truth) and the template of every CPR
    /// grid search. The device is the job's.
    dcscope::RatioSearchSettings search;
    /// CprFit: the grid; each search uses `search` with the grid's guidance.
    std::vector<int> cprNfes;
    std::vector<double> cprGuidances;
    /// Evaluation: rows after the plain one, by name (e.g. "current" -> the curve).
    dcscope::HeldOutSettings heldOut;
    std::vector<std::pair<std::string, std::vector<double>>> dcRatios;
    std::optional<std::vector<double>> cprRatios;
    bool baselines = true;
    int qualitySamples = 0;       ///< > 0: class accuracy and Frechet distance of plain and DC (packages with a quality model)
    /// Sweep
    SweepSpec sweep;

    std::shared_ptr<dcscope::CancelToken> cancel = std::make_shared<dcscope::CancelToken>();
};

/// How far a job is. Sent as std::shared_ptr<const ResearchProgress>.
struct ResearchProgress {
    int jobId = 0;
    int done = 0;                 ///< units of work done (search: steps; CPR: steps over all configurations; ...)
    int total = 0;
    double seconds = 0.0;         ///< since the job started
    QString text;                 ///< one line, e.g. "step 4 of 10" or "nfe 8, cfg 3: step 4 of 8"
    /// Search and CPR fit: the step just searched (for the live loss chart), else empty.
    std::optional<dcscope::SearchStepReport> step;
    int configuration = 0;        ///< CPR fit: which configuration `step` belongs to

    /// Seconds left at the rate so far; negative while unknown.
    double etaSeconds() const { return done > 0 && total > done ? seconds * double(total - done) / double(done) : -1.0; }
};

/// Quality metrics of one evaluated row.
struct ResearchQualityRow {
    std::string name;
    dcscope::QualityReport report;
};

/// What a finished job produced (only the part of its kind is filled). Never changed afterwards.
struct ResearchOutcome {
    int jobId = 0;
    ResearchJob::Kind kind = ResearchJob::Kind::Search;
    double seconds = 0.0;
    dcscope::SolverConfig solver;            ///< the solver searched / evaluated
    double guidance = 1.0;
    std::string modelSource;                 ///< model.info().source, for ratio-file metadata
    dcscope::RatioSearchRun search;          ///< Search
    dcscope::CprGridFit cpr;                 ///< CprFit
    dcscope::HeldOutEvaluation evaluation;   ///< Evaluation
    std::vector<ResearchQualityRow> quality; ///< Evaluation with qualitySamples > 0
    uint64_t heldOutFirstSeed = 0;
    SweepGrid sweep;                         ///< Sweep
};
