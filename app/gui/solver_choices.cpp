#include "solver_choices.h"

#include <QCoreApplication>
#include <QSpinBox>

#include "dcscope/ground_truth.h"

QString SolverChoice::label() const {
    dcscope::SolverConfig config;
    config.solver = type;
    config.variant = variant;
    return QString::fromStdString(dcscope::displayName(config));
}

const QVector<SolverChoice>& solverChoices() {
    static const QVector<SolverChoice> choices{
        {dcscope::SolverType::UniPC, dcscope::UniPCVariant::Bh2},
        {dcscope::SolverType::UniPC, dcscope::UniPCVariant::Bh1},
        {dcscope::SolverType::DpmSolverPlusPlus, dcscope::UniPCVariant::Bh2},
        {dcscope::SolverType::Ddim, dcscope::UniPCVariant::Bh2},
    };
    return choices;
}

int solverChoiceIndex(dcscope::SolverType type, dcscope::UniPCVariant variant) {
    const auto& choices = solverChoices();
    for (int i = 0; i < choices.size(); ++i)
        if (choices[i].type == type && (type != dcscope::SolverType::UniPC || choices[i].variant == variant)) return i;
    return -1;
}

QString compensatedSolverName(const QString& solverName) { return solverName + QStringLiteral(" + DC"); }

void configureFineStepsSpin(QSpinBox& spin, int maximum) {
    spin.setRange(dcscope::kDefaultFineSteps, maximum);
    spin.setSingleStep(50);
    spin.setSpecialValueText(QCoreApplication::translate("FineStepsSpin", "auto"));
    spin.setValue(dcscope::kDefaultFineSteps);
}
