#include "mse_bar_chart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

#include <algorithm>

MseBarChart::MseBarChart(QWidget* parent) : QChartView(parent) {
    setRenderHint(QPainter::Antialiasing);
    chart()->legend()->hide();
    chart()->setMargins(QMargins(4, 4, 4, 4));
    setMinimumHeight(180);
}

void MseBarChart::clear() { setBars({}, QString()); }

void MseBarChart::setBars(const QVector<Bar>& bars, const QString& valueTitle) {
    m_bars = bars;
    QChart* chart = this->chart();
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;
    }
    if (bars.isEmpty()) return;

    auto* set = new QBarSet(valueTitle);
    set->setColor(QColor(90, 130, 200));
    QStringList names;
    double top = 0.0;
    for (const Bar& bar : bars) {
        *set << bar.mean;
        names << bar.name;
        top = std::max({top, bar.mean, bar.upper});
    }
    auto* series = new QBarSeries;
    series->append(set);
    series->setBarWidth(0.6);
    chart->addSeries(series);

    auto* categories = new QBarCategoryAxis;
    categories->append(names);
    categories->setLabelsAngle(names.size() > 3 ? -20 : 0);
    auto* values = new QValueAxis;
    values->setRange(0.0, top > 0.0 ? top * 1.08 : 1.0);
    values->setLabelFormat(QStringLiteral("%.2e"));
    values->setTitleText(valueTitle);
    chart->addAxis(categories, Qt::AlignBottom);
    chart->addAxis(values, Qt::AlignLeft);
    series->attachAxis(categories);
    series->attachAxis(values);

    // The interval of bar i as a vertical whisker at its centre (category i sits at x = i).
    QPen whiskerPen(QColor(30, 30, 30));
    whiskerPen.setWidthF(1.5);
    for (int i = 0; i < bars.size(); ++i) {
        auto* whisker = new QLineSeries;
        whisker->setPen(whiskerPen);
        whisker->append(i - 0.12, bars[i].lower);
        whisker->append(i + 0.12, bars[i].lower);
        whisker->append(i, bars[i].lower);
        whisker->append(i, bars[i].upper);
        whisker->append(i - 0.12, bars[i].upper);
        whisker->append(i + 0.12, bars[i].upper);
        chart->addSeries(whisker);
        whisker->attachAxis(categories);
        whisker->attachAxis(values);
    }
}
