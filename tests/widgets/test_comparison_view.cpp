#include <QtTest/QtTest>

#include <QCheckBox>
#include <QSlider>

#include "colormap_legend.h"
#include "comparison_view.h"
#include "image_grid_view.h"

namespace {

constexpr int kSteps = 4;
constexpr int kSamples = 4;

/// A 4x4 grey image of one value: which frame and pane an image came from is its value.
QImage solid(int value) {
    QImage image(4, 4, QImage::Format_Grayscale8);
    image.fill(value);
    return image;
}

HeatMap uniformMap(float value) {
    HeatMap map;
    map.width = map.height = 4;
    map.values = QVector<float>(16, value);
    return map;
}

/// Frame k: plain 10k, DC 10k + 1, ground truth 10k + 2 (+100 for the noisy states); the DC
/// difference is half the plain one, and both grow with k.
QVector<ComparisonFrame> frames(int offset) {
    QVector<ComparisonFrame> result;
    for (int k = 0; k <= kSteps; ++k) {
        ComparisonFrame frame;
        for (int b = 0; b < kSamples; ++b) {
            frame.plain.append(solid(offset + 10 * k));
            frame.compensated.append(solid(offset + 10 * k + 1));
            frame.groundTruth.append(solid(offset + 10 * k + 2));
            frame.plainDifference.append(uniformMap(0.1f * float(k + 1)));
            frame.compensatedDifference.append(uniformMap(0.05f * float(k + 1)));
        }
        result.append(frame);
    }
    return result;
}

int valueShown(const ImageGridView* view) { return qGray(view->images().first().pixel(0, 0)); }

}  // namespace

class TestComparisonView : public QObject {
    Q_OBJECT

private:
    ComparisonView* m_view = nullptr;

