#include "error_chart.h"

#include <QChart>
#include <QGraphicsLayout>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

ErrorChart::ErrorChart(QWidget* parent) : QChartView(new QChart, parent) {
    setRenderHint(QPainter::Antialiasing, true);
    setMinimumHeight(150);
    chart()->legend()->setAlignment(Qt::AlignTop);
    chart()->setMargins(QMargins(2, 2, 2, 2));
    chart()->layout()->setContentsMargins(0, 0, 0, 0);
    chart()->setBackgroundRoundness(0);
    replaceAxes();
}

QLineSeries* ErrorChart::findSeries(const QString& name) const {
    for (QAbstractSeries* series : chart()->series())
        if (series->name() == name) return static_cast<QLineSeries*>(series);
    return nullptr;
}

void ErrorChart::refreshSeriesPoints(QLineSeries* series) {
    const auto index = m_names.indexOf(series->name());
    QList<QPointF> shown;
    for (const QPointF& point : m_points[index])
        if (!m_logarithmicY || point.y() > 0) shown.append(point);
    series->replace(shown);
}

void ErrorChart::setSeries(const QString& name, const QVector<QPointF>& points, const QColor& color) {
    QLineSeries* series = findSeries(name);
    if (!series) {
        series = new QLineSeries;  // owned by the chart once added
        series->setName(name);
        series->setPointsVisible(true);
        chart()->addSeries(series);
        for (QAbstractAxis* axis : chart()->axes()) series->attachAxis(axis);
        m_names.append(name);
        m_points.append(points);
    } else {
        m_points[m_names.indexOf(name)] = points;
    }
    if (color.isValid()) series->setColor(color);
    refreshSeriesPoints(series);
    updateRanges();
}

void ErrorChart::removeSeries(const QString& name) {
    QLineSeries* series = findSeries(name);
    if (!series) return;
    chart()->removeSeries(series);
    delete series;
    const auto index = m_names.indexOf(name);
    m_names.removeAt(index);
    m_points.removeAt(index);
    updateRanges();
}

void ErrorChart::clearSeries() {
    chart()->removeAllSeries();
    m_names.clear();
    m_points.clear();
    updateRanges();
}

QStringList ErrorChart::seriesNames() const { return QStringList(m_names.begin(), m_names.end()); }

QVector<QPointF> ErrorChart::seriesPoints(const QString& name) const {
    const auto index = m_names.indexOf(name);
    return index < 0 ? QVector<QPointF>{} : m_points[index];
}

void ErrorChart::setAxisTitles(const QString& xTitle, const QString& yTitle) {
    m_xTitle = xTitle;
    m_yTitle = yTitle;
    for (QAbstractAxis* axis : chart()->axes()) axis->setTitleText(axis->orientation() == Qt::Horizontal ? xTitle : yTitle);
}

void ErrorChart::setLogarithmicY(bool logarithmic) {
    if (logarithmic == m_logarithmicY) return;
    m_logarithmicY = logarithmic;
    replaceAxes();
    for (QAbstractSeries* series : chart()->series()) refreshSeriesPoints(static_cast<QLineSeries*>(series));
    updateRanges();
}

void ErrorChart::setTitle(const QString& title) { chart()->setTitle(title); }

void ErrorChart::setHighlightedX(double x) {
    m_highlightedX = x;
    viewport()->update();
}

double ErrorChart::highlightSceneX() const {
    if (!std::isfinite(m_highlightedX)) return std::numeric_limits<double>::quiet_NaN();
    for (QAbstractAxis* axis : chart()->axes()) {
        if (axis->orientation() != Qt::Horizontal) continue;
        const auto* xAxis = static_cast<const QValueAxis*>(axis);
        if (m_highlightedX < xAxis->min() || m_highlightedX > xAxis->max()) break;
        const QRectF plot = chart()->plotArea();
        return plot.left() + (m_highlightedX - xAxis->min()) / (xAxis->max() - xAxis->min()) * plot.width();
    }
    return std::numeric_limits<double>::quiet_NaN();
}

