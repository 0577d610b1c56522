#include <QtTest/QtTest>

#include <cmath>

#include <QChart>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include "error_chart.h"

namespace {

QLineSeries* lineSeries(const ErrorChart& chart, const QString& name) {
    for (QAbstractSeries* series : chart.chart()->series())
        if (series->name() == name) return static_cast<QLineSeries*>(series);
    return nullptr;
}

QAbstractAxis* axis(const ErrorChart& chart, Qt::Orientation orientation) {
    const auto axes = chart.chart()->axes(orientation);
    return axes.isEmpty() ? nullptr : axes.first();
}

}  // namespace

class TestErrorChart : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void setSeriesAddsThenReplaces() {
        ErrorChart chart;
        chart.setSeries(QStringLiteral("plain"), {{1, 0.5}, {2, 0.25}});
        chart.setSeries(QStringLiteral("compensated"), {{1, 0.4}, {2, 0.1}});
        QCOMPARE(chart.seriesNames(), (QStringList{QStringLiteral("plain"), QStringLiteral("compensated")}));
        chart.setSeries(QStringLiteral("plain"), {{1, 0.3}, {2, 0.2}, {3, 0.1}});
        QCOMPARE(chart.chart()->series().size(), 2);
        QCOMPARE(chart.seriesPoints(QStringLiteral("plain")).size(), 3);
        QCOMPARE(lineSeries(chart, QStringLiteral("plain"))->count(), 3);
        QVERIFY(chart.seriesPoints(QStringLiteral("missing")).isEmpty());
    }

    void colourIsAppliedAndKept() {
        ErrorChart chart;
        chart.setSeries(QStringLiteral("a"), {{1, 1}}, Qt::red);
        chart.setSeries(QStringLiteral("a"), {{1, 2}});
        QCOMPARE(lineSeries(chart, QStringLiteral("a"))->color(), QColor(Qt::red));
    }

    void removeAndClear() {
        ErrorChart chart;
        chart.setSeries(QStringLiteral("a"), {{1, 1}});
        chart.setSeries(QStringLiteral("b"), {{1, 2}});
        chart.removeSeries(QStringLiteral("a"));
        QCOMPARE(chart.seriesNames(), QStringList{QStringLiteral("b")});
        chart.clearSeries();
        QVERIFY(chart.seriesNames().isEmpty());
        QVERIFY(chart.chart()->series().isEmpty());
    }

    void linearAxesCoverTheData() {
        ErrorChart chart;
        chart.setSeries(QStringLiteral("a"), {{1, 0.2}, {10, 0.8}});
        auto* x = static_cast<QValueAxis*>(axis(chart, Qt::Horizontal));
        auto* y = qobject_cast<QValueAxis*>(axis(chart, Qt::Vertical));
        QVERIFY(y);
        QCOMPARE(x->min(), 1.0);
        QCOMPARE(x->max(), 10.0);
        QCOMPARE(y->min(), 0.0);
        QVERIFY(y->max() >= 0.8);
    }

    void logarithmicAxisSkipsNonPositivePoints() {
        ErrorChart chart;
        chart.setLogarithmicY(true);
        QVERIFY(chart.isLogarithmicY());
        chart.setSeries(QStringLiteral("a"), {{0, 0.0}, {1, 0.003}, {2, 0.2}});
        QCOMPARE(lineSeries(chart, QStringLiteral("a"))->count(), 2);
        QCOMPARE(chart.seriesPoints(QStringLiteral("a")).size(), 3);  // kept for a switch back
        auto* y = qobject_cast<QLogValueAxis*>(axis(chart, Qt::Vertical));
        QVERIFY(y);
        QVERIFY(qFuzzyCompare(y->min(), 1e-3));
        QVERIFY(qFuzzyCompare(y->max(), 1.0));
        chart.setLogarithmicY(false);
        QCOMPARE(lineSeries(chart, QStringLiteral("a"))->count(), 3);
        QVERIFY(qobject_cast<QValueAxis*>(axis(chart, Qt::Vertical)));
    }

    void theHighlightedStepSitsAtItsXPosition() {
        ErrorChart chart;
        chart.resize(500, 300);
        chart.setSeries(QStringLiteral("plain"), {{1, 0.5}, {2, 0.25}, {3, 0.2}, {5, 0.1}});
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        QVERIFY(std::isnan(chart.highlightViewportX()));
        chart.setHighlightedX(1);
        const double first = chart.highlightViewportX();
        chart.setHighlightedX(5);
        const double last = chart.highlightViewportX();
        chart.setHighlightedX(3);
        const double middle = chart.highlightViewportX();
        QVERIFY(first < middle && middle < last);
        QVERIFY(qAbs(middle - (first + last) / 2) < 1.0);  // x = 3 is halfway along a 1..5 axis
        chart.setHighlightedX(9);  // off the axis: no marker
        QVERIFY(std::isnan(chart.highlightViewportX()));
        chart.setHighlightedX(std::nan(""));
        QVERIFY(std::isnan(chart.highlightedX()));
    }
};

QTEST_MAIN(TestErrorChart)
#include "test_error_chart.moc"
