#pragma once

#include <cstdint>
#include <limits>

#include <QDialog>
#include <QImage>
#include <QString>

/// One sample enlarged in all three panes (plain | DC | ground truth) at the step shown, with its
/// class, seed, per-sample MSE and the dcscope-cli command that reproduces its start noise.
/// Non-modal; GUI thread.
class SampleDetailDialog : public QDialog {
    Q_OBJECT

public:
    struct Sample {
        int index = 0;
        uint64_t seed = 0;         ///< its datapoint seed
        QString className;
        int classIndex = -1;       ///< -1: unconditional
        int step = 0;
        int steps = 0;
        bool noisyState = false;
        QImage plain;
        QImage compensated;
        QImage groundTruth;        ///< null without a ground truth
        QString plainName;
        QString compensatedName;
        double plainMse = std::numeric_limits<double>::quiet_NaN();
        double compensatedMse = std::numeric_limits<double>::quiet_NaN();
    };

    explicit SampleDetailDialog(const Sample& sample, QWidget* parent = nullptr);

    /// The text under the images (for tests).
    QString description() const { return m_description; }

private:
    QString m_description;
};
