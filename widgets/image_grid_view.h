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

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

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
    QString m_caption;
    QString m_placeholderText;
    int m_requestedColumns = 0;
};
