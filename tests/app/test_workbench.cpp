// The comparison workbench driven as a user would: real widgets, the real inference worker and
// model, under Xvfb.
#include <QtTest/QtTest>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QWindow>

#include "support/cli_runner.h"
#include "comparison_view.h"
#include "error_chart.h"
#include "error_dialog.h"
#include "image_grid_view.h"
#include "main_window.h"
#include "support/window_test_support.h"
#include "ratio_curve_editor.h"
#include "reproduction_png.h"
#include "sample_detail_dialog.h"
#include "session.h"
#include "trajectory_gl_view.h"

namespace {

constexpr int kTimeoutMs = 60000;

using dcscope::testing::child;

MainWindow::Options imageModel() {
    MainWindow::Options options;
    options.modelSpec = QStringLiteral("builtin:gmm-image");
    return options;
}

bool complete(const MainWindow& window) {
    return window.lastResult() && window.lastResult()->hasGroundTruth && !child<QPushButton>(window, "cancelButton")->isEnabled();
}

/// Shortcuts reach only the active window.
bool activate(MainWindow& window) {
    window.show();
    window.activateWindow();
    return QTest::qWaitForWindowActive(&window);
}

void drag(RatioCurveEditor* editor, int index, int dy) {
    const QPoint start = editor->pointPosition(index).toPoint();
    QTest::mousePress(editor, Qt::LeftButton, {}, start);
    for (int step = 1; step <= 4; ++step) QTest::mouseMove(editor, start + QPoint(0, dy * step / 4));
    QTest::mouseRelease(editor, Qt::LeftButton, {}, start + QPoint(0, dy));
}

}  // namespace

