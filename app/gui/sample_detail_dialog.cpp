#include "sample_detail_dialog.h"

#include <QGridLayout>
#include <QLabel>
#include <QPixmap>

#include <algorithm>
#include <cmath>

namespace {

constexpr int kEnlargedSize = 256;  // pixels of the longer side

QLabel* enlarged(const QImage& image, const QString& placeholder) {
    auto* label = new QLabel;
    label->setAlignment(Qt::AlignCenter);
    label->setMinimumSize(kEnlargedSize, kEnlargedSize);
    if (image.isNull()) {
        label->setText(placeholder);
        return label;
    }
    // A whole-number factor with nearest-neighbour sampling keeps every pixel square and crisp.
    const int factor = std::max(1, kEnlargedSize / std::max(image.width(), image.height()));
    label->setPixmap(QPixmap::fromImage(image.scaled(image.size() * factor, Qt::KeepAspectRatio, Qt::FastTransformation)));
    return label;
}

QString mseText(double mse) { return std::isfinite(mse) ? QString::number(mse, 'e', 2) : QObject::tr("unknown"); }

}  // namespace

SampleDetailDialog::SampleDetailDialog(const Sample& sample, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("sampleDetailDialog"));
    setWindowTitle(tr("Sample %1 (seed %2)").arg(sample.index).arg(sample.seed));
    auto* layout = new QGridLayout(this);
    const QString names[] = {sample.plainName, sample.compensatedName, tr("ground truth")};
    const QImage* images[] = {&sample.plain, &sample.compensated, &sample.groundTruth};
    for (int column = 0; column < 3; ++column) {
        auto* title = new QLabel(names[column]);
        title->setAlignment(Qt::AlignCenter);
        layout->addWidget(title, 0, column);
        layout->addWidget(enlarged(*images[column], tr("no ground truth")), 1, column);
    }
    const QString what = sample.noisyState ? tr("noisy state x_%1").arg(sample.step) : tr("x0-prediction at t_%1").arg(sample.step);
    m_description = tr("Sample %1 · class %2 · datapoint seed %3 · %4 of %5 steps\nfinal MSE against the ground truth: "
                       "%6 plain, %7 DC\nSame start noise and class: dcscope-cli sample --seed %3 --batch 1%8")
                        .arg(sample.index)
                        .arg(sample.className)
                        .arg(sample.seed)
                        .arg(what)
                        .arg(sample.steps)
                        .arg(mseText(sample.plainMse), mseText(sample.compensatedMse),
                             sample.classIndex >= 0 ? QStringLiteral(" --class %1").arg(sample.classIndex) : QString());
    auto* description = new QLabel(m_description);
    description->setObjectName(QStringLiteral("sampleDescription"));
    description->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(description, 2, 0, 1, 3);
}
