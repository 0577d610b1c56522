#pragma once

#include <QColor>
#include <QPointF>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QDoubleSpinBox;

/// Plots compensation ratios rho_0..rho_{S-1} as points joined by lines and lets the user edit
/// them: drag a point vertically; Left/Right select a point, Up/Down move it by 0.05 (0.01 with
/// Shift); double-click or Enter types a value. The first lockedCount() points are fixed at 1
/// (dynamic compensation needs that much history first) and drawn as hollow grey squares.
/// Overlays (other curves, e.g. a fitted prediction or a loaded file) are drawn dashed and listed
/// above the plot; clicking an overlay's name applies it. GUI thread only.
class RatioCurveEditor : public QWidget {
    Q_OBJECT

public:
    explicit RatioCurveEditor(QWidget* parent = nullptr);

    /// `ratios` resampled to `count` points over the normalised step position k / (count - 1),
    /// linearly between neighbours (so a curve keeps its shape when S changes).
    static QVector<double> resampled(const QVector<double>& ratios, int count);

    /// Replaces the ratios; values are clamped to the value range and locked points set to 1.
    /// Emits nothing (only user edits do).
    void setRatios(const QVector<double>& ratios);
    const QVector<double>& ratios() const { return m_ratios; }
    /// Resamples the curve to `count` points (see resampled()); emits nothing.
    void resizeRatios(int count);

    void setLockedCount(int count);
    int lockedCount() const { return m_lockedCount; }

    /// Range a point can be dragged over (default 0..2); requires minimum < maximum.
    void setValueRange(double minimum, double maximum);
    double minimumValue() const { return m_minimum; }
    double maximumValue() const { return m_maximum; }

    /// The point keyboard edits act on (-1: none).
    int selectedIndex() const { return m_selectedIndex; }
    void setSelectedIndex(int index);
    /// Whether the inline value editor (double-click or Enter) is open.
    bool isEnteringValue() const;
    /// The inline value editor, while open (for tests; null otherwise).
    QDoubleSpinBox* valueEditor() const;

    /// Adds or replaces the dashed overlay `name` (values are resampled to the current count).
    void setOverlay(const QString& name, const QVector<double>& values, const QColor& color);
    void removeOverlay(const QString& name);
    void clearOverlays();
    QStringList overlayNames() const;
    QVector<double> overlayValues(const QString& name) const;
    /// Replaces the curve by the overlay (resampled, locked points at 1) as one user edit.
    void applyOverlay(const QString& name);
    /// Where the overlay's clickable name is drawn (empty for an unknown name).
    QRectF overlayLabelRect(const QString& name) const;

    /// The rectangle the values are mapped into, in widget coordinates.
    QRectF plotArea() const;
    /// Where point `index` is drawn.
    QPointF pointPosition(int index) const;
    /// Index of the point within grabbing distance of `position`, or -1.
    int pointAt(const QPointF& position) const;
    /// The text shown for point `index` (its tooltip and drag label), e.g. "ρ3 = 0.950".
    QString pointLabel(int index) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    /// While dragging: every change of the dragged point.
    void ratiosChanging(const QVector<double>& ratios);
    /// When an edit is complete: mouse released after a change, a key press, a typed value or
    /// an applied overlay. Each emission is one undoable edit.
    void ratiosEdited(const QVector<double>& ratios);

protected:
    bool event(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    struct Overlay {
        QString name;
        QVector<double> values;  // as given; drawn resampled to the current count
        QColor color;
    };
    bool isLocked(int index) const { return index < m_lockedCount; }
    double yForValue(double value) const;
    double valueForY(double y) const;
    double clampValue(double value) const;
    void setPointValue(int index, double value);
    void beginValueEntry(int index);
    void finishValueEntry(bool accept);
    int nextFreeIndex(int from, int direction) const;
    int overlayAt(const QPointF& position) const;
    void drawGrid(QPainter& painter, const QRectF& area) const;
    void drawOverlays(QPainter& painter) const;
    void drawCurve(QPainter& painter) const;

    QVector<double> m_ratios;
    QVector<Overlay> m_overlays;
    int m_lockedCount = 0;
    double m_minimum = 0.0;
    double m_maximum = 2.0;
    int m_hoverIndex = -1;
    int m_selectedIndex = -1;
    int m_dragIndex = -1;
    double m_dragStartValue = 1.0;  // value of the dragged point when the drag began
    double m_dragStartY = 0.0;      // mouse y when the drag began; drags are relative to it
    bool m_dragChanged = false;
    QDoubleSpinBox* m_valueEditor = nullptr;  // child, shown while a value is typed
    int m_valueEditorIndex = -1;
};
