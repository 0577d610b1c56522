#pragma once

#include <QChartView>
#include <QString>
#include <QVector>

/// One bar per configuration (its mean), with its confidence interval as a whisker, on a shared
/// linear value axis that starts at 0 so bar lengths compare honestly. GUI thread only.
class MseBarChart : public QChartView {
    Q_OBJECT

public:
    struct Bar {
        QString name;
        double mean = 0.0;
        double lower = 0.0;
        double upper = 0.0;
    };

    explicit MseBarChart(QWidget* parent = nullptr);

    void setBars(const QVector<Bar>& bars, const QString& valueTitle);
    void clear();
    const QVector<Bar>& bars() const { return m_bars; }

private:
    QVector<Bar> m_bars;
};
