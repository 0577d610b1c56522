#include "ratio_curve_editor.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace {

// Plot margins in pixels: room for value labels on the left and step labels below.
constexpr double kMarginLeft = 40.0;
constexpr double kMarginRight = 14.0;
constexpr double kMarginTop = 12.0;
constexpr double kMarginBottom = 22.0;
constexpr double kPointRadius = 5.0;
constexpr double kGrabRadius = 9.0;
constexpr double kNeutralRatio = 1.0;

}  // namespace

RatioCurveEditor::RatioCurveEditor(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void RatioCurveEditor::setRatios(const QVector<double>& ratios) {
    m_ratios = ratios;
    for (int i = 0; i < m_ratios.size(); ++i) m_ratios[i] = isLocked(i) ? kNeutralRatio : clampValue(m_ratios[i]);
    m_dragIndex = -1;
    m_hoverIndex = -1;
    update();
}

void RatioCurveEditor::resizeRatios(int count) {
    QVector<double> resized = m_ratios;
    resized.resize(std::max(0, count));
    for (int i = static_cast<int>(m_ratios.size()); i < resized.size(); ++i) resized[i] = kNeutralRatio;
    setRatios(resized);
}

void RatioCurveEditor::setLockedCount(int count) {
    m_lockedCount = std::max(0, count);
    setRatios(m_ratios);
}

void RatioCurveEditor::setValueRange(double minimum, double maximum) {
    if (!(minimum < maximum)) return;
    m_minimum = minimum;
    m_maximum = maximum;
    setRatios(m_ratios);
}

double RatioCurveEditor::clampValue(double value) const { return std::clamp(value, m_minimum, m_maximum); }

QRectF RatioCurveEditor::plotArea() const {
    return QRectF(kMarginLeft, kMarginTop, std::max(1.0, width() - kMarginLeft - kMarginRight),
                  std::max(1.0, height() - kMarginTop - kMarginBottom));
}

double RatioCurveEditor::yForValue(double value) const {
    const QRectF area = plotArea();
    return area.bottom() - (value - m_minimum) / (m_maximum - m_minimum) * area.height();
}

double RatioCurveEditor::valueForY(double y) const {
    const QRectF area = plotArea();
    return m_minimum + (area.bottom() - y) / area.height() * (m_maximum - m_minimum);
}

QPointF RatioCurveEditor::pointPosition(int index) const {
    if (index < 0 || index >= m_ratios.size()) return {};
    const QRectF area = plotArea();
    // Points sit in the middle of equal columns, so the first and last are never on the border.
    const double column = area.width() / m_ratios.size();
    return QPointF(area.left() + (index + 0.5) * column, yForValue(m_ratios[index]));
}

int RatioCurveEditor::pointAt(const QPointF& position) const {
    int best = -1;
    double bestDistance = kGrabRadius;
    for (int i = 0; i < m_ratios.size(); ++i) {
        const QPointF delta = pointPosition(i) - position;
        const double distance = std::hypot(delta.x(), delta.y());
        if (distance <= bestDistance) {
            best = i;
            bestDistance = distance;
        }
    }
    return best;
}

QSize RatioCurveEditor::sizeHint() const { return QSize(480, 180); }

QSize RatioCurveEditor::minimumSizeHint() const { return QSize(160, 100); }

void RatioCurveEditor::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
    const int index = pointAt(event->position());
    if (index < 0 || isLocked(index)) return;
    m_dragIndex = index;
    m_dragStartValue = m_ratios[index];
    m_dragStartY = event->position().y();
    m_dragChanged = false;
    update();
}

void RatioCurveEditor::mouseMoveEvent(QMouseEvent* event) {
    if (m_dragIndex < 0) {
        const int hover = pointAt(event->position());
        if (hover != m_hoverIndex) {
            m_hoverIndex = hover;
            setCursor(hover >= 0 && !isLocked(hover) ? Qt::SizeVerCursor : Qt::ArrowCursor);
            update();
        }
        return;
    }
    // Relative to the grab point, so grabbing a point off-centre does not make it jump.
    const double perPixel = (m_maximum - m_minimum) / plotArea().height();
    const double value = clampValue(m_dragStartValue - (event->position().y() - m_dragStartY) * perPixel);
    if (value == m_ratios[m_dragIndex]) return;
    m_ratios[m_dragIndex] = value;
    m_dragChanged = true;
    update();
    Q_EMIT ratiosChanging(m_ratios);
}

