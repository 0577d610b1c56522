#pragma once

#include <QImage>
#include <QString>
#include <QStringList>
#include <QVector>

/// A non-negative scalar field over an image (for example |x - ground truth| per pixel), row-major.
struct HeatMap {
    int width = 0;
    int height = 0;
    QVector<float> values;  ///< width * height values, >= 0

    bool isValid() const { return width > 0 && height > 0 && values.size() == qsizetype(width) * height; }
};

/// The colour maps a heat map can be drawn with (OpenCV's, perceptually ordered ones first).
enum class HeatColormap { Inferno, Viridis, Magma, Turbo, Gray };

/// Names for menus and sessions, in enum order: "inferno", "viridis", "magma", "turbo", "gray".
QStringList heatColormapNames();
QString heatColormapName(HeatColormap colormap);
/// The colour map of a name from heatColormapNames(); Inferno for anything else.
HeatColormap heatColormapFromName(const QString& name);

/// A scale all maps can share: the 99th percentile (nearest rank) of their finite values, so a
/// few extreme pixels do not turn every other pixel dark; 0 when there is none. Values above it
/// are drawn in the colour of the scale's end.
double sharedHeatScale(const QVector<QVector<HeatMap>>& groups);

/// Colours each map with `colormap` on the scale [0, scale] (values above are clipped; a scale
/// <= 0 maps everything to the colour of 0). Invalid maps give null images. Any thread.
QVector<QImage> colorizeHeatMaps(const QVector<HeatMap>& maps, double scale, HeatColormap colormap);

/// The colour map as a horizontal strip `width` x `height`, from the colour of 0 on the left to
/// that of the scale's end on the right (for legends).
QImage heatColormapStrip(HeatColormap colormap, int width, int height);
