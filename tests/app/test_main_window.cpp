#include <QtTest/QtTest>

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QPushButton>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTemporaryDir>

#include "dcscope/mixture_definition.h"
#include "dcscope/package_compensation.h"
#include "error_chart.h"
#include "error_dialog.h"
#include "image_grid_view.h"
#include "main_window.h"
#include "support/window_test_support.h"
#include "ratio_curve_editor.h"
#include "trajectory_gl_view.h"

namespace {

MainWindow::Options builtinOptions(const QString& spec) {
    MainWindow::Options options;
    options.modelSpec = spec;
    return options;
}

using dcscope::testing::child;

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private:
    QStringList m_errors;
    ErrorDialogHook m_previousHook;
    QTemporaryDir m_home;  // ground-truth cache and settings, never the user's

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

    void showsTheFirstResultOnStart() {
        MainWindow window(builtinOptions(QStringLiteral("builtin:gmm-image")));
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr, 30000);
        QTRY_VERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("NFE 10")));
        const auto* plain = child<ImageGridView>(window, "plainView");
        QCOMPARE(plain->images().size(), child<QSpinBox>(window, "batchSpin")->value());
        // Built-in models ship no ratios: a quick search finds them, so DC differs at once.
        QVERIFY(window.lastResult()->compensated);
        QVERIFY(!window.lastResult()->quickSearchRatios.isEmpty());
        QVERIFY(child<ImageGridView>(window, "compensatedView")->images() != plain->images());
        QVERIFY(plain->caption().startsWith(QStringLiteral("UniPC")));
        QCOMPARE(child<ErrorChart>(window, "errorChart")->seriesNames().size(), 2);
        // The ground-truth pane shows core's ground truth of the same datapoints.
        const auto* truth = child<ImageGridView>(window, "groundTruthView");
        QCOMPARE(truth->images().size(), plain->images().size());
        QCOMPARE(truth->images(), window.lastResult()->groundTruthImages);
        // The fine-steps box reads "auto": core's default, 200 in all up to NFE 10.
        QCOMPARE(child<QSpinBox>(window, "fineStepsSpin")->text(), QStringLiteral("auto"));
        QVERIFY(truth->caption().contains(QStringLiteral("200 fine steps")));
        QVERIFY(!child<QPushButton>(window, "cancelButton")->isEnabled());
        QVERIFY(m_errors.isEmpty());
    }

    void sampleButtonUsesTheControls() {
        // Opens on the 2-D model, then switches to the image model through the combo box.
        MainWindow window(builtinOptions(QStringLiteral("builtin:gmm2d")));
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr, 30000);
        QVERIFY(!window.lastResult()->plainPaths.isEmpty());
        QVERIFY(window.lastResult()->plainImages.isEmpty());
        auto* modelCombo = child<QComboBox>(window, "modelCombo");
        const int imageModel = modelCombo->findData(QStringLiteral("builtin:gmm-image"));
        QVERIFY(imageModel >= 0 && imageModel != modelCombo->currentIndex());
        modelCombo->setCurrentIndex(imageModel);
        child<QSpinBox>(window, "nfeSpin")->setValue(6);
        child<QSpinBox>(window, "batchSpin")->setValue(3);
        QCOMPARE(child<RatioCurveEditor>(window, "ratioEditor")->ratios().size(), 6);
        QTest::mouseClick(child<QPushButton>(window, "sampleButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult()->steps == 6 && window.lastResult()->plainImages.size() == 3, 30000);
        QCOMPARE(window.lastResult()->plainImages.first().size(), QSize(8, 8));  // gmm-image's 1x8x8 samples
        QVERIFY(window.lastResult()->plainPaths.isEmpty());
        QTRY_VERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("NFE 6")));
        // The class list comes from the model's labels: two fixed choices plus four classes.
        QCOMPARE(child<QComboBox>(window, "classCombo")->count(), 6);
    }

    void draggingARatioResamplesWithCompensation() {
        MainWindow window(builtinOptions(QStringLiteral("builtin:gmm-image")));
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr, 30000);
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        editor->setRatios(QVector<double>(editor->ratios().size(), 1.0));
        const QPoint start = editor->pointPosition(5).toPoint();
        QTest::mousePress(editor, Qt::LeftButton, {}, start);
        QTest::mouseMove(editor, start + QPoint(0, -30));
        QTest::mouseRelease(editor, Qt::LeftButton, {}, start + QPoint(0, -30));
        QVERIFY(editor->ratios()[5] > 1.0);
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult()->compensated, 30000);
        QVERIFY(window.lastResult()->compensatedImages != window.lastResult()->plainImages);
        QVERIFY(!child<ImageGridView>(window, "compensatedView")->caption().contains(QStringLiteral("same as plain")));
        // The user's curve from now on: no quick search replaces it.
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult()->quickSearchRatios.isEmpty() && !window.lastResult()->plainError.isEmpty(), 30000);
        QVERIFY(!child<ImageGridView>(window, "compensatedView")->caption().contains(QStringLiteral("quick-search")));
    }

    void gmm2dShowsTrajectories() {
        MainWindow window(builtinOptions(QStringLiteral("builtin:gmm-image")));
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr, 30000);
        auto* modelCombo = child<QComboBox>(window, "modelCombo");
        modelCombo->setCurrentIndex(modelCombo->findData(QStringLiteral("builtin:gmm2d")));  // samples at once
        auto* view = child<TrajectoryGlView>(window, "trajectoryView");
        QTRY_VERIFY_WITH_TIMEOUT(!window.lastResult()->plainPaths.isEmpty() && window.lastResult()->hasGroundTruth, 30000);
        // Opened on an image model, the window keeps OpenGL out of itself: the 2-D model's
        // trajectories open in the view's own window.
        QVERIFY(view->window() != &window);
        QTRY_VERIFY(view->isVisible());
        QVERIFY(child<QAction>(window, "trajectoryProjectionAction")->isChecked());
        const TrajectoryScene& scene = view->scene();
        const int batch = child<QSpinBox>(window, "batchSpin")->value();
        QCOMPARE(scene.particles(), batch);
        QCOMPARE(scene.steps(), 10);
        QCOMPARE(scene.density.means.size(), 8);  // gmm2d's eight modes
        // The ground truth at every fine step (200 over 10 intervals), through every coarse time.
        QCOMPARE(scene.fineTimes.size(), 201);
        QCOMPARE(scene.groundTruthFine.first().size(), 201);
        for (int k = 0; k <= 10; ++k) {
            QCOMPARE(scene.fineTimes[scene.coarseFineIndex[k]], scene.times[k]);
            QCOMPARE(scene.groundTruthFine[3][scene.coarseFineIndex[k]], scene.groundTruth[3][k]);
        }
        QCOMPARE(scene.plain.first().size(), 11);
        // VP coefficients: alpha falls with t (f < 0) and noise is added (g^2 > 0) everywhere.
        QCOMPARE(scene.fineDrift.size(), 201);
        for (int f = 0; f <= 200; ++f) QVERIFY(scene.fineDrift[f] < 0 && scene.fineDiffusionSquared[f] > 0);
        // The quick search's ratios drive the DC run; compensation is zero where rho = 1.
        QVERIFY(window.lastResult()->compensated);
        QCOMPARE(scene.ratios.size(), 10);
        QCOMPARE(scene.compensationNorm.first().size(), 10);
        for (int k = 0; k < 10; ++k)
            if (scene.ratios[k] == 1.0) QCOMPARE(scene.compensationNorm.first()[k], 0.0);
            else QVERIFY(scene.compensationNorm.first()[k] > 0.0);
        // The view's step and the error chart follow each other.
        QCOMPARE(view->step(), 10);
        view->setFocus();
        QTest::keyClick(view, Qt::Key_Left);
        QCOMPARE(child<ErrorChart>(window, "errorChart")->highlightedX(), 9.0);
    }

    void aShapedMixtureIsSampledSavedAndReopened() {
        MainWindow window(builtinOptions(QStringLiteral("builtin:gmm2d")));
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() && window.lastResult()->hasGroundTruth, 30000);
        auto* view = child<TrajectoryGlView>(window, "trajectoryView");
        const auto nearOrigin = [](const TrajectoryScene& scene) {
            int count = 0;
            for (const auto& path : scene.groundTruth) count += std::hypot(path.last().x(), path.last().y()) < 0.3;
            return count;
        };
        QCOMPARE(nearOrigin(window.lastResult()->trajectoryScene), 0);  // gmm2d's modes lie on a ring of radius 0.7
        const QVector<double> curve = child<RatioCurveEditor>(window, "ratioEditor")->ratios();
        // A mode at the origin, of the first mode's class (north-east) and spread. Unconditional
        // samples: guidance would push them off the origin, where every class's density overlaps.
        auto* classCombo = child<QComboBox>(window, "classCombo");
        classCombo->setCurrentIndex(classCombo->findData(SamplingRequest::kUnconditional));
        view->setMixtureEditing(true);
        QVERIFY(view->isMixtureEditing());
        QCOMPARE(view->addMode(QPointF(0, 0)), 8);
        QVERIFY(window.editedMixture());
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult()->trajectoryScene.density.means.size() == 9 && window.lastResult()->hasGroundTruth,
                                 30000);
        const TrajectoryScene shaped = window.lastResult()->trajectoryScene;
        // One sample in nine now comes from the new mode: the ground truth ends there.
        QVERIFY2(nearOrigin(shaped) >= 1, qPrintable(QString::number(nearOrigin(shaped))));
        QCOMPARE(child<RatioCurveEditor>(window, "ratioEditor")->ratios(), curve);  // the curve stays
        // The session keeps the unsaved shape: a fresh window restores it.
        const Session session = window.currentSession();
        QVERIFY(!session.editedMixture.isEmpty());
        const QByteArray reread = parseSession(serializeSession(session), QStringLiteral("s.dcscope.json")).editedMixture;
        QVERIFY(dcscope::parseMixtureDefinition(reread.toStdString(), "a") == *window.editedMixture());
        {
            MainWindow::Options quiet = builtinOptions(QStringLiteral("builtin:gmm2d"));
            quiet.sampleOnStart = false;
            MainWindow restored(quiet);
            restored.show();
            restored.applySession(session);
            QTRY_VERIFY_WITH_TIMEOUT(restored.lastResult() && restored.lastResult()->hasGroundTruth, 30000);
            QCOMPARE(restored.lastResult()->trajectoryScene.density.means.size(), 9);
            QCOMPARE(restored.lastResult()->trajectoryScene.groundTruth, shaped.groundTruth);
        }
        QByteArray corrupt = serializeSession(session);
        corrupt.replace("\"std\": 0.08", "\"std\": -1");
        try {
            parseSession(corrupt, QStringLiteral("s.dcscope.json"));
            QFAIL("a session with a bad edited mixture was accepted");
        } catch (const SessionError& error) {
            const QString message = QString::fromUtf8(error.what());
            QVERIFY2(message.contains(QStringLiteral("s.dcscope.json field 'edited_mixture'")) && message.contains(QStringLiteral("std")),
                     qPrintable(message));
        }
        // Saved as a model and reopened as one: the same samples from the same seeds.
        QTemporaryDir folder;
        const QString path = folder.filePath(QStringLiteral("shaped.json"));
        QVERIFY(window.saveMixtureModel(path));
        const dcscope::MixtureDefinition saved = dcscope::readMixtureDefinition(path.toStdString());
        QCOMPARE(int(saved.components.size()), 9);
        QCOMPARE(saved.components[8].mean, (std::vector<double>{0.0, 0.0}));
        QCOMPARE(saved.labels.size(), size_t(4));
        auto* modelCombo = child<QComboBox>(window, "modelCombo");
        QCOMPARE(modelCombo->currentData().toString(), QFileInfo(path).absoluteFilePath());
        QTRY_VERIFY_WITH_TIMEOUT(!window.editedMixture() && window.lastResult()->hasGroundTruth &&
                                     window.lastResult()->plainRecord.modelSpec == QFileInfo(path).absoluteFilePath().toStdString(),
                                 30000);
        QCOMPARE(window.lastResult()->trajectoryScene.groundTruth, shaped.groundTruth);
        QCOMPARE(window.lastResult()->trajectoryScene.compensated, shaped.compensated);
        QCOMPARE(child<RatioCurveEditor>(window, "ratioEditor")->ratios(), curve);
        QVERIFY2(m_errors.isEmpty(), qPrintable(m_errors.join(QLatin1Char('\n'))));
        // A corrupt mixture file is one line naming it, and the window keeps working.
        const QString broken = folder.filePath(QStringLiteral("broken.json"));
        QFile file(broken);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"format": "dcscope-mixture", "version": 1, "components": [{"mean": [0, "x"]}]})");
        file.close();
        window.openModel(broken);
        QTRY_VERIFY_WITH_TIMEOUT(!m_errors.isEmpty(), 30000);
        QVERIFY2(m_errors.last().contains(QStringLiteral("broken.json")) && !m_errors.last().contains(QLatin1Char('\n')),
                 qPrintable(m_errors.last()));
    }

    void packageCprRatiosAreAppliedOnFirstRun() {
        // The embedded package ships fitted CPR coefficients: the first comparison already
        // compensates, with the ratios CPR predicts for the window's NFE and guidance.
        MainWindow::Options options = builtinOptions(QStringLiteral(DCSCOPE_SOURCE_DIR "/assets/models/fashion"));
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        const auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        const auto coefficients = dcscope::loadCprCoefficientsFrom(DCSCOPE_SOURCE_DIR "/assets/models/fashion");
        const auto expected = dcscope::predictCprRatios(coefficients, 3.0, 10);
        QCOMPARE(editor->ratios().size(), 10);
        for (int k = 0; k < 10; ++k) QCOMPARE(editor->ratios()[k], std::clamp(expected[size_t(k)], 0.0, 2.0));
        // Following the package: a new NFE gets that NFE's prediction.
        child<QSpinBox>(window, "nfeSpin")->setValue(6);
        QCOMPARE(editor->ratios()[5], std::clamp(dcscope::predictCprRatios(coefficients, 3.0, 6)[5], 0.0, 2.0));
        child<QSpinBox>(window, "batchSpin")->setValue(2);
        child<QCheckBox>(window, "groundTruthCheck")->setChecked(false);
        QTest::mouseClick(child<QPushButton>(window, "sampleButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr, 120000);
        QVERIFY(window.lastResult()->compensated);
        QVERIFY(window.lastResult()->compensatedImages != window.lastResult()->plainImages);
        QVERIFY(child<ImageGridView>(window, "compensatedView")->caption().contains(QStringLiteral("package CPR")));
    }

    void errorsReachTheDialogHook() {
        MainWindow window(builtinOptions(QStringLiteral(DCSCOPE_SOURCE_DIR "/tests/data/no-such-model")));
        window.show();
        QTRY_COMPARE_WITH_TIMEOUT(m_errors.size(), 1, 30000);
        QVERIFY2(m_errors.first().contains(QStringLiteral("no-such-model")), qPrintable(m_errors.first()));
        QVERIFY(!m_errors.first().contains(QLatin1Char('\n')));
        QVERIFY(window.statusBar()->currentMessage().startsWith(QStringLiteral("Error")));
        QVERIFY(window.lastResult() == nullptr);
    }

    void cancelButtonStopsALongRun() {
        MainWindow::Options options = builtinOptions(QStringLiteral("builtin:gmm-image"));
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        child<QSpinBox>(window, "nfeSpin")->setValue(100);
        child<QSpinBox>(window, "batchSpin")->setValue(256);
        auto* cancel = child<QPushButton>(window, "cancelButton");
        QTest::mouseClick(child<QPushButton>(window, "sampleButton"), Qt::LeftButton);
        QVERIFY(cancel->isEnabled());
        // Cancel the run while it samples (a step of it is on screen), not a request still queued.
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().startsWith(QStringLiteral("Sampling:")), 30000);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().startsWith(QStringLiteral("Cancelled")), 30000);
        QVERIFY(!cancel->isEnabled());
        QVERIFY(window.lastResult() == nullptr);  // 100 steps at batch 256 were far from done
        QVERIFY(m_errors.isEmpty());
    }

    void stepUpdatesAreBatchedIntoAtMostOneRepaintPerInterval() {
        // The worker reports every step of the plain run and of the ground truth (here far more
        // often than every 30 ms); the window shows only the newest one every 30 ms, so a long
        // run costs the UI a bounded number of repaints.
        MainWindow::Options options = builtinOptions(QStringLiteral("builtin:gmm-image"));
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        auto* nfe = child<QSpinBox>(window, "nfeSpin");
        nfe->setValue(nfe->maximum());
        const int steps = nfe->value();
        QCOMPARE(steps, 100);
        child<QSpinBox>(window, "batchSpin")->setValue(8);
        int shown = 0;
        connect(window.statusBar(), &QStatusBar::messageChanged, this, [&](const QString& message) {
            shown += message.startsWith(QStringLiteral("Sampling:"));
        });
        QElapsedTimer elapsed;
        elapsed.start();
        QTest::mouseClick(child<QPushButton>(window, "sampleButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() != nullptr && window.lastResult()->steps == steps, 60000);
        const qint64 milliseconds = elapsed.elapsed();
        qInfo() << steps << "steps in" << milliseconds << "ms," << shown << "step repaints";
        QVERIFY(shown >= 1);
        QVERIFY2(shown <= milliseconds / 30 + 2, qPrintable(QString("%1 repaints in %2 ms").arg(shown).arg(milliseconds)));
    }

    void screenshotOptionWritesAPng() {
        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        MainWindow::Options options = builtinOptions(QStringLiteral("builtin:gmm-image"));
        options.screenshotPath = folder.filePath(QStringLiteral("shot.png"));
        MainWindow window(options);
        window.resize(900, 600);
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(options.screenshotPath), 30000);
        const QImage shot(options.screenshotPath);
        QCOMPARE(shot.size(), window.size());
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
