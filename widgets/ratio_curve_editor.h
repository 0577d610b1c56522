#pragma once

#include <QPointF>
#include <QRectF>
#include <QVector>
#include <QWidget>

/// Plots compensation ratios rho_0..rho_{S-1} as points joined by lines and lets the user drag
/// each point vertically. The first lockedCount() points are fixed at 1 (dynamic compensation
/// needs that much history first) and drawn as hollow grey squares. Double-clicking a point
/// resets it to 1. GUI thread only.
class RatioCurveEditor : public QWidget {
    Q_OBJECT

public:
    explicit RatioCurveEditor(QWidget* parent = nullptr);

    /// Replaces the ratios; values are clamped to the value range and locked points set to 1.
    /// Emits nothing (only user edits do).
    void setRatios(const QVector<double>& ratios);
    const QVector<double>& ratios() const { return m_ratios; }
    /// Resizes to `count` points, keeping existing values and filling new points with 1.
    void resizeRatios(int count);

    void setLockedCount(int count);
    int lockedCount() const { return m_lockedCount; }

    /// Range a point can be dragged over (default 0..2); requires minimum < maximum.
    void setValueRange(double minimum, double maximum);
    double minimumValue() const { return m_minimum; }
    double maximumValue() const { return m_maximum; }

    /// The rectangle the values are mapped into, in widget coordinates.
    QRectF plotArea() const;
    /// Where point `index` is drawn.
    QPointF pointPosition(int index) const;
    /// Index of the point within grabbing distance of `position`, or -1.
    int pointAt(const QPointF& position) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    /// While dragging: every change of the dragged point.
    void ratiosChanging(const QVector<double>& ratios);
    /// When an edit is complete (mouse released after a change, or a reset by double-click).
    void ratiosEdited(const QVector<double>& ratios);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    bool isLocked(int index) const { return index < m_lockedCount; }
    double yForValue(double value) const;
    double valueForY(double y) const;
    double clampValue(double value) const;
    void drawGrid(QPainter& painter, const QRectF& area) const;
    void drawCurve(QPainter& painter) const;

    QVector<double> m_ratios;
    int m_lockedCount = 0;
    double m_minimum = 0.0;
    double m_maximum = 2.0;
    int m_hoverIndex = -1;
    int m_dragIndex = -1;
    double m_dragStartValue = 1.0;  // value of the dragged point when the drag began
    double m_dragStartY = 0.0;      // mouse y when the drag began; drags are relative to it
    bool m_dragChanged = false;
};
