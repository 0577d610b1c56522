#pragma once

#include <QImage>
#include <QString>
#include <QVector>
#include <QWidget>

#include "comparison_frame.h"

class ColormapLegend;
class ImageGridView;
class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;


/// The workbench's comparison: three panes (plain | DC | ground truth) over the same noise, a
/// difference row (|x - GT| per solver through one colour map on a scale both share, with a
/// legend), a step scrubber 0..S, a toggle between the x0-prediction at t_k and the noisy state,
/// and a wipe that shows plain and DC in the DC pane. Display only, fed with Qt types; GUI thread.
class ComparisonView : public QWidget {
    Q_OBJECT

public:
    enum class Pane { Plain, Compensated, GroundTruth };

    explicit ComparisonView(QWidget* parent = nullptr);

    /// A finished comparison: frames of steps 0..S, as x0-predictions and as noisy states (the
    /// same count). Shows step S, or keeps the step shown when `keepStep` and it still exists.
    void setFrames(const QVector<ComparisonFrame>& predictions, const QVector<ComparisonFrame>& states, bool keepStep = false);
    /// Back to no frames (the panes show their placeholders); the scrubber is disabled.
    void clearFrames();
    bool hasFrames() const { return !m_predictions.isEmpty(); }
    /// S: the last step of the frames (0 without frames).
    int stepCount() const;
    int step() const { return m_step; }
    void setStep(int step);
    bool showsNoisyState() const { return m_showNoisyState; }
    void setShowNoisyState(bool noisy);
    /// The frame on screen (null without frames).
    const ComparisonFrame* currentFrame() const;

    /// While sampling: shows `images` in one pane at once (the frames stay, the scrubber is off
    /// until setFrames() or clearFrames()).
    void showLive(Pane pane, const QVector<QImage>& images);

    void setCaption(Pane pane, const QString& caption);
    QString caption(Pane pane) const;
    void setPlaceholderText(Pane pane, const QString& text);

    void setColormap(HeatColormap colormap);
    HeatColormap colormap() const { return m_colormap; }
    /// The scale both difference rows share at the shown step (0 without a ground truth).
    double differenceScale() const { return m_differenceScale; }

    /// 0..1: how much of each DC cell shows DC (the rest shows plain); 1 = no wipe.
    void setWipePosition(double position);
    double wipePosition() const;

    ImageGridView* pane(Pane pane) const;
    /// The difference row under the plain (Pane::Plain) or the DC pane (Pane::Compensated).
    ImageGridView* differencePane(Pane pane) const;
    QSlider* stepSlider() const { return m_stepSlider; }
    QCheckBox* noisyStateCheck() const { return m_noisyCheck; }
    QSlider* wipeSlider() const { return m_wipeSlider; }

Q_SIGNALS:
    void stepChanged(int step);
    void displayModeChanged(bool noisyState);
    /// A sample was clicked in any pane or difference row: its index in the batch.
    void sampleClicked(int index);

private:
    void showCurrentFrame();
    void updateStepLabel();

    QVector<ComparisonFrame> m_predictions;
    QVector<ComparisonFrame> m_states;
    int m_step = 0;
    bool m_showNoisyState = false;
    bool m_live = false;
    HeatColormap m_colormap = HeatColormap::Inferno;
    double m_differenceScale = 0.0;

    ImageGridView* m_plainView = nullptr;
    ImageGridView* m_compensatedView = nullptr;
    ImageGridView* m_groundTruthView = nullptr;
    ImageGridView* m_plainDifferenceView = nullptr;
    ImageGridView* m_compensatedDifferenceView = nullptr;
    ColormapLegend* m_legend = nullptr;
    QComboBox* m_colormapCombo = nullptr;
    QSlider* m_stepSlider = nullptr;
    QLabel* m_stepLabel = nullptr;
    QCheckBox* m_noisyCheck = nullptr;
    QSlider* m_wipeSlider = nullptr;
};
