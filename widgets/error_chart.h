#pragma once

#include <QChartView>
#include <QColor>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>

#include <limits>

class QLineSeries;

/// Per-step curves (for example the error against a reference, step on x) as named line series
/// with point markers. Axes follow the data. On a logarithmic y axis, points with y <= 0 are left
/// out because they have no position there. GUI thread only.
class ErrorChart : public QChartView {
    Q_OBJECT

public:
    explicit ErrorChart(QWidget* parent = nullptr);

    /// Adds the series `name`, or replaces its points if it exists. An invalid `color` keeps the
    /// series' current colour (the theme's next colour for a new series).
    void setSeries(const QString& name, const QVector<QPointF>& points, const QColor& color = QColor());
    void removeSeries(const QString& name);
    void clearSeries();
    QStringList seriesNames() const;
    /// The points as given to setSeries() (empty for an unknown name).
    QVector<QPointF> seriesPoints(const QString& name) const;

    void setAxisTitles(const QString& xTitle, const QString& yTitle);
    void setLogarithmicY(bool logarithmic);
    bool isLogarithmicY() const { return m_logarithmicY; }
    /// Shown in the chart title area, e.g. what the curves are measured against.
    void setTitle(const QString& title);

    /// Marks x (for example the step shown elsewhere) with a vertical line; NaN removes it.
    void setHighlightedX(double x);
    double highlightedX() const { return m_highlightedX; }
    /// The marker's horizontal position in viewport coordinates (NaN without one).
    double highlightViewportX() const;

protected:
    void drawForeground(QPainter* painter, const QRectF& rect) override;

private:
    double highlightSceneX() const;
    QLineSeries* findSeries(const QString& name) const;
    void replaceAxes();
    void updateRanges();
    void refreshSeriesPoints(QLineSeries* series);

    QVector<QString> m_names;           // insertion order
    QVector<QVector<QPointF>> m_points; // original points, parallel to m_names
    QString m_xTitle;
    QString m_yTitle;
    bool m_logarithmicY = false;
    double m_highlightedX = std::numeric_limits<double>::quiet_NaN();
};
