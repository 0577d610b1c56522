#include <QtTest/QtTest>

#include <cmath>
#include <limits>

#include "colormap_legend.h"
#include "heat_map.h"

namespace {

HeatMap row(const QVector<float>& values) {
    HeatMap map;
    map.width = int(values.size());
    map.height = 1;
    map.values = values;
    return map;
}

}  // namespace

class TestHeatMap : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void valuesMapOntoTheScale() {
        const double scale = 0.4;
        const QVector<QImage> images = colorizeHeatMaps({row({0.0f, 0.2f, 0.4f, 0.8f})}, scale, HeatColormap::Inferno);
        QCOMPARE(images.size(), 1);
        const QImage& image = images.first();
        QCOMPARE(image.size(), QSize(4, 1));
        const QImage strip = heatColormapStrip(HeatColormap::Inferno, 256, 1);
        QCOMPARE(image.pixel(0, 0), strip.pixel(0, 0));
        QCOMPARE(image.pixel(1, 0), strip.pixel(128, 0));  // 0.5 of 255 rounds to 128
        QCOMPARE(image.pixel(2, 0), strip.pixel(255, 0));
        QCOMPARE(image.pixel(3, 0), strip.pixel(255, 0));  // above the scale: clipped
        // Inferno runs from near black to pale yellow.
        QVERIFY(qGray(strip.pixel(0, 0)) < 20);
        QVERIFY(qGray(strip.pixel(255, 0)) > 200);
    }

    void greyIsALinearRamp() {
        const QImage image = colorizeHeatMaps({row({0.0f, 0.25f, 1.0f})}, 1.0, HeatColormap::Gray).first();
        QCOMPARE(qGray(image.pixel(0, 0)), 0);
        QCOMPARE(qGray(image.pixel(1, 0)), 64);  // 63.75 rounds up
        QCOMPARE(qGray(image.pixel(2, 0)), 255);
    }

    void aZeroScaleShowsTheColourOfZero() {
        const QImage image = colorizeHeatMaps({row({0.0f, 3.0f})}, 0.0, HeatColormap::Gray).first();
        QCOMPARE(qGray(image.pixel(1, 0)), 0);
    }

    void invalidMapsGiveNullImages() {
        HeatMap broken = row({1.0f, 2.0f});
        broken.width = 3;  // does not match its values
        const QVector<QImage> images = colorizeHeatMaps({broken, row({1.0f})}, 1.0, HeatColormap::Viridis);
        QVERIFY(images[0].isNull());
        QVERIFY(!images[1].isNull());
    }

    void theSharedScaleIsTheLargestFiniteValue() {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        QCOMPARE(sharedHeatScale({{row({0.1f, 0.3f})}, {row({0.2f, nan}), row({0.25f})}}), double(0.3f));
        QCOMPARE(sharedHeatScale({}), 0.0);
    }

    void aFewOutliersDoNotSetTheScale() {
        // 995 pixels at 0.01 and 5 at 1: the 99th percentile is 0.01, not the outliers' 1.
        QVector<float> values(1000, 0.01f);
        for (int i = 0; i < 5; ++i) values[i * 100] = 1.0f;
        HeatMap map = row(values);
        QCOMPARE(sharedHeatScale({{map}}), double(0.01f));
        // 20 of 1000 at 1 are more than the top percent: then the scale is theirs.
        for (int i = 0; i < 20; ++i) map.values[i * 50] = 1.0f;
        QCOMPARE(sharedHeatScale({{map}}), 1.0);
    }

    void namesRoundTrip() {
        const QStringList names = heatColormapNames();
        QCOMPARE(names.size(), 5);
        for (const QString& name : names) QCOMPARE(heatColormapName(heatColormapFromName(name)), name);
        QCOMPARE(heatColormapFromName(QStringLiteral("no such map")), HeatColormap::Inferno);
    }

    void theLegendLabelsItsScale() {
        ColormapLegend legend;
        QVERIFY(legend.maximumLabel().isEmpty());
        legend.setScale(0.1234);
        QCOMPARE(legend.maximumLabel(), QStringLiteral("0.123"));
        legend.setScale(std::nan(""));
        QCOMPARE(legend.scale(), 0.0);
    }
};

QTEST_MAIN(TestHeatMap)
#include "test_heat_map.moc"
