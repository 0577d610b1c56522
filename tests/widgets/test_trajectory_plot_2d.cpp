#include <QtTest/QtTest>

#include "trajectory_plot_2d.h"

namespace {

TrajectoryPlot2D::Paths twoPaths() {
    return {{{-2.0, -1.0}, {-1.0, 0.0}, {0.5, 0.5}}, {{1.5, 2.0}, {1.0, 1.0}, {0.5, -0.5}}};
}

}  // namespace

class TestTrajectoryPlot2D : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void layersAreAddedReplacedAndRemoved() {
        TrajectoryPlot2D plot;
        plot.setLayer(QStringLiteral("plain"), twoPaths(), Qt::red);
        plot.setLayer(QStringLiteral("dc"), twoPaths(), Qt::blue);
        plot.setLayer(QStringLiteral("plain"), {{{0, 0}}}, Qt::red);
        QCOMPARE(plot.layerNames(), (QStringList{QStringLiteral("plain"), QStringLiteral("dc")}));
        QCOMPARE(plot.layerPaths(QStringLiteral("plain")).size(), 1);
        plot.removeLayer(QStringLiteral("plain"));
        QCOMPARE(plot.layerNames(), QStringList{QStringLiteral("dc")});
        plot.clearLayers();
        QVERIFY(plot.layerNames().isEmpty());
    }

    void viewIsSquareAndContainsEverything() {
        TrajectoryPlot2D plot;
        plot.setLayer(QStringLiteral("plain"), twoPaths(), Qt::red);
        plot.setMarkers({{3.0, 0.0}});
        const QRectF bounds = plot.viewBounds();
        QVERIFY(qFuzzyCompare(bounds.width(), bounds.height()));
        for (const auto& path : twoPaths())
            for (const QPointF& point : path) QVERIFY(bounds.contains(point));
        QVERIFY(bounds.contains(QPointF(3.0, 0.0)));
    }

    void yAxisPointsUpAndScalesAreEqual() {
        TrajectoryPlot2D plot;
        plot.resize(400, 300);
        plot.setLayer(QStringLiteral("plain"), twoPaths(), Qt::red);
        const QPointF origin = plot.mapToWidget({0, 0});
        const QPointF right = plot.mapToWidget({1, 0});
        const QPointF up = plot.mapToWidget({0, 1});
        QVERIFY(up.y() < origin.y());
        QVERIFY(qFuzzyCompare(right.x() - origin.x(), origin.y() - up.y()));
    }

    void finalPointsAreDrawnInTheLayerColour() {
        TrajectoryPlot2D plot;
        plot.resize(300, 300);
        plot.setLayer(QStringLiteral("dc"), twoPaths(), QColor(0, 0, 255));
        const QImage shot = plot.grab().toImage();
        for (const auto& path : twoPaths())
            QCOMPARE(shot.pixelColor(plot.mapToWidget(path.last()).toPoint()), QColor(0, 0, 255));
    }
};

QTEST_MAIN(TestTrajectoryPlot2D)
#include "test_trajectory_plot_2d.moc"
