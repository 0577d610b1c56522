#include <QtTest/QtTest>

#include <QDoubleSpinBox>

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

    void doubleClickTypesAValue() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        QTest::mouseDClick(m_editor, Qt::LeftButton, {}, pointAt(2));
        QVERIFY(m_editor->isEnteringValue());
        QDoubleSpinBox* editor = m_editor->valueEditor();
        QVERIFY(editor);
        editor->clear();
        QTest::keyClicks(editor, QStringLiteral("1.25"));
        QTest::keyClick(editor, Qt::Key_Return);
        QVERIFY(!m_editor->isEnteringValue());
        QCOMPARE(m_editor->ratios()[2], 1.25);
        QCOMPARE(edited.count(), 1);
    }

    void escapeLeavesTheTypedValueUnapplied() {
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        m_editor->setFocus();
        m_editor->setSelectedIndex(4);
        QTest::keyClick(m_editor, Qt::Key_Return);
        QVERIFY(m_editor->isEnteringValue());
        m_editor->valueEditor()->clear();
        QTest::keyClicks(m_editor->valueEditor(), QStringLiteral("0.5"));
        QTest::keyClick(m_editor->valueEditor(), Qt::Key_Escape);
        QVERIFY(!m_editor->isEnteringValue());
        QCOMPARE(m_editor->ratios()[4], 1.0);
        QCOMPARE(edited.count(), 0);
    }

    void keysSelectAndMovePoints() {
        m_editor->setFocus();
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        QTest::keyClick(m_editor, Qt::Key_Right);
        QCOMPARE(m_editor->selectedIndex(), kLocked);  // locked points are never selected
        QTest::keyClick(m_editor, Qt::Key_Left);
        QCOMPARE(m_editor->selectedIndex(), kLocked);
        QTest::keyClick(m_editor, Qt::Key_Right);
        QCOMPARE(m_editor->selectedIndex(), kLocked + 1);
        QTest::keyClick(m_editor, Qt::Key_Up);
        QCOMPARE(m_editor->ratios()[kLocked + 1], 1.05);
        QTest::keyClick(m_editor, Qt::Key_Up, Qt::ShiftModifier);
        QCOMPARE(m_editor->ratios()[kLocked + 1], 1.06);
        QTest::keyClick(m_editor, Qt::Key_Down);
        QTest::keyClick(m_editor, Qt::Key_Down);
        QCOMPARE(m_editor->ratios()[kLocked + 1], 0.96);
        QCOMPARE(edited.count(), 4);  // every key press is one edit
        for (int i = 0; i < kSteps; ++i)
            if (i != kLocked + 1) QCOMPARE(m_editor->ratios()[i], 1.0);
        for (int i = 0; i < 10; ++i) QTest::keyClick(m_editor, Qt::Key_Right);
        QCOMPARE(m_editor->selectedIndex(), kSteps - 1);
    }

    void keysStopAtTheRange() {
        m_editor->setFocus();
        m_editor->setSelectedIndex(3);
        for (int i = 0; i < 30; ++i) QTest::keyClick(m_editor, Qt::Key_Up);
        QCOMPARE(m_editor->ratios()[3], m_editor->maximumValue());
    }

    void pointLabelsNameTheValue() {
        m_editor->setRatios({1.0, 1.0, 0.95, 1.0, 1.0, 1.0});
        QCOMPARE(m_editor->pointLabel(2), QStringLiteral("ρ2 = 0.950"));
        QVERIFY(m_editor->pointLabel(0).contains(QStringLiteral("fixed")));
        QVERIFY(m_editor->pointLabel(kSteps).isEmpty());
    }

    void clickingAnOverlayNameAppliesIt() {
        const QVector<double> fit{1.0, 1.0, 0.8, 0.85, 0.9, 0.95};
        m_editor->setOverlay(QStringLiteral("CPR fit"), fit, Qt::green);
        m_editor->setOverlay(QStringLiteral("file: mine"), QVector<double>(kSteps, 1.2), Qt::gray);
        QCOMPARE(m_editor->overlayNames(), (QStringList{QStringLiteral("CPR fit"), QStringLiteral("file: mine")}));
        QSignalSpy edited(m_editor, &RatioCurveEditor::ratiosEdited);
        const QRectF label = m_editor->overlayLabelRect(QStringLiteral("CPR fit"));
        QVERIFY(!label.isEmpty());
        QVERIFY(!label.intersects(m_editor->overlayLabelRect(QStringLiteral("file: mine"))));
        QTest::mouseClick(m_editor, Qt::LeftButton, {}, label.center().toPoint());
        QCOMPARE(m_editor->ratios(), fit);
        QCOMPARE(edited.count(), 1);
        // Applying the curve already shown is no edit.
        m_editor->applyOverlay(QStringLiteral("CPR fit"));
        QCOMPARE(edited.count(), 1);
    }

    void overlaysAreResampledToTheCurve() {
        m_editor->setOverlay(QStringLiteral("long"), {1.0, 1.0, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.0, 2.0, 2.0}, Qt::green);
        m_editor->applyOverlay(QStringLiteral("long"));
        // 11 points onto 6: positions 0, 2, 4, 6, 8, 10 of the overlay.
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 1.4, 1.8, 2.0, 2.0}));
    }

    void setRatiosKeepsLockedPointsAtOneAndClamps() {
        m_editor->setRatios({0.5, 1.5, 0.8, 7.0, -1.0, 1.2});
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 0.8, 2.0, 0.0, 1.2}));
    }

    void resamplingFollowsTheNormalisedStepPosition() {
        // Step k of S sits at k / (S - 1): the curve keeps its shape when S changes.
        const QVector<double> curve{1.0, 1.0, 0.9, 1.1, 1.2, 1.3};
        const QVector<double> finer = RatioCurveEditor::resampled(curve, 11);
        QCOMPARE(finer.size(), 11);
        QCOMPARE(finer[0], 1.0);
        QCOMPARE(finer[4], 0.9);             // position 2.0
        QVERIFY(qAbs(finer[5] - 1.0) < 1e-12);  // halfway between 0.9 and 1.1
        QCOMPARE(finer[6], 1.1);
        QCOMPARE(finer[10], 1.3);
        QCOMPARE(RatioCurveEditor::resampled(curve, 6), curve);
        QCOMPARE(RatioCurveEditor::resampled({}, 3), (QVector<double>{1.0, 1.0, 1.0}));
        m_editor->setRatios(curve);
        m_editor->resizeRatios(3);  // positions 0, 2.5, 5; the first two are locked at 1
        QCOMPARE(m_editor->ratios(), (QVector<double>{1.0, 1.0, 1.3}));
    }
};

QTEST_MAIN(TestRatioCurveEditor)
#include "test_ratio_curve_editor.moc"