    ImageGridView* pane(ComparisonView::Pane which) const { return m_view->pane(which); }

private Q_SLOTS:
    void init() {
        m_view = new ComparisonView;
        m_view->resize(900, 600);
        m_view->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_view));
    }

    void cleanup() {
        delete m_view;
        m_view = nullptr;
    }

    void framesOpenOnTheLastStep() {
        QSignalSpy stepChanged(m_view, &ComparisonView::stepChanged);
        QVERIFY(!m_view->stepSlider()->isEnabled());
        m_view->setFrames(frames(0), frames(100));
        QCOMPARE(m_view->stepCount(), kSteps);
        QCOMPARE(m_view->step(), kSteps);
        QVERIFY(m_view->stepSlider()->isEnabled());
        QCOMPARE(stepChanged.count(), 1);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 40);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Compensated)), 41);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::GroundTruth)), 42);
        QCOMPARE(pane(ComparisonView::Pane::Plain)->images().size(), kSamples);
    }

    void theScrubberShowsStepKInEveryPane() {
        m_view->setFrames(frames(0), frames(100));
        QSignalSpy stepChanged(m_view, &ComparisonView::stepChanged);
        m_view->stepSlider()->setValue(2);
        QCOMPARE(stepChanged.count(), 1);
        QCOMPARE(stepChanged.first().first().toInt(), 2);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 20);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Compensated)), 21);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::GroundTruth)), 22);
        // The noisy states of the same step.
        m_view->noisyStateCheck()->setChecked(true);
        QVERIFY(m_view->showsNoisyState());
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 120);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::GroundTruth)), 122);
        m_view->setStep(99);  // clamped to S
        QCOMPARE(m_view->step(), kSteps);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Compensated)), 141);
    }

    void newFramesKeepTheStepWhenAsked() {
        m_view->setFrames(frames(0), frames(100));
        m_view->setStep(1);
        m_view->setFrames(frames(1), frames(101), /*keepStep=*/true);
        QCOMPARE(m_view->step(), 1);
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 11);
        m_view->setFrames(frames(0), frames(100));
        QCOMPARE(m_view->step(), kSteps);
    }

    void differenceRowsShareOneScale() {
        m_view->setFrames(frames(0), frames(100));
        // Step S: plain differences 0.5, DC 0.25: one scale, the larger.
        QCOMPARE(m_view->differenceScale(), double(0.5f));
        const auto* legend = m_view->findChild<ColormapLegend*>(QStringLiteral("differenceLegend"));
        QVERIFY(legend);
        QCOMPARE(legend->scale(), m_view->differenceScale());
        const QImage plain = m_view->differencePane(ComparisonView::Pane::Plain)->images().first();
        const QImage dc = m_view->differencePane(ComparisonView::Pane::Compensated)->images().first();
        const QImage strip = heatColormapStrip(HeatColormap::Inferno, 256, 1);
        QCOMPARE(plain.pixel(0, 0), strip.pixel(255, 0));  // the largest value takes the top colour
        QCOMPARE(dc.pixel(0, 0), strip.pixel(128, 0));     // half of it, the middle one
        m_view->setStep(0);
        QCOMPARE(m_view->differenceScale(), double(0.1f));
        m_view->setColormap(HeatColormap::Gray);
        QCOMPARE(qGray(m_view->differencePane(ComparisonView::Pane::Compensated)->images().first().pixel(0, 0)), 128);
        QCOMPARE(legend->colormap(), HeatColormap::Gray);
    }

    void withoutAGroundTruthTheDifferenceRowsAreEmpty() {
        QVector<ComparisonFrame> noTruth = frames(0);
        for (ComparisonFrame& frame : noTruth) {
            frame.groundTruth.clear();
            frame.plainDifference.clear();
            frame.compensatedDifference.clear();
        }
        m_view->setFrames(noTruth, noTruth);
        QVERIFY(m_view->differencePane(ComparisonView::Pane::Plain)->images().isEmpty());
        QCOMPARE(m_view->differenceScale(), 0.0);
    }

    void clickingASampleNamesIt() {
        m_view->setFrames(frames(0), frames(100));
        QSignalSpy clicked(m_view, &ComparisonView::sampleClicked);
        ImageGridView* view = pane(ComparisonView::Pane::GroundTruth);
        QTest::mouseClick(view, Qt::LeftButton, {}, view->cellRect(3).center());
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().first().toInt(), 3);
        ImageGridView* difference = m_view->differencePane(ComparisonView::Pane::Compensated);
        QTest::mouseClick(difference, Qt::LeftButton, {}, difference->cellRect(1).center());
        QCOMPARE(clicked.last().first().toInt(), 1);
    }

    void theWipeShowsPlainInTheDcPane() {
        m_view->setFrames(frames(0), frames(100));
        QVERIFY(!pane(ComparisonView::Pane::Compensated)->isWiping());
        m_view->setWipePosition(0.5);
        QCOMPARE(m_view->wipePosition(), 0.5);
        ImageGridView* dc = pane(ComparisonView::Pane::Compensated);
        QVERIFY(dc->isWiping());
        const QImage shown = dc->grab().toImage();
        const QRect cell = dc->cellRect(0);
        // Left of the split: DC (41); right of it: plain (40).
        QCOMPARE(qGray(shown.pixel(cell.left() + 1, cell.center().y())), 41);
        QCOMPARE(qGray(shown.pixel(cell.right() - 1, cell.center().y())), 40);
    }

    void liveImagesDisableTheScrubberUntilTheNextFrames() {
        m_view->setFrames(frames(0), frames(100));
        m_view->showLive(ComparisonView::Pane::Plain, {solid(7), solid(7)});
        QVERIFY(!m_view->stepSlider()->isEnabled());
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 7);
        m_view->setFrames(frames(0), frames(100));
        QVERIFY(m_view->stepSlider()->isEnabled());
        QCOMPARE(valueShown(pane(ComparisonView::Pane::Plain)), 40);
    }

    void allGridsUseTheSameColumns() {
        m_view->setFrames(frames(0), frames(100));
        const int columns = pane(ComparisonView::Pane::Plain)->effectiveColumnCount();
        QCOMPARE(columns, 2);  // ceil(sqrt(4))
        QCOMPARE(m_view->differencePane(ComparisonView::Pane::Compensated)->effectiveColumnCount(), columns);
        QCOMPARE(pane(ComparisonView::Pane::GroundTruth)->effectiveColumnCount(), columns);
    }
};

QTEST_MAIN(TestComparisonView)
#include "test_comparison_view.moc"