void RatioCurveEditor::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || m_dragIndex < 0) return QWidget::mouseReleaseEvent(event);
    m_dragIndex = -1;
    update();
    if (m_dragChanged) Q_EMIT ratiosEdited(m_ratios);
    m_dragChanged = false;
}

void RatioCurveEditor::mouseDoubleClickEvent(QMouseEvent* event) {
    const int index = pointAt(event->position());
    if (index < 0 || isLocked(index) || m_ratios[index] == kNeutralRatio) return;
    m_dragIndex = -1;
    m_ratios[index] = kNeutralRatio;
    update();
    Q_EMIT ratiosEdited(m_ratios);
}

void RatioCurveEditor::leaveEvent(QEvent* event) {
    if (m_hoverIndex >= 0) {
        m_hoverIndex = -1;
        update();
    }
    QWidget::leaveEvent(event);
}

void RatioCurveEditor::drawGrid(QPainter& painter, const QRectF& area) const {
    const QColor textColor = palette().color(QPalette::Text);
    QColor gridColor = textColor;
    gridColor.setAlpha(40);
    // Horizontal lines every quarter of the range, labelled on the left.
    for (int i = 0; i <= 4; ++i) {
        const double value = m_minimum + i * (m_maximum - m_minimum) / 4;
        const double y = yForValue(value);
        painter.setPen(QPen(gridColor, 1));
        painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
        painter.setPen(textColor);
        painter.drawText(QRectF(0, y - 8, kMarginLeft - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                         QString::number(value, 'g', 3));
    }
    // rho = 1 is "no compensation": make it stand out.
    if (kNeutralRatio > m_minimum && kNeutralRatio < m_maximum) {
        QColor neutral = textColor;
        neutral.setAlpha(110);
        painter.setPen(QPen(neutral, 1, Qt::DashLine));
        const double y = yForValue(kNeutralRatio);
        painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
    }
    // Step labels; thinned out so they never overlap.
    const int count = static_cast<int>(m_ratios.size());
    if (count == 0) return;
    const double column = area.width() / count;
    const int labelEvery = std::max(1, int(std::ceil(28.0 / column)));
    painter.setPen(textColor);
    for (int i = 0; i < count; i += labelEvery) {
        const double x = area.left() + (i + 0.5) * column;
        painter.drawText(QRectF(x - 20, area.bottom() + 4, 40, kMarginBottom - 4), Qt::AlignHCenter | Qt::AlignTop,
                         QString::number(i));
    }
}

void RatioCurveEditor::drawCurve(QPainter& painter) const {
    if (m_ratios.isEmpty()) return;
    const QColor accent = palette().color(QPalette::Highlight);
    QPainterPath line;
    line.moveTo(pointPosition(0));
    for (int i = 1; i < m_ratios.size(); ++i) line.lineTo(pointPosition(i));
    painter.setPen(QPen(accent, 2));
    painter.setBrush(Qt::NoBrush);
    painter.drawPath(line);

    for (int i = 0; i < m_ratios.size(); ++i) {
        const QPointF center = pointPosition(i);
        const bool active = i == m_dragIndex || i == m_hoverIndex;
        const double radius = active ? kPointRadius + 2 : kPointRadius;
        if (isLocked(i)) {
            painter.setPen(QPen(palette().color(QPalette::PlaceholderText), 1.5));
            painter.setBrush(palette().color(QPalette::Base));
            painter.drawRect(QRectF(center.x() - radius, center.y() - radius, 2 * radius, 2 * radius));
        } else {
            painter.setPen(QPen(palette().color(QPalette::Base), 1.5));
            painter.setBrush(accent);
            painter.drawEllipse(center, radius, radius);
        }
    }
    const int labelled = m_dragIndex >= 0 ? m_dragIndex : m_hoverIndex;
    if (labelled >= 0) {
        const QPointF center = pointPosition(labelled);
        const QString text = QStringLiteral("ρ%1 = %2").arg(labelled).arg(m_ratios[labelled], 0, 'f', 3);
        painter.setPen(palette().color(QPalette::Text));
        const QRectF area = plotArea();
        const double above = center.y() - 26 < area.top() ? center.y() + 10 : center.y() - 26;
        painter.drawText(QRectF(center.x() - 60, above, 120, 16), Qt::AlignCenter, text);
    }
}

void RatioCurveEditor::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    const QRectF area = plotArea();
    drawGrid(painter, area);
    drawCurve(painter);
}