class TestWorkbench : public QObject {
    Q_OBJECT

private:
    QStringList m_errors;
    ErrorDialogHook m_previousHook;
    QTemporaryDir m_home;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_home.isValid());
        dcscope::testing::useTemporaryHome(m_home);
    }

    void init() {
        m_errors.clear();
        m_previousHook = setErrorDialogHook([this](QWidget*, const QString& message) { m_errors.append(message); });
    }

    void cleanup() { setErrorDialogHook(m_previousHook); }

    void captionsShowEachSolversMse() {
        MainWindow window(imageModel());
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        const auto& result = *window.lastResult();
        QVERIFY(result.plainMse > 0);
        // The final MSE is the last point of the RMS error curve, squared.
        QVERIFY(qAbs(result.plainMse - std::pow(result.plainError.last().y(), 2)) < 1e-12);
        const QString plain = child<ImageGridView>(window, "plainView")->caption();
        QVERIFY2(plain.contains(QStringLiteral("MSE %1").arg(result.plainMse, 0, 'e', 2)), qPrintable(plain));
        QVERIFY(plain.contains(QStringLiteral("NFE 10")));
        // A built-in model ships no ratios: a quick search found them; the caption says so and
        // gives the change of the MSE.
        QVERIFY(result.compensated);
        const QString dc = child<ImageGridView>(window, "compensatedView")->caption();
        QVERIFY2(dc.contains(QStringLiteral("quick-search ratios")), qPrintable(dc));
        const double percent = 100.0 * (result.compensatedMse / result.plainMse - 1.0);
        const QString change = QStringLiteral("(%1%2%)").arg(percent < 0 ? QStringLiteral("−") : QStringLiteral("+")).arg(qAbs(percent), 0, 'f', 1);
        QVERIFY2(dc.contains(QStringLiteral("MSE %1 %2").arg(result.compensatedMse, 0, 'e', 2, QLatin1Char('0')).arg(change)), qPrintable(dc));
        QVERIFY(child<RatioCurveEditor>(window, "ratioEditor")->overlayNames().contains(QStringLiteral("quick search")));
        QCOMPARE(child<RatioCurveEditor>(window, "ratioEditor")->ratios(), result.quickSearchRatios);
    }

    void theQuickSearchIsCachedForTheNextWindow() {
        MainWindow::Options options = imageModel();
        MainWindow first(options);
        first.show();
        QTRY_VERIFY_WITH_TIMEOUT(complete(first), kTimeoutMs);
        MainWindow second(options);
        second.show();
        QTRY_VERIFY_WITH_TIMEOUT(complete(second), kTimeoutMs);
        QVERIFY(second.lastResult()->quickSearchFromCache);
        QCOMPARE(second.lastResult()->quickSearchRatios, first.lastResult()->quickSearchRatios);
        QVERIFY(child<ImageGridView>(second, "compensatedView")->caption().contains(QStringLiteral("(cached)")));
    }

    void dragResamplesOnceAfterItSettlesAndChangesTheMse() {
        MainWindow window(imageModel());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        const double before = window.lastResult()->compensatedMse;
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        QSignalSpy requested(&window, &MainWindow::samplingRequested);
        drag(editor, 7, -40);
        const QVector<double> dragged = editor->ratios();
        QVERIFY(dragged[7] > 1.0);
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->compensatedRecord.solver.ratios ==
                                                         std::vector<double>(dragged.begin(), dragged.end()),
                                 kTimeoutMs);
        const int afterSettling = requested.count();
        QVERIFY(afterSettling >= 1);
        // Nothing more is sampled once the drag has settled.
        QTest::qWait(300);
        QCOMPARE(requested.count(), afterSettling);
        QVERIFY(window.lastResult()->compensated);
        QVERIFY(window.lastResult()->compensatedMse != before);
        QCOMPARE(window.lastResult()->compensatedResumedFrom, 7);  // only the steps after the edit
        QVERIFY(child<ImageGridView>(window, "compensatedView")->caption().contains(
            QStringLiteral("MSE %1").arg(window.lastResult()->compensatedMse, 0, 'e', 2)));
    }

    void undoAndRedoRestoreTheCurve() {
        MainWindow window(imageModel());
        QVERIFY(activate(window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        const QVector<double> original = editor->ratios();
        drag(editor, 5, -30);
        const QVector<double> first = editor->ratios();
        drag(editor, 8, 25);
        const QVector<double> second = editor->ratios();
        QVERIFY(first != original && second != first);
        QCOMPARE(window.undoStack().count(), 2);
        QTest::keyClick(&window, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(editor->ratios(), first);
        QTest::keyClick(&window, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(editor->ratios(), original);
        QTest::keyClick(&window, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(editor->ratios(), first);
        // The comparison follows the curve it was undone to.
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->compensatedRecord.solver.ratios ==
                                                         std::vector<double>(first.begin(), first.end()),
                                 kTimeoutMs);
    }

    void keyboardEditsAreUndoableEdits() {
        MainWindow window(imageModel());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        child<QPushButton>(window, "resetRatiosButton")->click();  // every rho 1: one undoable edit
        editor->setFocus();
        QTest::keyClick(editor, Qt::Key_Right);  // the first free point: rho_2 (DC order 2)
        QTest::keyClick(editor, Qt::Key_Down);
        QTest::keyClick(editor, Qt::Key_Down, Qt::ShiftModifier);
        QCOMPARE(editor->ratios()[2], 0.94);
        QCOMPARE(window.undoStack().count(), 3);
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->compensated, kTimeoutMs);
        window.undoStack().undo();
        QCOMPARE(editor->ratios()[2], 0.95);
    }

    void theScrubberShowsStepKEverywhere() {
        MainWindow window(imageModel());
        window.show();
        QVERIFY(activate(window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* comparison = child<ComparisonView>(window, "comparisonView");
        const auto& result = *window.lastResult();
        QCOMPARE(result.predictionFrames.size(), 11);  // steps 0..10
        QCOMPARE(comparison->step(), 10);
        comparison->stepSlider()->setValue(3);
        QCOMPARE(child<ImageGridView>(window, "plainView")->images(), result.predictionFrames[3].plain);
        QCOMPARE(child<ImageGridView>(window, "compensatedView")->images(), result.predictionFrames[3].compensated);
        QCOMPARE(child<ImageGridView>(window, "groundTruthView")->images(), result.predictionFrames[3].groundTruth);
        QCOMPARE(child<ImageGridView>(window, "groundTruthView")->images().size(), 16);
        QCOMPARE(child<ErrorChart>(window, "errorChart")->highlightedX(), 3.0);
        // The x0-prediction differs from the noisy state before the end, and both agree at t_S.
        QVERIFY(result.predictionFrames[3].plain != result.stateFrames[3].plain);
        QCOMPARE(result.predictionFrames[10].plain, result.stateFrames[10].plain);
        QCOMPARE(result.predictionFrames[10].plain, result.plainImages);
        QTest::keyClick(&window, Qt::Key_N, Qt::ControlModifier);
        QVERIFY(comparison->showsNoisyState());
        QCOMPARE(child<ImageGridView>(window, "groundTruthView")->images(), result.stateFrames[3].groundTruth);
        // Step 0's noisy state is the start noise, the same for every pane.
        comparison->setStep(0);
        QCOMPARE(child<ImageGridView>(window, "plainView")->images(), child<ImageGridView>(window, "groundTruthView")->images());
    }

    void cancelKeepsTheLastPrediction() {
        MainWindow::Options options = imageModel();
        options.sampleOnStart = false;
        MainWindow window(options);
        QVERIFY(activate(window));
        child<QSpinBox>(window, "nfeSpin")->setValue(100);
        child<QSpinBox>(window, "batchSpin")->setValue(256);
        // A curve of the user's own (all 1), so no quick search runs first.
        child<RatioCurveEditor>(window, "ratioEditor")->setFocus();
        QTest::keyClick(child<RatioCurveEditor>(window, "ratioEditor"), Qt::Key_Right);
        QTest::keyClick(child<RatioCurveEditor>(window, "ratioEditor"), Qt::Key_Up);
        QTest::keyClick(&window, Qt::Key_Return, Qt::ControlModifier);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().startsWith(QStringLiteral("Sampling: plain run")), kTimeoutMs);
        QTest::keyClick(&window, Qt::Key_Escape);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().startsWith(QStringLiteral("Cancelled")), kTimeoutMs);
        // The plain pane shows an x0-prediction of the run it got to: 256 images, not empty.
        QCOMPARE(child<ImageGridView>(window, "plainView")->images().size(), 256);
        QVERIFY(window.lastResult() == nullptr);
    }

    void aModelThatFailsToLoadLeavesThePreviousOne() {
        MainWindow window(imageModel());
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* models = child<QComboBox>(window, "modelCombo");
        const int entries = models->count();
        // A folder without model.json is refused before anything runs.
        window.openModel(m_home.path());
        QCOMPARE(m_errors.size(), 1);
        QVERIFY(m_errors.first().contains(QStringLiteral("no model.json")));
        QCOMPARE(models->currentData().toString(), QStringLiteral("builtin:gmm-image"));
        // A package whose model.json is broken fails in the worker: the window goes back.
        QTemporaryDir broken;
        QFile manifest(broken.filePath(QStringLiteral("model.json")));
        QVERIFY(manifest.open(QIODevice::WriteOnly));
        manifest.write("{\"name\": \"broken\"");
        manifest.close();
        window.openModel(broken.path());
        QTRY_COMPARE_WITH_TIMEOUT(m_errors.size(), 2, kTimeoutMs);
        QVERIFY2(m_errors.last().contains(QStringLiteral("model.json")), qPrintable(m_errors.last()));
        QCOMPARE(models->currentData().toString(), QStringLiteral("builtin:gmm-image"));
        QCOMPARE(models->count(), entries);
        QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("kept")));
    }

    void clickingASampleEnlargesIt() {
        MainWindow window(imageModel());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* truth = child<ImageGridView>(window, "groundTruthView");
        QTest::mouseClick(truth, Qt::LeftButton, {}, truth->cellRect(5).center());
        SampleDetailDialog* dialog = nullptr;
        QTRY_VERIFY((dialog = window.findChild<SampleDetailDialog*>()) != nullptr);
        // Sample 5 is datapoint seed + 5 with class 5 mod 4 (gmm-image has 4 classes).
        QVERIFY2(dialog->description().contains(QStringLiteral("seed 5")), qPrintable(dialog->description()));
        QVERIFY(dialog->description().contains(QStringLiteral("--class 1")));
        QVERIFY(dialog->description().contains(QString::number(window.lastResult()->plainSampleMse[5], 'e', 2)));
        dialog->close();
    }

    void aSessionRoundTripsEverySetting() {
        MainWindow window(imageModel());
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        child<QComboBox>(window, "solverCombo")->setCurrentIndex(1);
        child<QSpinBox>(window, "orderSpin")->setValue(3);
        child<QComboBox>(window, "gridCombo")->setCurrentIndex(1);
        child<QSpinBox>(window, "nfeSpin")->setValue(8);
        child<QDoubleSpinBox>(window, "guidanceSpin")->setValue(2.5);
        child<QComboBox>(window, "classCombo")->setCurrentIndex(3);
        child<QSpinBox>(window, "batchSpin")->setValue(5);
        child<QSpinBox>(window, "seedSpin")->setValue(4321);
        child<QCheckBox>(window, "seedLockCheck")->setChecked(true);
        child<QSpinBox>(window, "fineStepsSpin")->setValue(150);
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        editor->setFocus();
        QTest::keyClick(editor, Qt::Key_Right);
        QTest::keyClick(editor, Qt::Key_Up);
        auto* comparison = child<ComparisonView>(window, "comparisonView");
        comparison->setColormap(HeatColormap::Viridis);
        comparison->setWipePosition(0.3);
        comparison->setShowNoisyState(true);
        const Session saved = window.currentSession();
        QCOMPARE(saved.nfe, 8);
        QCOMPARE(saved.classChoice, 1);
        const QString path = m_home.filePath(QStringLiteral("round.dcscope.json"));
        QVERIFY(window.saveSessionFile(path));

        MainWindow::Options options;
        options.modelSpec = QStringLiteral("builtin:gmm2d");
        options.sampleOnStart = false;
        MainWindow restored(options);
        restored.show();
        QVERIFY(restored.openSessionFile(path));
        QCOMPARE(serializeSession(restored.currentSession()), serializeSession(saved));
        QTRY_VERIFY_WITH_TIMEOUT(complete(restored), kTimeoutMs);
        QCOMPARE(restored.lastResult()->steps, 8);
        QCOMPARE(restored.lastResult()->firstSeed, uint64_t(4321));
        // The class survives the model's labels arriving.
        QCOMPARE(child<QComboBox>(restored, "classCombo")->currentData().toInt(), 1);
        QVERIFY(m_errors.isEmpty());
    }

    void aCorruptSessionIsRefusedAndLeftAlone() {
        MainWindow::Options options = imageModel();
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        const Session before = window.currentSession();
        const QString path = m_home.filePath(QStringLiteral("corrupt.dcscope.json"));
        const QByteArray truncated = serializeSession(before).left(60);
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(truncated);
        }
        QVERIFY(!window.openSessionFile(path));
        QCOMPARE(m_errors.size(), 1);
        QVERIFY2(m_errors.first().startsWith(path) && m_errors.first().contains(QStringLiteral("truncated")), qPrintable(m_errors.first()));
        QVERIFY(!m_errors.first().contains(QLatin1Char('\n')));
        QCOMPARE(serializeSession(window.currentSession()), serializeSession(before));
        // Saving afterwards does not write over the refused file (Save asks for a path instead).
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll(), truncated);
        // A newer version is refused with its own reason.
        Session future = before;
        QByteArray newer = serializeSession(future).replace("\"version\": 1", "\"version\": 99");
        {
            QFile out(path);
            QVERIFY(out.open(QIODevice::WriteOnly));
            out.write(newer);
        }
        QVERIFY(!window.openSessionFile(path));
        QVERIFY2(m_errors.last().contains(QStringLiteral("newer")), qPrintable(m_errors.last()));
    }

    void anExportedPngReproducesBitForBit() {
        MainWindow window(imageModel());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        drag(editor, 6, -35);
        const QVector<double> ratios = editor->ratios();
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->compensatedRecord.solver.ratios ==
                                                         std::vector<double>(ratios.begin(), ratios.end()),
                                 kTimeoutMs);
        const QString pane = m_home.filePath(QStringLiteral("dc.png"));
        QVERIFY(window.writePanePng(pane, 1));
        const auto record = dcscope::readReproductionRecord(pane.toStdString());
        QCOMPARE(record.solver.ratios, std::vector<double>(ratios.begin(), ratios.end()));
        QCOMPARE(record.resultHash, window.lastResult()->compensatedRecord.resultHash);
        QVERIFY(record.mse.has_value());
        QCOMPARE(*record.mse, window.lastResult()->compensatedMse);
        const auto chunks = dcscope::readPngText(pane.toStdString());
        const auto* parameters = dcscope::findPngText(chunks, dcscope::kParametersKeyword);
        QVERIFY(parameters);
        QVERIFY2(QString::fromStdString(parameters->text).startsWith(QStringLiteral("Steps: 10, Sampler: UniPC (bh2) + DC, CFG scale: 3")),
                 parameters->text.c_str());
        // The CLI re-runs the record and checks the result's hash itself.
        const QString npy = m_home.filePath(QStringLiteral("again.npy"));
        const dcscope::testing::CliRun run = dcscope::testing::runCli({QStringLiteral("sample"), QStringLiteral("--from-png"), pane, QStringLiteral("--out"), npy,
                                   QStringLiteral("--quiet")});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains(QStringLiteral("identical")), qPrintable(run.out));
        // The whole comparison carries the same record.
        const QString comparison = m_home.filePath(QStringLiteral("comparison.png"));
        QVERIFY(window.writeComparisonPng(comparison));
        QCOMPARE(dcscope::readReproductionRecord(comparison.toStdString()).resultHash, record.resultHash);
        QCOMPARE(QImage(comparison).size(), child<ComparisonView>(window, "comparisonView")->size());
    }

    void droppingAnExportRestoresItsSettings() {
        const QString pane = m_home.filePath(QStringLiteral("dropped.png"));
        {
            MainWindow window(imageModel());
            window.show();
            QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
            child<QSpinBox>(window, "seedSpin")->setValue(77);
            child<QSpinBox>(window, "nfeSpin")->setValue(7);
            child<QPushButton>(window, "sampleButton")->click();
            QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->steps == 7, kTimeoutMs);
            QVERIFY(window.writePanePng(pane, 0));
        }
        MainWindow::Options options;
        options.modelSpec = QStringLiteral("builtin:gmm2d");
        MainWindow window(options);
        window.show();
        window.openDroppedPath(pane);
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->steps == 7, kTimeoutMs);
        QCOMPARE(child<QComboBox>(window, "modelCombo")->currentData().toString(), QStringLiteral("builtin:gmm-image"));
        QCOMPARE(child<QSpinBox>(window, "seedSpin")->value(), 77);
        QCOMPARE(window.lastResult()->plainRecord.resultHash, dcscope::readReproductionRecord(pane.toStdString()).resultHash);
        // Something else dropped is refused in one line.
        window.openDroppedPath(m_home.filePath(QStringLiteral("notes.txt")));
        QCOMPARE(m_errors.size(), 1);
        QVERIFY(m_errors.first().contains(QStringLiteral("notes.txt")));
    }

    void ratioFilesRoundTripInBothFormats() {
        MainWindow::Options options = imageModel();
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        editor->setRatios({1.0, 1.0, 0.9, 1.1, 1.2, 0.95, 1.0, 1.05, 1.0, 1.3});
        const QString object = m_home.filePath(QStringLiteral("object.json"));
        const QString list = m_home.filePath(QStringLiteral("list.json"));
        QVERIFY(window.saveRatioFile(object));
        QVERIFY(window.saveRatioFile(list, /*plainList=*/true));
        QFile listFile(list);
        QVERIFY(listFile.open(QIODevice::ReadOnly));
        QVERIFY(listFile.readAll().trimmed().startsWith('['));
        const QVector<double> saved = editor->ratios();
        editor->setRatios(QVector<double>(10, 1.0));
        QVERIFY(window.loadRatioFile(list));
        QCOMPARE(editor->ratios(), saved);
        QVERIFY(editor->overlayNames().contains(QStringLiteral("file: list")));
        child<QSpinBox>(window, "nfeSpin")->setValue(4);
        QVERIFY(window.loadRatioFile(object));
        QCOMPARE(child<QSpinBox>(window, "nfeSpin")->value(), 10);  // a ratio file sets S
        QCOMPARE(editor->ratios(), saved);
        // A malformed file is one line naming it, and changes nothing.
        QFile bad(m_home.filePath(QStringLiteral("bad.json")));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("[1, 1, \"x\"]");
        bad.close();
        QVERIFY(!window.loadRatioFile(bad.fileName()));
        QCOMPARE(m_errors.size(), 1);
        QVERIFY(m_errors.first().contains(QStringLiteral("bad.json")));
        QCOMPARE(editor->ratios(), saved);
    }

    void imageTrajectoriesShowOnThePrincipalPlane() {
        MainWindow window(imageModel());
        QVERIFY(activate(window));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window), kTimeoutMs);
        const TrajectoryScene& scene = window.lastResult()->trajectoryScene;
        QCOMPARE(scene.particles(), 16);
        QCOMPARE(scene.groundTruthFine.first().size(), 201);  // every fine step, projected
        QCOMPARE(scene.plain.first().size(), 11);
        QVERIFY(!scene.density.isValid());  // an image mixture has no 2-D density to draw
        // The final plain and DC states differ on the plane as they do in the images.
        QVERIFY(scene.plain[0][10] != scene.compensated[0][10]);
        // The view has a window of its own: OpenGL stays out of the main window, whose every
        // repaint it would otherwise compose.
        auto* view = child<TrajectoryGlView>(window, "trajectoryView");
        QVERIFY(view->window() != &window);
        QVERIFY(!view->isVisible());
        QCOMPARE(window.windowHandle()->surfaceType(), QSurface::RasterSurface);
        QTest::keyClick(&window, Qt::Key_T, Qt::ControlModifier);
        QTRY_VERIFY(view->isVisible());
        QCOMPARE(view->scene().particles(), 16);
        // Clicking a solver state opens that sample's images at that step.
        QSignalSpy clicked(view, &TrajectoryGlView::stateClicked);
        view->setStep(4);
        const QPoint state = view->dataToWidget(view->scene().compensated[5][4]).toPoint();
        QVERIFY(view->hoverAt(state).valid);
        const int particle = view->hoverAt(state).particle;
        QTest::mouseClick(view, Qt::LeftButton, {}, state);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(child<ComparisonView>(window, "comparisonView")->step(), 4);
        SampleDetailDialog* dialog = nullptr;
        QTRY_VERIFY((dialog = window.findChild<SampleDetailDialog*>()) != nullptr);
        QVERIFY2(dialog->description().contains(QStringLiteral("Sample %1 ").arg(particle)), qPrintable(dialog->description()));
        QVERIFY(dialog->description().contains(QStringLiteral("t_4")));
        QVERIFY(child<ComparisonView>(window, "comparisonView")->isVisible());  // beside it all along
        dialog->close();
        // Ctrl+T in the trajectory window closes it again; so does closing it, which unchecks the action.
        QTest::keyClick(view, Qt::Key_T, Qt::ControlModifier);
        QTRY_VERIFY(!view->isVisible());
        auto* projection = child<QAction>(window, "trajectoryProjectionAction");
        QVERIFY(!projection->isChecked());
        projection->setChecked(true);
        QTRY_VERIFY(view->isVisible());
        view->window()->close();
        QVERIFY(!projection->isChecked());
    }

    void theTrajectoryWindowReopensWhereItWasLeft() {
        MainWindow::Options options = imageModel();
        options.sampleOnStart = false;
        options.restoreGeometry = true;
        options.trajectories = true;  // opened with the window
        const QSize chosen(612, 534);
        {
            MainWindow window(options);
            window.show();
            auto* view = child<TrajectoryGlView>(window, "trajectoryView");
            QTRY_VERIFY(view->isVisible());
            view->window()->resize(chosen);
            QTRY_COMPARE(view->window()->size(), chosen);
            window.close();  // saves the windows' state, and takes the trajectory window with it
            QVERIFY(!view->isVisible());
        }
        MainWindow reopened(options);
        reopened.show();
        auto* view = child<TrajectoryGlView>(reopened, "trajectoryView");
        QTRY_VERIFY(view->isVisible());
        QCOMPARE(view->window()->size(), chosen);
    }
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
