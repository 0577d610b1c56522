#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <QImage>
#include <QString>
#include <QStringList>
#include <QVector>

#include "dcscope/cancel.h"
#include "dcscope/cpr.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"

/// The two axes of a sweep grid (rows x columns), as other generation tools' X/Y plots.
enum class SweepLayout {
    NfeBySolver,    ///< rows NFE n; columns: the solver plain, with DC, DPM-Solver++ (2M), DDIM
    GuidanceByNfe,  ///< rows guidance w; columns NFE n; the solver plain or with DC
};

struct SweepSpec {
    SweepLayout layout = SweepLayout::NfeBySolver;
    dcscope::SolverConfig base;  ///< the window's solver; base.ratios: the curve (length base.steps) or empty
    double guidance = 1.0;       ///< NfeBySolver: the guidance of every cell
    QVector<int> nfes;           ///< NfeBySolver: rows; GuidanceByNfe: columns
    QVector<double> guidances;   ///< GuidanceByNfe: rows
    bool compensated = true;     ///< GuidanceByNfe: the cells sample with DC
    /// DC ratios of a cell: the CPR prediction for its NFE and guidance when given, else the curve
    /// resampled to its NFE over k / (S - 1) (rho_k = 1 for k < dc-order either way).
    std::optional<dcscope::CprCoefficients> cpr;
    uint64_t seed = 0;           ///< sample b is datapoint seed + b (core's makeDatapoints): the window's noise
    int samples = 4;             ///< per cell, 1..16
    int classChoice = -1;        ///< -1 each class in turn, -2 unconditional, else a class index
    int groundTruthFineSteps = 200;
    std::string device = "cpu";  ///< where the model runs (parseDevice)
};

struct SweepCell {
    int row = 0;
    int column = 0;
    QString label;               ///< "NFE 8, UniPC (bh2) + DC"
    dcscope::SolverConfig config;
    double guidance = 1.0;
    double mse = 0.0;            ///< mean over samples and elements of (x_S - x_S^GT)^2
    int modelCalls = 0;
};

struct SweepGrid {
    QImage image;                ///< the labelled grid
    QStringList rowLabels;
    QStringList columnLabels;
    QVector<SweepCell> cells;    ///< rows x columns, row-major
    int modelCalls = 0;          ///< including the ground truths
    double seconds = 0.0;
};

using SweepProgress = std::function<void(int done, int total, const QString& what)>;

/// Throws dcscope::Error(InvalidArgument) naming the field for a spec that cannot be drawn: no
/// rows or columns, an NFE < 1, more than 64 cells, samples outside 1..16, a non-finite guidance.
void validate(const SweepSpec& spec);

/// Samples every cell from the same noise against core's ground truth (one per distinct guidance
/// and time grid, disk-cached) and draws the grid. Cancellable within one model evaluation
/// (dcscope::Error(Cancelled)). Runs on the caller's thread; `model` is used by it alone.
SweepGrid computeSweepGrid(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::CancelToken* cancel,
                           const SweepProgress& progress = {});

/// Writes the grid's image as PNG atomically; on failure `error` gets one line naming the file.
bool saveSweepGrid(const SweepGrid& grid, const QString& path, QString* error);
