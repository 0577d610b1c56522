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
#include "dcscope/ground_truth.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"

/// The two axes of a sweep grid (rows x columns), as other generation tools' X/Y plots.
enum class SweepLayout {
    /// rows "NFE n"; columns: the solver plain, with DC, then the CLI's held-out baselines
    /// DPM-Solver++ (2M) and DDIM (a baseline that is the base solver itself is left out)
    NfeBySolver,
    GuidanceByNfe,  ///< rows "guidance w"; columns "NFE n"; the solver plain or with DC
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
    int groundTruthFineSteps = dcscope::kDefaultFineSteps;  ///< core's computeGroundTruth (0: its default), DPM-Solver++ (2M), disk-cached
    std::string device = "cpu";  ///< where `model` is (parseDevice): the noise is drawn on the CPU and moved there
};

struct SweepCell {
    int row = 0;
    int column = 0;
    QString label;               ///< "NFE 8, UniPC (bh2) + DC"
    dcscope::SolverConfig config;  ///< what the cell ran (steps = its NFE; ratios: its DC ratios or empty)
    double guidance = 1.0;
    double mse = 0.0;            ///< mean over samples and elements of (x_S - x_S^GT)^2
    int modelCalls = 0;          ///< of the cell's own run (its ground truth is counted once, in the grid)
    int plainColumn = -1;        ///< DC cells of NfeBySolver: the column of the same run without DC
};

struct SweepGrid {
    QImage image;                ///< the labelled grid
    QStringList rowLabels;
    QStringList columnLabels;
    QVector<SweepCell> cells;    ///< rows x columns, row-major
    int modelCalls = 0;          ///< including the ground truths (0 for one read from the disk cache)
    int groundTruths = 0;        ///< distinct (guidance, time grid) ground truths the cells share
    double seconds = 0.0;
};

using SweepProgress = std::function<void(int done, int total, const QString& what)>;

/// Throws dcscope::Error(InvalidArgument) naming the field for a spec that cannot be drawn: no
/// rows or columns, an NFE < 1, more than 64 cells, samples outside 1..16, a non-finite guidance,
/// fine steps < 1, a class choice below -2. Any thread.
void validate(const SweepSpec& spec);

/// Samples every cell from the same noise (datapoints seed .. seed + samples - 1) against core's
/// ground truth (one per distinct guidance and time grid, disk-cached) and draws the grid.
/// `progress` (may be empty) is called before every cell and once before drawing. Cancellable
/// within one model evaluation (dcscope::Error(Cancelled)); validate()'s errors, a class the model
/// lacks and core's solver errors are Error(InvalidArgument), CPR coefficients that give a
/// non-finite ratio Error(NonFinite). Runs on the caller's thread (no
/// widgets: QPainter on a QImage); `model` is used by it alone meanwhile.
SweepGrid computeSweepGrid(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::CancelToken* cancel,
                           const SweepProgress& progress = {});

/// Writes the grid's image as PNG atomically (QSaveFile: an existing file is replaced only by a
/// complete one); on failure `error` (may be null) gets one line naming the file.
bool saveSweepGrid(const SweepGrid& grid, const QString& path, QString* error);
