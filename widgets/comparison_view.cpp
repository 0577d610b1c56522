#include "comparison_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "colormap_legend.h"
#include "image_grid_view.h"

namespace {

constexpr int kWipeResolution = 100;

}  // namespace

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
    m_plainView = new ImageGridView;
    m_compensatedView = new ImageGridView;
    m_groundTruthView = new ImageGridView;
    m_plainDifferenceView = new ImageGridView;
    m_compensatedDifferenceView = new ImageGridView;
    m_plainView->setObjectName(QStringLiteral("plainView"));
    m_compensatedView->setObjectName(QStringLiteral("compensatedView"));
    m_groundTruthView->setObjectName(QStringLiteral("groundTruthView"));
    m_plainDifferenceView->setObjectName(QStringLiteral("plainDifferenceView"));
    m_compensatedDifferenceView->setObjectName(QStringLiteral("compensatedDifferenceView"));
    m_plainDifferenceView->setCaption(tr("|plain − ground truth|"));
    m_compensatedDifferenceView->setCaption(tr("|DC − ground truth|"));
    for (ImageGridView* view : {m_plainDifferenceView, m_compensatedDifferenceView}) {
        view->setPlaceholderText(tr("Needs the ground truth"));
        view->setToolTip(tr("Per-pixel distance to the ground truth at the shown step; both rows share one colour scale"));
    }
    for (ImageGridView* view : {m_plainView, m_compensatedView, m_groundTruthView, m_plainDifferenceView,
                                m_compensatedDifferenceView}) {
        view->setMinimumSize(100, 90);
        connect(view, &ImageGridView::imageClicked, this, &ComparisonView::sampleClicked);
    }
    m_plainView->setToolTip(tr("The solver without compensation; click a sample to enlarge it"));
    m_compensatedView->setToolTip(tr("The same solver with dynamic compensation (the ratio curve below); click a sample to enlarge it"));
    m_groundTruthView->setToolTip(tr("Many fine steps from the same noise, landing on every coarse time t_k"));

    m_legend = new ColormapLegend;
    m_legend->setObjectName(QStringLiteral("differenceLegend"));
    m_legend->setTitle(tr("|x − GT|, one scale (99th percentile)"));
    m_colormapCombo = new QComboBox;
    m_colormapCombo->setObjectName(QStringLiteral("colormapCombo"));
    m_colormapCombo->addItems(heatColormapNames());
    m_colormapCombo->setToolTip(tr("Colour map of the difference rows (OpenCV)"));
    auto* legendBox = new QWidget;
    auto* legendLayout = new QVBoxLayout(legendBox);
    legendLayout->setContentsMargins(0, 0, 0, 0);
    legendLayout->addStretch(1);
    legendLayout->addWidget(m_legend);
    legendLayout->addWidget(m_colormapCombo);
    legendLayout->addStretch(1);

    m_stepSlider = new QSlider(Qt::Horizontal);
    m_stepSlider->setObjectName(QStringLiteral("stepSlider"));
    m_stepSlider->setRange(0, 0);
    m_stepSlider->setPageStep(1);
    m_stepSlider->setEnabled(false);
    m_stepSlider->setToolTip(tr("Step k shown in every pane (0 = start noise, S = result); the error chart marks it"));
    m_stepLabel = new QLabel;
    m_stepLabel->setObjectName(QStringLiteral("stepLabel"));
    m_stepLabel->setMinimumWidth(90);
    m_noisyCheck = new QCheckBox(tr("Noisy state"));
    m_noisyCheck->setObjectName(QStringLiteral("noisyStateCheck"));
    m_noisyCheck->setToolTip(tr("Show the noisy state x_k instead of the x0-prediction at t_k"));
    m_wipeSlider = new QSlider(Qt::Horizontal);
    m_wipeSlider->setObjectName(QStringLiteral("wipeSlider"));
    m_wipeSlider->setRange(0, kWipeResolution);
    m_wipeSlider->setValue(kWipeResolution);
    m_wipeSlider->setMaximumWidth(140);
    m_wipeSlider->setToolTip(tr("Wipe: the DC pane shows DC left of the split and plain right of it"));

    auto* scrubber = new QHBoxLayout;
    scrubber->addWidget(new QLabel(tr("Step")));
    scrubber->addWidget(m_stepSlider, 1);
    scrubber->addWidget(m_stepLabel);
    scrubber->addWidget(m_noisyCheck);
    scrubber->addSpacing(12);
    scrubber->addWidget(new QLabel(tr("Wipe")));
    scrubber->addWidget(m_wipeSlider);

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(4);
    grid->addWidget(m_plainView, 0, 0);
    grid->addWidget(m_compensatedView, 0, 1);
    grid->addWidget(m_groundTruthView, 0, 2);
    grid->addWidget(m_plainDifferenceView, 1, 0);
    grid->addWidget(m_compensatedDifferenceView, 1, 1);
    grid->addWidget(legendBox, 1, 2);
    grid->addLayout(scrubber, 2, 0, 1, 3);
    grid->setRowStretch(0, 2);
    grid->setRowStretch(1, 1);
    for (int column = 0; column < 3; ++column) grid->setColumnStretch(column, 1);

    connect(m_stepSlider, &QSlider::valueChanged, this, [this](int value) {
        m_step = value;
        showCurrentFrame();
        Q_EMIT stepChanged(value);
    });
    connect(m_noisyCheck, &QCheckBox::toggled, this, &ComparisonView::setShowNoisyState);
    connect(m_wipeSlider, &QSlider::valueChanged, this, [this] { showCurrentFrame(); });
    connect(m_colormapCombo, &QComboBox::currentIndexChanged, this,
            [this](int index) { setColormap(HeatColormap(std::max(0, index))); });
    updateStepLabel();
}

