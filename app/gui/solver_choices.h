#pragma once

#include <QString>
#include <QVector>

#include "dcscope/solver.h"

class QSpinBox;

/// One entry of the window's solver list. Its label is core's display name, so the window, the
/// CLI's output and exported PNGs name a solver the same way.
struct SolverChoice {
    dcscope::SolverType type;
    dcscope::UniPCVariant variant;
    QString label() const;
};

/// The solvers the window offers, in menu order: UniPC bh2, UniPC bh1, DPM-Solver++, DDIM.
const QVector<SolverChoice>& solverChoices();
/// The index of (type, variant) in solverChoices() (variant ignored for non-UniPC), or -1.
int solverChoiceIndex(dcscope::SolverType type, dcscope::UniPCVariant variant);

/// The name of a solver with dynamic compensation, e.g. "UniPC (bh2) + DC" (everywhere the
/// window names the DC run).
QString compensatedSolverName(const QString& solverName);

/// A spin box for the ground truth's fine steps in total: 0 reads "auto", core's default
/// (dcscope::kDefaultFineSteps, max(200, 20 x NFE)), and is the initial value; else 1..maximum.
void configureFineStepsSpin(QSpinBox& spin, int maximum);
