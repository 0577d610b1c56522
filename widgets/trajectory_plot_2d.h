#pragma once

#include <QColor>
#include <QPointF>
#include <QRectF>
#include <QString>
#include <QTransform>
#include <QStringList>
#include <QVector>
#include <QWidget>

/// Plots 2-D sampling trajectories: for each layer (e.g. one solver run), every sample's path
/// over the steps as a thin polyline and its final position as a dot; optional markers (e.g.
/// the data's mode centres) as crosses. The view fits all points with equal x and y scale.
/// GUI thread only.
class TrajectoryPlot2D : public QWidget {
    Q_OBJECT

public:
    /// Per sample, the positions over the steps in order (first = start noise, last = result).
    using Paths = QVector<QVector<QPointF>>;

    explicit TrajectoryPlot2D(QWidget* parent = nullptr);

    /// Adds the layer `name` or replaces its paths and colour. Layers draw in insertion order.
    void setLayer(const QString& name, const Paths& paths, const QColor& color);
    void removeLayer(const QString& name);
    void clearLayers();
    QStringList layerNames() const;
    Paths layerPaths(const QString& name) const;

    void setMarkers(const QVector<QPointF>& markers);
    const QVector<QPointF>& markers() const { return m_markers; }

    /// The data rectangle currently shown (all points and markers with a margin, square).
    QRectF viewBounds() const;
    /// Data coordinates to widget coordinates (y up).
    QPointF mapToWidget(const QPointF& point) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    struct Layer {
        QString name;
        Paths paths;
        QColor color;
    };
    int layerIndex(const QString& name) const;
    QRectF plotArea() const;
    QTransform dataToWidget() const;
    void drawAxes(QPainter& painter, const QTransform& toWidget) const;
    void drawLayer(QPainter& painter, const QTransform& toWidget, const Layer& layer) const;
    void drawLegend(QPainter& painter) const;

    QVector<Layer> m_layers;
    QVector<QPointF> m_markers;
};
