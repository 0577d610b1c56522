#include "trajectory_plot_2d.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace {

constexpr int kMargin = 10;          // pixels around the plot
constexpr double kDataMargin = 0.08; // fraction of the data extent added on each side
constexpr double kDotRadius = 3.0;
constexpr double kMarkerSize = 5.0;

}  // namespace

TrajectoryPlot2D::TrajectoryPlot2D(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

int TrajectoryPlot2D::layerIndex(const QString& name) const {
    for (int i = 0; i < m_layers.size(); ++i)
        if (m_layers[i].name == name) return i;
    return -1;
}

void TrajectoryPlot2D::setLayer(const QString& name, const Paths& paths, const QColor& color) {
    const int index = layerIndex(name);
    if (index < 0)
        m_layers.append(Layer{name, paths, color});
    else
        m_layers[index] = Layer{name, paths, color};
    update();
}

void TrajectoryPlot2D::removeLayer(const QString& name) {
    const int index = layerIndex(name);
    if (index < 0) return;
    m_layers.removeAt(index);
    update();
}

void TrajectoryPlot2D::clearLayers() {
    m_layers.clear();
    update();
}

QStringList TrajectoryPlot2D::layerNames() const {
    QStringList names;
    for (const Layer& layer : m_layers) names.append(layer.name);
    return names;
}

TrajectoryPlot2D::Paths TrajectoryPlot2D::layerPaths(const QString& name) const {
    const int index = layerIndex(name);
    return index < 0 ? Paths{} : m_layers[index].paths;
}

void TrajectoryPlot2D::setMarkers(const QVector<QPointF>& markers) {
    m_markers = markers;
    update();
}

QRectF TrajectoryPlot2D::viewBounds() const {
    double left = -1, right = 1, bottom = -1, top = 1;  // unit square when empty
    bool any = false;
    const auto include = [&](const QPointF& point) {
        if (!std::isfinite(point.x()) || !std::isfinite(point.y())) return;
        if (!any) {
            left = right = point.x();
            bottom = top = point.y();
            any = true;
        }
        left = std::min(left, point.x());
        right = std::max(right, point.x());
        bottom = std::min(bottom, point.y());
        top = std::max(top, point.y());
    };
    for (const Layer& layer : m_layers)
        for (const auto& path : layer.paths)
            for (const QPointF& point : path) include(point);
    for (const QPointF& marker : m_markers) include(marker);
    // Square around the centre, so circles in the data look like circles.
    const double extent = std::max({right - left, top - bottom, 1e-6}) * (1 + 2 * kDataMargin);
    const QPointF centre((left + right) / 2, (bottom + top) / 2);
    return QRectF(centre.x() - extent / 2, centre.y() - extent / 2, extent, extent);
}

QRectF TrajectoryPlot2D::plotArea() const {
    const double side = std::max(1, std::min(width(), height()) - 2 * kMargin);
    return QRectF((width() - side) / 2, (height() - side) / 2, side, side);
}

QTransform TrajectoryPlot2D::dataToWidget() const {
    const QRectF bounds = viewBounds();
    const QRectF area = plotArea();
    // x: bounds.left -> area.left; y flipped: bounds.top (smallest y) -> area.bottom.
    const double scaleX = area.width() / bounds.width();
    const double scaleY = area.height() / bounds.height();
    return QTransform(scaleX, 0, 0, -scaleY, area.left() - bounds.left() * scaleX, area.bottom() + bounds.top() * scaleY);
}

QPointF TrajectoryPlot2D::mapToWidget(const QPointF& point) const { return dataToWidget().map(point); }

QSize TrajectoryPlot2D::sizeHint() const { return QSize(480, 480); }

QSize TrajectoryPlot2D::minimumSizeHint() const { return QSize(160, 160); }

void TrajectoryPlot2D::drawAxes(QPainter& painter, const QTransform& toWidget) const {
    const QRectF area = plotArea();
    QColor frameColor = palette().color(QPalette::Text);
    frameColor.setAlpha(60);
    painter.setPen(QPen(frameColor, 1));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(area);
    const QRectF bounds = viewBounds();
    painter.setPen(QPen(frameColor, 1, Qt::DotLine));
    if (bounds.left() < 0 && bounds.right() > 0) {
        const double x = toWidget.map(QPointF(0, 0)).x();
        painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
    }
    if (bounds.top() < 0 && bounds.bottom() > 0) {
        const double y = toWidget.map(QPointF(0, 0)).y();
        painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
    }
}

void TrajectoryPlot2D::drawLayer(QPainter& painter, const QTransform& toWidget, const Layer& layer) const {
    QColor pathColor = layer.color;
    pathColor.setAlpha(90);  // many overlapping paths: translucent so density shows
    painter.setPen(QPen(pathColor, 1.2));
    painter.setBrush(Qt::NoBrush);
    for (const auto& path : layer.paths) {
        if (path.size() < 2) continue;
        QPainterPath line;
        line.moveTo(toWidget.map(path.first()));
        for (int i = 1; i < path.size(); ++i) line.lineTo(toWidget.map(path[i]));
        painter.drawPath(line);
    }
    painter.setPen(QPen(palette().color(QPalette::Base), 0.8));
    painter.setBrush(layer.color);
    for (const auto& path : layer.paths)
        if (!path.isEmpty()) painter.drawEllipse(toWidget.map(path.last()), kDotRadius, kDotRadius);
}

void TrajectoryPlot2D::drawLegend(QPainter& painter) const {
    const QRectF area = plotArea();
    const int lineHeight = fontMetrics().height();
    double y = area.top() + 6;
    for (const Layer& layer : m_layers) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(layer.color);
        painter.drawEllipse(QPointF(area.left() + 12, y + lineHeight / 2.0), kDotRadius + 1, kDotRadius + 1);
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRectF(area.left() + 22, y, area.width() - 30, lineHeight), Qt::AlignLeft | Qt::AlignVCenter,
                         layer.name);
        y += lineHeight + 2;
    }
}

void TrajectoryPlot2D::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    const QTransform toWidget = dataToWidget();
    drawAxes(painter, toWidget);
    for (const Layer& layer : m_layers) drawLayer(painter, toWidget, layer);
    painter.setPen(QPen(palette().color(QPalette::Text), 1.5));
    for (const QPointF& marker : m_markers) {
        const QPointF centre = toWidget.map(marker);
        painter.drawLine(centre - QPointF(kMarkerSize, kMarkerSize), centre + QPointF(kMarkerSize, kMarkerSize));
        painter.drawLine(centre - QPointF(kMarkerSize, -kMarkerSize), centre + QPointF(kMarkerSize, -kMarkerSize));
    }
    drawLegend(painter);
}
