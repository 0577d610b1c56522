#include <QtTest/QtTest>

#include <QImage>

#include "image_grid_view.h"

namespace {

QImage checkerboard2x2() {
    QImage image(2, 2, QImage::Format_RGB32);
    image.setPixelColor(0, 0, Qt::red);
    image.setPixelColor(1, 0, Qt::green);
    image.setPixelColor(0, 1, Qt::blue);
    image.setPixelColor(1, 1, Qt::white);
    return image;
}

QImage filled(int width, int height, QColor color) {
    QImage image(width, height, QImage::Format_RGB32);
    image.fill(color);
    return image;
}

}  // namespace

class TestImageGridView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void emptyViewHasNoCells() {
        ImageGridView view;
        view.resize(200, 200);
        QCOMPARE(view.cellRect(0), QRect());
        QCOMPARE(view.effectiveColumnCount(), 0);
        QVERIFY(!view.grab().isNull());  // painting the placeholder must not crash
    }

    void scalesWithNearestNeighbour() {
        ImageGridView view;
        view.resize(212, 212);
        view.setImages({checkerboard2x2()});
        const QRect cell = view.cellRect(0);
        QCOMPARE(cell.width(), cell.height());
        QVERIFY2(cell.width() >= 100 && cell.width() % 2 == 0, "a 2x2 image should be scaled by a whole number");
        const int pixel = cell.width() / 2;  // screen pixels per image pixel
        const QImage shot = view.grab().toImage();
        // The last screen pixel of an image pixel and the first of its neighbour keep their exact
        // colours: no interpolation happened at the boundary.
        QCOMPARE(shot.pixelColor(cell.left() + pixel - 1, cell.top()), QColor(Qt::red));
        QCOMPARE(shot.pixelColor(cell.left() + pixel, cell.top()), QColor(Qt::green));
        QCOMPARE(shot.pixelColor(cell.left(), cell.top() + pixel), QColor(Qt::blue));
        QCOMPARE(shot.pixelColor(cell.right(), cell.bottom()), QColor(Qt::white));
    }

    void laysOutCellsInRowsWithoutOverlap() {
        ImageGridView view;
        view.resize(420, 300);
        QVector<QImage> images;
        for (int i = 0; i < 6; ++i) images.append(filled(8, 8, QColor::fromHsv(i * 50, 200, 200)));
        view.setImages(images);
        const int columns = view.effectiveColumnCount();
        QVERIFY(columns >= 2 && columns <= 6);
        for (int i = 0; i < images.size(); ++i) {
            const QRect cell = view.cellRect(i);
            QVERIFY(view.rect().contains(cell));
            QCOMPARE(cell.width() % 8, 0);
            for (int j = 0; j < i; ++j) QVERIFY(!cell.intersects(view.cellRect(j)));
        }
        QCOMPARE(view.cellRect(1).top(), view.cellRect(0).top());                  // same row
        QVERIFY(view.cellRect(columns).top() > view.cellRect(0).bottom());         // next row
        QCOMPARE(view.cellRect(images.size()), QRect());
        const QImage shot = view.grab().toImage();
        QCOMPARE(shot.pixelColor(view.cellRect(5).center()), images[5].pixelColor(0, 0));
    }

    void fixedColumnCountIsHonoured() {
        ImageGridView view;
        view.resize(400, 400);
        view.setImages(QVector<QImage>(5, filled(4, 4, Qt::gray)));
        view.setColumnCount(1);
        QCOMPARE(view.effectiveColumnCount(), 1);
        QCOMPARE(view.cellRect(1).left(), view.cellRect(0).left());
        view.setColumnCount(0);
        QVERIFY(view.effectiveColumnCount() > 1);
    }

    void captionSitsAboveTheGrid() {
        ImageGridView view;
        view.resize(300, 300);
        view.setImages({filled(8, 8, Qt::black)});
        const QRect withoutCaption = view.cellRect(0);
        view.setCaption(QStringLiteral("UniPC"));
        QCOMPARE(view.caption(), QStringLiteral("UniPC"));
        QVERIFY(view.cellRect(0).top() > view.fontMetrics().height());
        QVERIFY(view.cellRect(0).height() <= withoutCaption.height());
    }

    void clickingACellNamesItsImage() {
        ImageGridView view;
        view.resize(300, 300);
        view.setColumnCount(2);
        QVector<QImage> images;
        for (int i = 0; i < 4; ++i) {
            QImage image(8, 8, QImage::Format_Grayscale8);
            image.fill(i * 50);
            images.append(image);
        }
        view.setImages(images);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy clicked(&view, &ImageGridView::imageClicked);
        QCOMPARE(view.indexAt(view.cellRect(2).center()), 2);
        QCOMPARE(view.indexAt(QPoint(1, 1)), -1);
        QTest::mouseClick(&view, Qt::LeftButton, {}, view.cellRect(3).center());
        QTest::mouseClick(&view, Qt::LeftButton, {}, QPoint(1, 1));  // between cells: nothing
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().first().toInt(), 3);
    }
};

QTEST_MAIN(TestImageGridView)
#include "test_image_grid_view.moc"
