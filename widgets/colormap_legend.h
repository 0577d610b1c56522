#pragma once

#include <QString>
#include <QWidget>

#include "heat_map.h"

/// A colour bar for heat maps: the colour map from 0 to the shared scale, labelled at both ends,
/// under a title. Display only; GUI thread.
class ColormapLegend : public QWidget {
    Q_OBJECT

public:
    explicit ColormapLegend(QWidget* parent = nullptr);

    void setColormap(HeatColormap colormap);
    HeatColormap colormap() const { return m_colormap; }
    /// The value the right end stands for; <= 0 or NaN shows no scale (nothing to compare).
    void setScale(double scale);
    double scale() const { return m_scale; }
    void setTitle(const QString& title);
    QString title() const { return m_title; }
    /// The label drawn at the right end (the left one is "0"), e.g. "0.12"; empty without a scale.
    QString maximumLabel() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    HeatColormap m_colormap = HeatColormap::Inferno;
    double m_scale = 0.0;
    QString m_title;
};
