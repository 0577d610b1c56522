#include "colormap_legend.h"

#include <QPainter>

#include <cmath>

namespace {

constexpr int kMargin = 6;
constexpr int kBarHeight = 14;

}  // namespace

ColormapLegend::ColormapLegend(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void ColormapLegend::setColormap(HeatColormap colormap) {
    m_colormap = colormap;
    update();
}

void ColormapLegend::setScale(double scale) {
    m_scale = std::isfinite(scale) && scale > 0 ? scale : 0.0;
    update();
}

void ColormapLegend::setTitle(const QString& title) {
    m_title = title;
    update();
}

QString ColormapLegend::maximumLabel() const { return m_scale > 0 ? QString::number(m_scale, 'g', 3) : QString(); }

QSize ColormapLegend::sizeHint() const {
    const int line = fontMetrics().height();
    return QSize(220, 2 * kMargin + 2 * line + kBarHeight + 4);
}

QSize ColormapLegend::minimumSizeHint() const { return QSize(100, sizeHint().height()); }

void ColormapLegend::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const int line = fontMetrics().height();
    painter.setPen(palette().color(QPalette::Text));
    painter.drawText(QRect(kMargin, kMargin, width() - 2 * kMargin, line), Qt::AlignLeft | Qt::AlignVCenter, m_title);
    const QRect bar(kMargin, kMargin + line + 2, width() - 2 * kMargin, kBarHeight);
    if (m_scale <= 0) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(bar.adjusted(0, 0, 0, line), Qt::AlignLeft | Qt::AlignTop, tr("no scale yet"));
        return;
    }
    painter.drawImage(bar, heatColormapStrip(m_colormap, bar.width(), 1));
    painter.setPen(palette().color(QPalette::Mid));
    painter.drawRect(bar.adjusted(0, 0, -1, -1));
    painter.setPen(palette().color(QPalette::Text));
    const QRect labels(bar.left(), bar.bottom() + 2, bar.width(), line);
    painter.drawText(labels, Qt::AlignLeft | Qt::AlignTop, QStringLiteral("0"));
    painter.drawText(labels, Qt::AlignRight | Qt::AlignTop, maximumLabel());
}
