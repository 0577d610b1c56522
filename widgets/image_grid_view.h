#pragma once

#include <QImage>
#include <QString>
#include <QVector>
#include <QWidget>

/// Shows a batch of images (one per sample) as a grid, scaled with nearest-neighbour so single
/// pixels of small samples stay crisp, under an optional caption. Integer scale factors are
/// preferred whenever the images fit at 1:1 or larger. Display only; GUI thread.
class ImageGridView : public QWidget {
    Q_OBJECT

public:
    explicit ImageGridView(QWidget* parent = nullptr);

    /// Replaces the images; all are laid out in cells the size of the first one.
    void setImages(const QVector<QImage>& images);
    const QVector<QImage>& images() const { return m_images; }

    void setCaption(const QString& caption);
    QString caption() const { return m_caption; }

    /// Shown centred while there are no images.
    void setPlaceholderText(const QString& text);
    QString placeholderText() const { return m_placeholderText; }

    /// Fixed number of columns, or 0 (default) to pick the one that shows the images largest.
    void setColumnCount(int columns);
    /// Columns used by the current layout.
    int effectiveColumnCount() const;

    /// Where image `index` is drawn, in widget coordinates; empty when out of range.
    QRect cellRect(int index) const;
    /// The image under `position` (widget coordinates), or -1.
    int indexAt(const QPoint& position) const;

    /// Wipe comparison: each cell shows its own image left of `position` (0..1 of the cell's
    /// width) and the same cell of `images` right of it, split by a thin line. An empty list or
    /// a position of 1 turns the wipe off.
    void setWipe(const QVector<QImage>& images, double position);
    double wipePosition() const { return m_wipePosition; }
    bool isWiping() const { return !m_wipeImages.isEmpty() && m_wipePosition < 1.0; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    /// Image `index` was clicked with the left button.
    void imageClicked(int index);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    struct Layout {
        int columns = 0;
        int rows = 0;
        double scale = 0.0;  // displayed pixels per image pixel
        QRect grid;          // bounding box of all cells
    };
    QRect captionRect() const;
    QRect gridArea() const;
    Layout computeLayout() const;
    Layout layoutFor(int columns, const QRect& area) const;
    QRect cellRectIn(const Layout& layout, int index) const;

    QVector<QImage> m_images;
    QVector<QImage> m_wipeImages;
    double m_wipePosition = 1.0;
    QString m_caption;
    QString m_placeholderText;
    int m_requestedColumns = 0;
};
