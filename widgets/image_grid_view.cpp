#include "image_grid_view.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace {

constexpr int kSpacing = 4;  // pixels between cells
constexpr int kMargin = 6;   // pixels around caption and grid

}  // namespace

ImageGridView::ImageGridView(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ImageGridView::setImages(const QVector<QImage>& images) {
    m_images = images;
    update();
}

void ImageGridView::setCaption(const QString& caption) {
    m_caption = caption;
    update();
}

void ImageGridView::setPlaceholderText(const QString& text) {
    m_placeholderText = text;
    update();
}

void ImageGridView::setColumnCount(int columns) {
    m_requestedColumns = std::max(0, columns);
    update();
}

int ImageGridView::effectiveColumnCount() const { return computeLayout().columns; }

QRect ImageGridView::captionRect() const {
    if (m_caption.isEmpty()) return {};
    // One line per line of the caption ("\n" separates them).
    const int lines = int(m_caption.count(QLatin1Char('\n'))) + 1;
    return QRect(kMargin, kMargin, width() - 2 * kMargin, lines * fontMetrics().height());
}

QRect ImageGridView::gridArea() const {
    const int top = m_caption.isEmpty() ? kMargin : captionRect().bottom() + 1 + kMargin;
    return QRect(kMargin, top, width() - 2 * kMargin, height() - top - kMargin);
}

ImageGridView::Layout ImageGridView::layoutFor(int columns, const QRect& area) const {
    Layout layout;
    const int count = static_cast<int>(m_images.size());
    const QSize cell = m_images.first().size();
    layout.columns = columns;
    layout.rows = (count + columns - 1) / columns;
    const double fitX = double(area.width() - (columns - 1) * kSpacing) / (columns * cell.width());
    const double fitY = double(area.height() - (layout.rows - 1) * kSpacing) / (layout.rows * cell.height());
    const double fit = std::min(fitX, fitY);
    // Whole-number magnification keeps every source pixel the same size on screen.
    layout.scale = fit >= 1.0 ? std::floor(fit) : std::max(fit, 0.0);
    const int cellWidth = int(std::lround(cell.width() * layout.scale));
    const int cellHeight = int(std::lround(cell.height() * layout.scale));
    const int gridWidth = columns * cellWidth + (columns - 1) * kSpacing;
    const int gridHeight = layout.rows * cellHeight + (layout.rows - 1) * kSpacing;
    layout.grid = QRect(area.x() + (area.width() - gridWidth) / 2, area.y() + (area.height() - gridHeight) / 2, gridWidth,
                        gridHeight);
    return layout;
}

ImageGridView::Layout ImageGridView::computeLayout() const {
    const int count = static_cast<int>(m_images.size());
    if (count == 0 || m_images.first().isNull()) return {};
    const QRect area = gridArea();
    if (m_requestedColumns > 0) return layoutFor(std::min(m_requestedColumns, count), area);
    Layout best = layoutFor(1, area);
    for (int columns = 2; columns <= count; ++columns) {
        const Layout candidate = layoutFor(columns, area);
        if (candidate.scale > best.scale) best = candidate;
    }
    return best;
}

QRect ImageGridView::cellRect(int index) const {
    if (index < 0 || index >= m_images.size()) return {};
    return cellRectIn(computeLayout(), index);
}

QRect ImageGridView::cellRectIn(const Layout& layout, int index) const {
    if (layout.columns == 0) return {};
    const QSize cell = m_images.first().size();
    const int cellWidth = int(std::lround(cell.width() * layout.scale));
    const int cellHeight = int(std::lround(cell.height() * layout.scale));
    const int column = index % layout.columns;
    const int row = index / layout.columns;
    return QRect(layout.grid.x() + column * (cellWidth + kSpacing), layout.grid.y() + row * (cellHeight + kSpacing),
                 cellWidth, cellHeight);
}

int ImageGridView::indexAt(const QPoint& position) const {
    const Layout layout = computeLayout();
    for (int i = 0; i < m_images.size(); ++i)
        if (cellRectIn(layout, i).contains(position)) return i;
    return -1;
}

void ImageGridView::setWipe(const QVector<QImage>& images, double position) {
    m_wipeImages = images;
    m_wipePosition = std::clamp(std::isfinite(position) ? position : 1.0, 0.0, 1.0);
    update();
}

void ImageGridView::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        const int index = indexAt(event->position().toPoint());
        if (index >= 0) Q_EMIT imageClicked(index);
    }
    QWidget::mouseReleaseEvent(event);
}

QSize ImageGridView::sizeHint() const { return QSize(360, 360); }

QSize ImageGridView::minimumSizeHint() const { return QSize(120, 120); }

void ImageGridView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    if (!m_caption.isEmpty()) {
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(captionRect(), Qt::AlignHCenter | Qt::AlignVCenter, m_caption);
    }
    if (m_images.isEmpty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(gridArea(), Qt::AlignCenter | Qt::TextWordWrap, m_placeholderText);
        return;
    }
    // Nearest-neighbour: without SmoothPixmapTransform the raster engine samples the nearest pixel.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    const Layout layout = computeLayout();
    for (int i = 0; i < m_images.size(); ++i) {
        const QRect cell = cellRectIn(layout, i);
        if (!isWiping() || i >= m_wipeImages.size() || m_wipeImages[i].isNull()) {
            painter.drawImage(cell, m_images[i]);
            continue;
        }
        // Both halves are cut from the full images at the same source columns, so the split
        // line shows the same pixels of the two results side by side.
        const int sourceWidth = m_images[i].width();
        const int splitColumn = int(std::lround(m_wipePosition * sourceWidth));
        const int splitX = cell.left() + int(std::lround(double(splitColumn) / sourceWidth * cell.width()));
        const QRect left(cell.left(), cell.top(), splitX - cell.left(), cell.height());
        const QRect right(splitX, cell.top(), cell.right() + 1 - splitX, cell.height());
        if (splitColumn > 0)
            painter.drawImage(left, m_images[i], QRect(0, 0, splitColumn, m_images[i].height()));
        if (splitColumn < sourceWidth)
            painter.drawImage(right, m_wipeImages[i], QRect(splitColumn, 0, sourceWidth - splitColumn, m_wipeImages[i].height()));
        painter.setPen(QPen(palette().color(QPalette::Highlight), 1));
        painter.drawLine(QPoint(splitX, cell.top()), QPoint(splitX, cell.bottom()));
    }
}
