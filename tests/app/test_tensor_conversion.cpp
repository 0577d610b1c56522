// Tensors to the widgets' Qt types: value range to bytes, planar channels to pixels, points and
// paths, and the one-line errors for shapes that are neither.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <string>

#include "dcscope/errors.h"
#include "tensor_conversion.h"

class TestTensorConversion : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void greyImagesMapTheValueRangeToBytes() {
        // One 1x2x3 sample in [-1, 1]: -1 -> 0, 1 -> 255, 0 -> 127.5 rounded to 128, out of range clipped.
        const at::Tensor batch = at::tensor({-1.0f, 0.0f, 1.0f, -3.0f, 2.0f, 0.5f}).view({1, 1, 2, 3});
        const QVector<QImage> images = imagesFromBatch(batch, {-1.0, 1.0});
        QCOMPARE(images.size(), 1);
        const QImage& image = images.first();
        QCOMPARE(image.format(), QImage::Format_Grayscale8);
        QCOMPARE(image.size(), QSize(3, 2));  // width = W, height = H
        const int expected[2][3] = {{0, 128, 255}, {0, 255, 191}};
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 3; ++x) QCOMPARE(int(image.constScanLine(y)[x]), expected[y][x]);
        // Another value range (a model in [0, 1]), and several samples in order.
        const at::Tensor two = at::stack({at::full({1, 2, 2}, 0.0f), at::full({1, 2, 2}, 1.0f)});
        const QVector<QImage> pair = imagesFromBatch(two, {0.0, 1.0});
        QCOMPARE(pair.size(), 2);
        QCOMPARE(qGray(pair[0].pixel(1, 1)), 0);
        QCOMPARE(qGray(pair[1].pixel(1, 1)), 255);
    }

    void rgbImagesInterleaveThePlanes() {
        at::Tensor batch = at::full({1, 3, 1, 2}, -1.0f);
        batch[0][0][0][0] = 1.0f;  // red at x = 0
        batch[0][2][0][1] = 1.0f;  // blue at x = 1
        const QImage image = imagesFromBatch(batch, {-1.0, 1.0}).first();
        QCOMPARE(image.format(), QImage::Format_RGB888);
        QCOMPARE(image.pixel(0, 0), qRgb(255, 0, 0));
        QCOMPARE(image.pixel(1, 0), qRgb(0, 0, 255));
        // Other channel counts show the first channel as grey.
        at::Tensor four = at::full({1, 4, 1, 1}, -1.0f);
        four[0][0][0][0] = 1.0f;
        const QImage grey = imagesFromBatch(four, {-1.0, 1.0}).first();
        QCOMPARE(grey.format(), QImage::Format_Grayscale8);
        QCOMPARE(qGray(grey.pixel(0, 0)), 255);
    }

    void pointsAndPaths() {
        const at::Tensor step0 = at::tensor({0.5, -1.0, 2.0, 3.0}, at::kDouble).view({2, 2});
        QCOMPARE(pointsFromBatch(step0), (QVector<QPointF>{{0.5, -1.0}, {2.0, 3.0}}));
        QVector<QVector<QPointF>> paths;
        appendToPaths(paths, step0);
        appendToPaths(paths, step0 * 2);
        QCOMPARE(paths.size(), 2);
        QCOMPARE(paths[1], (QVector<QPointF>{{2.0, 3.0}, {4.0, 6.0}}));  // sample b's path gets sample b
    }

    void otherShapesAreOneLineErrors() {
        for (const auto& bad : {at::zeros({2, 8, 8}), at::zeros({2, 1, 1, 8, 8})}) {
            try {
                imagesFromBatch(bad, {-1.0, 1.0});
                QFAIL("accepted a non-image shape");
            } catch (const dcscope::Error& e) {
                QCOMPARE(e.code(), dcscope::ErrorCode::InvalidArgument);
                QVERIFY2(std::string(e.what()).find("[B,C,H,W]") != std::string::npos, e.what());
            }
        }
        try {
            pointsFromBatch(at::zeros({4, 3}));
            QFAIL("accepted 3-D points");
        } catch (const dcscope::Error& e) {
            QVERIFY2(std::string(e.what()).find("[B,2]") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestTensorConversion)
#include "test_tensor_conversion.moc"