void ComparisonView::setFrames(const QVector<ComparisonFrame>& predictions, const QVector<ComparisonFrame>& states,
                               bool keepStep) {
    const int previousStep = m_step;
    const bool hadFrames = hasFrames();
    m_predictions = predictions;
    m_states = states.size() == predictions.size() ? states : QVector<ComparisonFrame>{};
    m_live = false;
    const int last = stepCount();
    m_step = keepStep && hadFrames && previousStep <= last ? previousStep : last;
    {
        const QSignalBlocker blocker(m_stepSlider);
        m_stepSlider->setRange(0, last);
        m_stepSlider->setValue(m_step);
    }
    m_stepSlider->setEnabled(hasFrames());
    showCurrentFrame();
    if (m_step != previousStep || !hadFrames) Q_EMIT stepChanged(m_step);
}

void ComparisonView::clearFrames() {
    m_predictions.clear();
    m_states.clear();
    m_live = false;
    m_step = 0;
    {
        const QSignalBlocker blocker(m_stepSlider);
        m_stepSlider->setRange(0, 0);
    }
    m_stepSlider->setEnabled(false);
    showCurrentFrame();
}

int ComparisonView::stepCount() const { return std::max(0, int(m_predictions.size()) - 1); }

void ComparisonView::setStep(int step) { m_stepSlider->setValue(std::clamp(step, 0, stepCount())); }

void ComparisonView::setShowNoisyState(bool noisy) {
    if (noisy == m_showNoisyState) return;
    m_showNoisyState = noisy;
    {
        const QSignalBlocker blocker(m_noisyCheck);
        m_noisyCheck->setChecked(noisy);
    }
    if (!m_live) showCurrentFrame();
    Q_EMIT displayModeChanged(noisy);
}

const ComparisonFrame* ComparisonView::currentFrame() const {
    const QVector<ComparisonFrame>& frames = m_showNoisyState && !m_states.isEmpty() ? m_states : m_predictions;
    return m_step >= 0 && m_step < frames.size() ? &frames[m_step] : nullptr;
}

void ComparisonView::showLive(Pane which, const QVector<QImage>& images) {
    if (!m_live) {
        m_live = true;
        m_stepSlider->setEnabled(false);
        m_compensatedView->setWipe({}, 1.0);
    }
    pane(which)->setColumnCount(images.isEmpty() ? 0 : int(std::ceil(std::sqrt(double(images.size())))));
    pane(which)->setImages(images);
    updateStepLabel();
}

void ComparisonView::showCurrentFrame() {
    const ComparisonFrame* frame = currentFrame();
    static const ComparisonFrame kEmpty;
    const ComparisonFrame& shown = frame ? *frame : kEmpty;
    // One column count for all five grids, so sample b sits in the same cell everywhere.
    const int columns = shown.plain.isEmpty() ? 0 : int(std::ceil(std::sqrt(double(shown.plain.size()))));
    for (ImageGridView* view : {m_plainView, m_compensatedView, m_groundTruthView, m_plainDifferenceView,
                                m_compensatedDifferenceView})
        view->setColumnCount(columns);
    m_plainView->setImages(shown.plain);
    m_compensatedView->setImages(shown.compensated);
    m_groundTruthView->setImages(shown.groundTruth);
    m_compensatedView->setWipe(shown.plain, wipePosition());
    m_differenceScale = sharedHeatScale({shown.plainDifference, shown.compensatedDifference});
    m_plainDifferenceView->setImages(colorizeHeatMaps(shown.plainDifference, m_differenceScale, m_colormap));
    m_compensatedDifferenceView->setImages(colorizeHeatMaps(shown.compensatedDifference, m_differenceScale, m_colormap));
    m_legend->setScale(m_differenceScale);
    updateStepLabel();
}

void ComparisonView::updateStepLabel() {
    if (m_live)
        m_stepLabel->setText(tr("sampling…"));
    else if (!hasFrames())
        m_stepLabel->setText(QString());
    else
        m_stepLabel->setText(tr("k = %1 of %2").arg(m_step).arg(stepCount()));
}

void ComparisonView::setCaption(Pane which, const QString& caption) { pane(which)->setCaption(caption); }

QString ComparisonView::caption(Pane which) const { return pane(which)->caption(); }

void ComparisonView::setPlaceholderText(Pane which, const QString& text) { pane(which)->setPlaceholderText(text); }

void ComparisonView::setColormap(HeatColormap colormap) {
    if (colormap == m_colormap) return;
    m_colormap = colormap;
    {
        const QSignalBlocker blocker(m_colormapCombo);
        m_colormapCombo->setCurrentIndex(int(colormap));
    }
    m_legend->setColormap(colormap);
    if (!m_live) showCurrentFrame();
}

void ComparisonView::setWipePosition(double position) {
    m_wipeSlider->setValue(int(std::lround(std::clamp(position, 0.0, 1.0) * kWipeResolution)));
}

double ComparisonView::wipePosition() const { return double(m_wipeSlider->value()) / kWipeResolution; }

ImageGridView* ComparisonView::pane(Pane which) const {
    switch (which) {
    case Pane::Plain: return m_plainView;
    case Pane::Compensated: return m_compensatedView;
    case Pane::GroundTruth: return m_groundTruthView;
    }
    return m_plainView;
}

ImageGridView* ComparisonView::differencePane(Pane which) const {
    return which == Pane::Compensated ? m_compensatedDifferenceView : m_plainDifferenceView;
}
