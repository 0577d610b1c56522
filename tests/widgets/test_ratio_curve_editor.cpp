#include <QtTest/QtTest>

#include "ratio_curve_editor.h"

namespace {

constexpr int kSteps = 6;
constexpr int kLocked = 2;

}  // namespace

class TestRatioCurveEditor : public QObject {
    Q_OBJECT

private:
    RatioCurveEditor* m_editor = nullptr;

    QPoint pointAt(int index) const { return m_editor->pointPosition(index).toPoint(); }
    double valuePerPixel() const {
        return (m_editor->maximumValue() - m_editor->minimumValue()) / m_editor->plotArea().height();
    }
    void drag(int index, int dy) {
        const QPoint start = pointAt(index);
        QTest::mousePress(m_editor, Qt::LeftButton, {}, start);
        QTest::mouseMove(m_editor, start + QPoint(0, dy / 2));
        QTest::mouseMove(m_editor, start + QPoint(0, dy));
        QTest::mouseRelease(m_editor, Qt::LeftButton, {}, start + QPoint(0, dy));
    }

private Q_SLOTS:
    void init() {
        m_editor = new RatioCurveEditor;
        m_editor->resize(480, 220);
        m_editor->setLockedCount(kLocked);
        m_editor->setRatios(QVector<double>(kSteps, 1.0));
        m_editor->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_editor));
    }

    void cleanup() {
        delete m_editor;
        m_editor = nullptr;
    }

    void draggingUpRaisesByThePixelDistance() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        QSignalSpy changing(m_editor, &RatioCurveEditor::ratiosChanging);
        drag(3, -40);
        QCOMPARE(edited.count(), 1);
        QVERIFY(changing.count() >= 1);
        const auto ratios = edited.first().first().value<QVector<double>>();
        QCOMPARE(ratios.size(), kSteps);
        QVERIFY(qAbs(ratios[3] - (1.0 + 40 * valuePerPixel())) < 1e-9);
        for (int i = 0; i < kSteps; ++i)
            if (i != 3) QCOMPARE(ratios[i], 1.0);
        QCOMPARE(m_editor->ratios(), ratios);
    }

    void draggingDownLowers() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        drag(5, 25);
        QCOMPARE(edited.count(), 1);
        QVERIFY(qAbs(m_editor->ratios()[5] - (1.0 - 25 * valuePerPixel())) < 1e-9);
    }

    void lockedPointsDoNotMove() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        QSignalSpy changing(m_editor, &RatioCurveEditor::ratiosChanging);
        for (int index = 0; index < kLocked; ++index) drag(index, -50);
        QCOMPARE(edited.count(), 0);
        QCOMPARE(changing.count(), 0);
        QCOMPARE(m_editor->ratios()[0], 1.0);
        QCOMPARE(m_editor->ratios()[1], 1.0);
    }

    void dragIsClampedToTheRange() {
        drag(4, -2000);
        QCOMPARE(m_editor->ratios()[4], m_editor->maximumValue());
        drag(4, 4000);
        QCOMPARE(m_editor->ratios()[4], m_editor->minimumValue());
    }

    void pressAwayFromPointsDoesNothing() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        const QPoint empty = pointAt(3) + QPoint(0, 60);
        QTest::mousePress(m_editor, Qt::LeftButton, {}, empty);
        QTest::mouseMove(m_editor, empty + QPoint(0, -30));
        QTest::mouseRelease(m_editor, Qt::LeftButton, {}, empty + QPoint(0, -30));
        QCOMPARE(edited.count(), 0);
        QCOMPARE(m_editor->ratios(), QVector<double>(kSteps, 1.0));
    }

    void doubleClickResetsToOne() {
        drag(2, -30);
        QVERIFY(m_editor->ratios()[2] > 1.0);
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        QTest::mouseDClick(m_editor, Qt::LeftButton, {}, pointAt(2));
        QCOMPARE(m_editor->ratios()[2], 1.0);
        QCOMPARE(edited.count(), 1);
    }

    void setRatiosKeepsLockedPointsAtOneAndClamps() {
        m_editor->setRatios({0.5, 1.5, 0.8, 7.0, -1.0, 1.2});
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 0.8, 2.0, 0.0, 1.2}));
    }

    void resizeKeepsValuesAndFillsWithOne() {
        m_editor->setRatios({1.0, 1.0, 0.9, 1.1, 1.2, 1.3});
        m_editor->resizeRatios(8);
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 0.9, 1.1, 1.2, 1.3, 1.0, 1.0}));
        m_editor->resizeRatios(3);
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 0.9}));
    }
};

QTEST_MAIN(TestRatioCurveEditor)
#include "test_ratio_curve_editor.moc"