double ErrorChart::highlightViewportX() const {
    const double sceneX = highlightSceneX();
    return std::isfinite(sceneX) ? mapFromScene(QPointF(sceneX, 0)).x() : sceneX;
}

void ErrorChart::drawForeground(QPainter* painter, const QRectF& rect) {
    QChartView::drawForeground(painter, rect);
    const double sceneX = highlightSceneX();  // drawForeground paints in scene coordinates
    if (!std::isfinite(sceneX)) return;
    const QRectF plot = chart()->plotArea();
    QColor color = palette().color(QPalette::Highlight);
    color.setAlpha(160);
    painter->save();
    painter->setPen(QPen(color, 2, Qt::DashLine));
    painter->drawLine(QPointF(sceneX, plot.top()), QPointF(sceneX, plot.bottom()));
    painter->restore();
}

void ErrorChart::replaceAxes() {
    for (QAbstractAxis* axis : chart()->axes()) {
        chart()->removeAxis(axis);
        delete axis;
    }
    auto* xAxis = new QValueAxis;
    xAxis->setLabelFormat(QStringLiteral("%d"));
    xAxis->setTitleText(m_xTitle);
    QAbstractAxis* yAxis = nullptr;
    if (m_logarithmicY) {
        auto* logAxis = new QLogValueAxis;
        logAxis->setBase(10);
        logAxis->setLabelFormat(QStringLiteral("%.0e"));
        yAxis = logAxis;
    } else {
        auto* valueAxis = new QValueAxis;
        valueAxis->setLabelFormat(QStringLiteral("%.3g"));
        yAxis = valueAxis;
    }
    yAxis->setTitleText(m_yTitle);
    // Labels are short ("1e-02"); QtCharts would elide them to "..." when it sizes the axis
    // before the range (and so the labels) is known.
    yAxis->setTruncateLabels(false);
    chart()->addAxis(xAxis, Qt::AlignBottom);
    chart()->addAxis(yAxis, Qt::AlignLeft);
    for (QAbstractSeries* series : chart()->series()) {
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
    }
}

void ErrorChart::updateRanges() {
    double xMin = std::numeric_limits<double>::infinity(), xMax = -xMin;
    double yMin = xMin, yMax = -xMin;
    for (const QVector<QPointF>& points : m_points)
        for (const QPointF& point : points) {
            if (m_logarithmicY && point.y() <= 0) continue;
            xMin = std::min(xMin, point.x());
            xMax = std::max(xMax, point.x());
            yMin = std::min(yMin, point.y());
            yMax = std::max(yMax, point.y());
        }
    if (!std::isfinite(xMin)) {  // no data: a neutral frame
        xMin = 0;
        xMax = 1;
        yMin = m_logarithmicY ? 1e-3 : 0;
        yMax = 1;
    }
    if (xMax == xMin) xMax = xMin + 1;
    if (m_logarithmicY) {
        // Whole decades, so the labels are round numbers.
        yMin = std::pow(10.0, std::floor(std::log10(yMin)));
        yMax = std::pow(10.0, std::ceil(std::log10(yMax)));
        if (yMax <= yMin) yMax = yMin * 10;
    } else {
        yMin = std::min(0.0, yMin);
        yMax = yMax > yMin ? yMax * 1.05 : yMin + 1;
    }
    for (QAbstractAxis* axis : chart()->axes()) {
        if (axis->orientation() == Qt::Horizontal) {
            auto* xAxis = static_cast<QValueAxis*>(axis);
            xAxis->setRange(xMin, xMax);
            // Whole-number ticks (steps are integers), at most about ten of them.
            xAxis->setTickType(QValueAxis::TicksDynamic);
            xAxis->setTickAnchor(std::floor(xMin));
            xAxis->setTickInterval(std::max(1.0, std::ceil((xMax - xMin) / 10)));
        } else {
            axis->setRange(yMin, yMax);
        }
    }
}
