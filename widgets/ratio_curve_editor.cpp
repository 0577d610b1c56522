#include "ratio_curve_editor.h"

#include <QDoubleSpinBox>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <utility>

namespace {

// Plot margins in pixels: room for value labels on the left and step labels below.
constexpr double kMarginLeft = 40.0;
constexpr double kMarginRight = 14.0;
constexpr double kMarginTop = 12.0;
constexpr double kMarginBottom = 22.0;
constexpr double kPointRadius = 5.0;
constexpr double kGrabRadius = 9.0;
constexpr double kNeutralRatio = 1.0;
constexpr double kKeyStep = 0.05;
constexpr double kFineKeyStep = 0.01;
constexpr double kOverlayRowHeight = 18.0;  // the overlays' clickable names, above the plot

}  // namespace

RatioCurveEditor::RatioCurveEditor(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

QVector<double> RatioCurveEditor::resampled(const QVector<double>& ratios, int count) {
    QVector<double> result(std::max(0, count), kNeutralRatio);
    if (ratios.isEmpty() || count <= 0) return result;
    if (ratios.size() == count) return ratios;
    for (int i = 0; i < count; ++i) {
        // i * (n - 1) first: whole-number products keep positions that land on a point exact.
        const double position = count == 1 ? 0.0 : double(i * (ratios.size() - 1)) / (count - 1);
        const int below = std::min(int(std::floor(position)), int(ratios.size()) - 1);
        const int above = std::min(below + 1, int(ratios.size()) - 1);
        const double weight = position - below;
        result[i] = (1.0 - weight) * ratios[below] + weight * ratios[above];
    }
    return result;
}

void RatioCurveEditor::setRatios(const QVector<double>& ratios) {
    finishValueEntry(false);
    m_ratios = ratios;
    for (int i = 0; i < m_ratios.size(); ++i) m_ratios[i] = isLocked(i) ? kNeutralRatio : clampValue(m_ratios[i]);
    m_dragIndex = -1;
    m_hoverIndex = -1;
    if (m_selectedIndex >= m_ratios.size() || isLocked(m_selectedIndex)) m_selectedIndex = -1;
    update();
}

void RatioCurveEditor::resizeRatios(int count) {
    if (count == m_ratios.size()) return;
    setRatios(resampled(m_ratios, count));
}

void RatioCurveEditor::setSelectedIndex(int index) {
    m_selectedIndex = index >= 0 && index < m_ratios.size() && !isLocked(index) ? index : -1;
    update();
}

void RatioCurveEditor::setPointValue(int index, double value) {
    const double clamped = clampValue(value);
    if (index < 0 || index >= m_ratios.size() || isLocked(index) || clamped == m_ratios[index]) return;
    m_ratios[index] = clamped;
    update();
    Q_EMIT ratiosEdited(m_ratios);
}

int RatioCurveEditor::nextFreeIndex(int from, int direction) const {
    const int count = int(m_ratios.size());
    if (count <= m_lockedCount) return -1;
    if (from < 0) return direction > 0 ? m_lockedCount : count - 1;
    return std::clamp(from + direction, m_lockedCount, count - 1);
}

void RatioCurveEditor::keyPressEvent(QKeyEvent* event) {
    const double step = event->modifiers() & Qt::ShiftModifier ? kFineKeyStep : kKeyStep;
    switch (event->key()) {
    case Qt::Key_Left: setSelectedIndex(nextFreeIndex(m_selectedIndex, -1)); break;
    case Qt::Key_Right: setSelectedIndex(nextFreeIndex(m_selectedIndex, +1)); break;
    case Qt::Key_Up:
    case Qt::Key_Down:
        if (m_selectedIndex < 0) setSelectedIndex(nextFreeIndex(-1, +1));
        if (m_selectedIndex >= 0) {
            // Rounded to the step, so repeated presses land on round values (0.95, not 0.9500001).
            const double moved = m_ratios[m_selectedIndex] + (event->key() == Qt::Key_Up ? step : -step);
            setPointValue(m_selectedIndex, std::round(moved / kFineKeyStep) * kFineKeyStep);
        }
        break;
    case Qt::Key_Return:
    case Qt::Key_Enter:
        if (m_selectedIndex >= 0) beginValueEntry(m_selectedIndex);
        break;
    default: QWidget::keyPressEvent(event); return;
    }
    event->accept();
}

bool RatioCurveEditor::isEnteringValue() const { return m_valueEditor && m_valueEditor->isVisible(); }

QDoubleSpinBox* RatioCurveEditor::valueEditor() const { return isEnteringValue() ? m_valueEditor : nullptr; }

void RatioCurveEditor::beginValueEntry(int index) {
    if (index < 0 || index >= m_ratios.size() || isLocked(index)) return;
    if (!m_valueEditor) {
        m_valueEditor = new QDoubleSpinBox(this);
        m_valueEditor->setObjectName(QStringLiteral("ratioValueEditor"));
        m_valueEditor->setDecimals(3);
        m_valueEditor->setSingleStep(kFineKeyStep);
        m_valueEditor->setKeyboardTracking(false);
        m_valueEditor->installEventFilter(this);
        connect(m_valueEditor, &QAbstractSpinBox::editingFinished, this, [this] { finishValueEntry(true); });
    }
    m_valueEditorIndex = index;
    m_selectedIndex = index;
    m_valueEditor->setRange(m_minimum, m_maximum);
    m_valueEditor->setValue(m_ratios[index]);
    const QPointF at = pointPosition(index);
    const QSize size = m_valueEditor->sizeHint();
    m_valueEditor->setGeometry(int(std::clamp(at.x() - size.width() / 2.0, 0.0, double(width() - size.width()))),
                               int(std::clamp(at.y() - size.height() - 8.0, 0.0, double(height() - size.height()))),
                               size.width(), size.height());
    m_valueEditor->show();
    m_valueEditor->setFocus();
    m_valueEditor->selectAll();
    update();
}

void RatioCurveEditor::finishValueEntry(bool accept) {
    if (!isEnteringValue()) return;
    const int index = std::exchange(m_valueEditorIndex, -1);
    if (accept) m_valueEditor->interpretText();  // typed text becomes the value only on Return
    const double value = m_valueEditor->value();
    m_valueEditor->hide();
    setFocus();
    if (accept) setPointValue(index, value);
}

bool RatioCurveEditor::eventFilter(QObject* watched, QEvent* event) {
    if (watched != m_valueEditor) return QWidget::eventFilter(watched, event);
    const bool keyEvent = event->type() == QEvent::KeyPress || event->type() == QEvent::ShortcutOverride;
    const int key = keyEvent ? static_cast<QKeyEvent*>(event)->key() : 0;
    if (key == Qt::Key_Escape || key == Qt::Key_Return || key == Qt::Key_Enter) {
        // Handled here: the spin box would pass Return on to this widget (which would reopen the
        // editor), and a window's Esc shortcut must not cancel sampling while a value is typed.
        if (event->type() == QEvent::KeyPress) finishValueEntry(key != Qt::Key_Escape);
        event->accept();
        return true;
    }
    return false;
}

QString RatioCurveEditor::pointLabel(int index) const {
    if (index < 0 || index >= m_ratios.size()) return {};
    const QString value = QStringLiteral("ρ%1 = %2").arg(index).arg(m_ratios[index], 0, 'f', 3);
    return isLocked(index) ? tr("%1 (fixed: compensation needs %2 earlier outputs)").arg(value).arg(m_lockedCount) : value;
}

bool RatioCurveEditor::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const int index = pointAt(help->pos());
        const int overlay = overlayAt(help->pos());
        if (index >= 0)
            QToolTip::showText(help->globalPos(), pointLabel(index), this);
        else if (overlay >= 0)
            QToolTip::showText(help->globalPos(), tr("Apply %1 to the curve").arg(m_overlays[overlay].name), this);
        else if (!toolTip().isEmpty())
            QToolTip::showText(help->globalPos(), toolTip(), this);
        else
            QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

void RatioCurveEditor::setOverlay(const QString& name, const QVector<double>& values, const QColor& color) {
    for (Overlay& overlay : m_overlays)
        if (overlay.name == name) {
            overlay.values = values;
            overlay.color = color;
            update();
            return;
        }
    m_overlays.append({name, values, color});
    update();
}

void RatioCurveEditor::removeOverlay(const QString& name) {
    m_overlays.removeIf([&](const Overlay& overlay) { return overlay.name == name; });
    update();
}

void RatioCurveEditor::clearOverlays() {
    m_overlays.clear();
    update();
}

QStringList RatioCurveEditor::overlayNames() const {
    QStringList names;
    for (const Overlay& overlay : m_overlays) names.append(overlay.name);
    return names;
}

QVector<double> RatioCurveEditor::overlayValues(const QString& name) const {
    for (const Overlay& overlay : m_overlays)
        if (overlay.name == name) return overlay.values;
    return {};
}

void RatioCurveEditor::applyOverlay(const QString& name) {
    const auto index = overlayNames().indexOf(name);
    if (index < 0) return;
    const QVector<double> before = m_ratios;
    setRatios(resampled(m_overlays[index].values, int(m_ratios.size())));
    if (m_ratios != before) Q_EMIT ratiosEdited(m_ratios);
}

QRectF RatioCurveEditor::overlayLabelRect(const QString& name) const {
    const auto index = overlayNames().indexOf(name);
    if (index < 0) return {};
    // Right-aligned, newest rightmost.
    double right = width() - kMarginRight;
    for (auto i = m_overlays.size() - 1; i >= index; --i) {
        const double labelWidth = fontMetrics().horizontalAdvance(QStringLiteral("▸ ") + m_overlays[i].name) + 28.0;
        if (i == index) return QRectF(right - labelWidth, 2.0, labelWidth, kOverlayRowHeight - 2.0);
        right -= labelWidth + 6.0;
    }
    return {};
}

int RatioCurveEditor::overlayAt(const QPointF& position) const {
    for (int i = 0; i < m_overlays.size(); ++i)
        if (overlayLabelRect(m_overlays[i].name).contains(position)) return i;
    return -1;
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
    const double top = kMarginTop + (m_overlays.isEmpty() ? 0.0 : kOverlayRowHeight);
    return QRectF(kMarginLeft, top, std::max(1.0, width() - kMarginLeft - kMarginRight),
                  std::max(1.0, height() - top - kMarginBottom));
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
    finishValueEntry(true);
    if (const int overlay = overlayAt(event->position()); overlay >= 0) {
        applyOverlay(m_overlays[overlay].name);
        return;
    }
    const int index = pointAt(event->position());
    if (index < 0 || isLocked(index)) return;
    m_selectedIndex = index;
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
    if (index < 0 || isLocked(index)) return;
    m_dragIndex = -1;
    beginValueEntry(index);
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

void RatioCurveEditor::drawOverlays(QPainter& painter) const {
    for (const Overlay& overlay : m_overlays) {
        const QVector<double> values = resampled(overlay.values, int(m_ratios.size()));
        if (!values.isEmpty()) {
            QPainterPath line;
            for (int i = 0; i < values.size(); ++i) {
                const QPointF at(pointPosition(i).x(), yForValue(clampValue(values[i])));
                i == 0 ? line.moveTo(at) : line.lineTo(at);
            }
            painter.setPen(QPen(overlay.color, 1.5, Qt::DashLine));
            painter.setBrush(Qt::NoBrush);
            painter.drawPath(line);
        }
        const QRectF label = overlayLabelRect(overlay.name);
        painter.setPen(QPen(overlay.color, 1, Qt::DashLine));
        painter.drawRoundedRect(label, 3, 3);
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(label, Qt::AlignCenter, QStringLiteral("▸ ") + overlay.name);
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
        const bool active = i == m_dragIndex || i == m_hoverIndex || i == m_selectedIndex;
        const double radius = active ? kPointRadius + 2 : kPointRadius;
        if (i == m_selectedIndex && hasFocus()) {
            painter.setPen(QPen(palette().color(QPalette::Text), 1, Qt::DotLine));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(center, radius + 4, radius + 4);
        }
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
    const int labelled = m_dragIndex >= 0 ? m_dragIndex : m_hoverIndex >= 0 ? m_hoverIndex : hasFocus() ? m_selectedIndex : -1;
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
    drawOverlays(painter);
    drawCurve(painter);
}
