#pragma once

#include <QString>
#include <QVector>

#include "dcscope/solver.h"

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
