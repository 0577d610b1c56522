// The research panels as a user drives them in the real window, on the exact built-in model: a
// search reports progress and can be cancelled without touching the curve, its result is an
// overlay that applies as one undoable edit; a CPR fit writes coefficients `dcscope-cli cpr
// predict` predicts identically from; the held-out table equals `dcscope-cli evaluate`'s on the
// same settings; a sweep grid has the cells and labels asked for.
#include <QtTest/QtTest>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QLabel>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/cpr.h"
#include "dcscope/search.h"
#include "error_chart.h"
#include "main_window.h"
#include "mse_bar_chart.h"
#include "ratio_curve_editor.h"
#include "research_panel.h"
#include "support/cli_runner.h"
#include "support/window_test_support.h"

namespace {

constexpr int kTimeoutMs = 120000;
using dcscope::testing::child;

MainWindow::Options imageModel() {
    MainWindow::Options options;
    options.modelSpec = QStringLiteral("builtin:gmm-image");
    options.sampleOnStart = false;  // the panels need no comparison on screen
    return options;
}

/// Waits for the panel's next job to end; returns (succeeded, message).
QPair<bool, QString> waitForJob(ResearchPanel* panel) {
    QSignalSpy ended(panel, &ResearchPanel::jobEnded);
    if (!ended.wait(kTimeoutMs)) return {false, QStringLiteral("no end within the timeout")};
    return {ended.first().at(1).toBool(), ended.first().at(2).toString()};
}

}  // namespace

class TestResearchPanel : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_home;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_home.isValid());
        dcscope::testing::useTemporaryHome(m_home);
    }

    void searchShowsProgressAndCancelLeavesTheCurve() {
        MainWindow window(imageModel());
        window.show();
        ResearchPanel* panel = window.researchPanel();
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        const QVector<double> before = editor->ratios();
        // A ground truth big enough to be cancelled in the middle of.
        child<QSpinBox>(*panel, "searchDatapointsSpin")->setValue(256);
        child<QSpinBox>(*panel, "searchFineSpin")->setValue(4000);
        auto* progress = child<QProgressBar>(*panel, "searchProgress");
        panel->startSearch();
        QVERIFY(!child<QPushButton>(*panel, "searchStartButton")->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(progress->maximum() > 0 && progress->value() > 0, kTimeoutMs);
        QVERIFY2(child<QLabel>(*panel, "searchStatus")->text().contains(QStringLiteral("ground truth")),
                 qPrintable(child<QLabel>(*panel, "searchStatus")->text()));
        QSignalSpy ended(panel, &ResearchPanel::jobEnded);
        QTest::mouseClick(child<QPushButton>(*panel, "searchCancelButton"), Qt::LeftButton);
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.first().at(1).toBool(), false);
        QCOMPARE(ended.first().at(2).toString(), QStringLiteral("cancelled"));
        QCOMPARE(editor->ratios(), before);
        QVERIFY(!editor->overlayNames().contains(QString::fromLatin1(ResearchPanel::kSearchOverlay)));
        QVERIFY(panel->searchRatios().isEmpty());
        QVERIFY(child<QPushButton>(*panel, "searchStartButton")->isEnabled());
    }

    void aFinishedSearchIsAnOverlayThatApplies() {
        MainWindow window(imageModel());
        window.show();
        ResearchPanel* panel = window.researchPanel();
        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        child<QSpinBox>(*panel, "searchDatapointsSpin")->setValue(4);
        child<QSpinBox>(*panel, "searchFineSpin")->setValue(100);
        panel->startSearch();
        const auto [succeeded, message] = waitForJob(panel);
        QVERIFY2(succeeded, qPrintable(message));
        const QVector<double> found = panel->searchRatios();
        QCOMPARE(found.size(), window.currentSolverConfig().steps);
        QCOMPARE(found[0], 1.0);  // warm-up steps keep rho = 1
        QVERIFY(editor->overlayNames().contains(QString::fromLatin1(ResearchPanel::kSearchOverlay)));
        // The live chart saw every searched step: the state's MSE before and after, and the
        // prediction's at every searched update but the last (the UniPC corrector's model call).
        // The step's loss, the sum of both relative to rho = 1, is at most 2 at each; at the last
        // update it is the state's alone.
        auto* chart = child<ErrorChart>(*panel, "searchLossChart");
        QCOMPARE(chart->seriesNames().size(), 4);
        const auto lossBefore = chart->seriesPoints(chart->seriesNames()[0]);
        const auto lossAfter = chart->seriesPoints(chart->seriesNames()[1]);
        const auto predictionBefore = chart->seriesPoints(chart->seriesNames()[2]);
        const auto predictionAfter = chart->seriesPoints(chart->seriesNames()[3]);
        const int searchedSteps = int(found.size()) - window.currentSolverConfig().dcOrder;
        QCOMPARE(lossBefore.size(), searchedSteps);
        QCOMPARE(predictionBefore.size(), searchedSteps - 1);
        QCOMPARE(predictionAfter.size(), searchedSteps - 1);
        for (int i = 0; i < searchedSteps - 1; ++i) {
            QCOMPARE(predictionBefore[i].x(), lossBefore[i].x());
            QVERIFY(lossAfter[i].y() / lossBefore[i].y() + predictionAfter[i].y() / predictionBefore[i].y() <= 2 + 1e-12);
        }
        QVERIFY(lossAfter.last().y() <= lossBefore.last().y() * (1 + 1e-12));
        // Apply: the curve becomes the result, as one undoable edit.
        const QVector<double> before = editor->ratios();
        const int undoCount = window.undoStack().count();
        QTest::mouseClick(child<QPushButton>(*panel, "applySearchButton"), Qt::LeftButton);
        for (int i = 0; i < found.size(); ++i) QVERIFY(qAbs(editor->ratios()[i] - found[i]) < 1e-9);
        QCOMPARE(window.undoStack().count(), undoCount + 1);
        window.undoStack().undo();
        QCOMPARE(editor->ratios(), before);
        // Save writes the CLI's ratio file with the search's metadata.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("searched.json"));
        QVERIFY(panel->saveSearchFile(path));
        const auto loaded = dcscope::loadRatios(path.toStdString());
        QCOMPARE(QVector<double>(loaded.begin(), loaded.end()), found);
    }

    void theFinalStateStepsChoicesAreNamed() {
        // gmm2d at guidance 7.5, NFE 6 (the batch `dcscope-cli search` takes there too): the
        // final-state step moves rho_3 from the greedy 0.971 to 2^(-5/4), an interpolating ratio,
        // and the result says so beside the ratios.
        MainWindow::Options options = imageModel();
        options.modelSpec = QStringLiteral("builtin:gmm2d");
        MainWindow window(options);
        window.show();
        child<QSpinBox>(window, "nfeSpin")->setValue(6);
        child<QDoubleSpinBox>(window, "guidanceSpin")->setValue(7.5);
        ResearchPanel* panel = window.researchPanel();
        panel->startSearch();
        const auto [succeeded, message] = waitForJob(panel);
        QVERIFY2(succeeded, qPrintable(message));
        QCOMPARE(panel->searchRatios()[3], dcscope::SearchOptions{}.finalInterpolatingRatios[1]);
        const QString text = child<QLabel>(*panel, "searchResultLabel")->text();
        QVERIFY2(text.contains(QStringLiteral("Against the final state: ρ_3 0.971 → 0.420, below 1 and the greedy ratio: no search "
                                              "datapoint loses.")),
                 qPrintable(text));
    }

    void aCprFitPredictsAsTheCliDoes() {
        MainWindow window(imageModel());
        window.show();
        ResearchPanel* panel = window.researchPanel();
        child<QLineEdit>(*panel, "cprNfeEdit")->setText(QStringLiteral("6 8 10"));
        child<QLineEdit>(*panel, "cprGuidanceEdit")->setText(QStringLiteral("1 2 4"));
        child<QSpinBox>(*panel, "cprDatapointsSpin")->setValue(3);
        child<QSpinBox>(*panel, "searchFineSpin")->setValue(60);
        panel->startCprFit();
        const auto [succeeded, message] = waitForJob(panel);
        QVERIFY2(succeeded, qPrintable(message));
        QCOMPARE(child<QTableWidget>(*panel, "residualTable")->rowCount(), 9);
        QVERIFY(panel->cprCoefficients().has_value());
        QVERIFY(child<RatioCurveEditor>(window, "ratioEditor")->overlayNames().contains(QString::fromLatin1(ResearchPanel::kCprOverlay)));

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("cpr.npy"));
        QVERIFY(panel->saveCprFile(path));
        const auto run = dcscope::testing::runCli({QStringLiteral("cpr"), QStringLiteral("predict"), QStringLiteral("--coeffs"), path,
                                                   QStringLiteral("--nfe"), QStringLiteral("9"), QStringLiteral("--cfg"), QStringLiteral("2.5")});
        QCOMPARE(run.exitCode, 0);
        const QJsonArray printed = QJsonDocument::fromJson(run.out.toUtf8()).array();
        const auto expected = dcscope::predictCprRatios(*panel->cprCoefficients(), 2.5, 9);
        QCOMPARE(printed.size(), int(expected.size()));
        for (int i = 0; i < printed.size(); ++i) QCOMPARE(printed[i].toDouble(), expected[size_t(i)]);
    }

    void theEvaluationTableIsTheClis() {
        MainWindow window(imageModel());
        window.show();
        ResearchPanel* panel = window.researchPanel();
        // A curve from a file, so the CLI can evaluate the same ratios.
        QTemporaryDir dir;
        const QString ratios = dir.filePath(QStringLiteral("curve.json"));
        dcscope::saveRatios(ratios.toStdString(), {1, 1, 1.05, 0.97, 1.1, 0.9, 1.02, 1.0, 0.95, 1.03}, nlohmann::json::object());
        QVERIFY(window.loadRatioFile(ratios));
        child<QSpinBox>(*panel, "heldOutSpin")->setValue(6);
        child<QSpinBox>(*panel, "heldOutSeedSpin")->setValue(3);
        panel->startEvaluation();
        const auto [succeeded, message] = waitForJob(panel);
        QVERIFY2(succeeded, qPrintable(message));
        auto* table = child<QTableWidget>(*panel, "evaluationTable");
        QCOMPARE(table->rowCount(), 4);  // plain, the curve, DPM-Solver++, DDIM

        const auto config = window.currentSolverConfig();
        const auto run = dcscope::testing::runCli(
            {QStringLiteral("evaluate"), QStringLiteral("--model"), QStringLiteral("builtin:gmm-image"), QStringLiteral("--nfe"),
             QString::number(config.steps), QStringLiteral("--cfg"), QString::number(child<QDoubleSpinBox>(window, "guidanceSpin")->value()),
             QStringLiteral("--heldout"), QStringLiteral("6"), QStringLiteral("--seed"), QStringLiteral("3"), QStringLiteral("--ratios"), ratios},
            m_home.filePath(QStringLiteral("cache")));
        QCOMPARE(run.exitCode, 0);
        const QStringList lines = run.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2 + table->rowCount());  // the settings, the header, one line per row
        for (int row = 0; row < table->rowCount(); ++row) {
            // name NFE mean [lower, upper] ratio
            const QStringList fields =
                QString(lines[2 + row]).remove(QLatin1Char('[')).remove(QLatin1Char(']')).remove(QLatin1Char(',')).split(QLatin1Char(' '), Qt::SkipEmptyParts);
            QString name = table->item(row, 0)->text();
            if (row == 1) {
                QCOMPARE(name, QStringLiteral("unipc-bh2-2+DC(current)"));
                name = QStringLiteral("unipc-bh2-2+DC(curve.json)");
            }
            QCOMPARE(fields[0], name);
            QCOMPARE(fields[1], table->item(row, 1)->text());
            QCOMPARE(fields[2], table->item(row, 2)->text());
            QCOMPARE(fields[3], table->item(row, 3)->text());
            QCOMPARE(fields[4], table->item(row, 4)->text());
            QCOMPARE(fields[5], table->item(row, 5)->text());
        }
        QCOMPARE(child<MseBarChart>(*panel, "evaluationBarChart")->bars().size(), 4);
    }

    void aSweepGridHasItsCellsAndLabels() {
        MainWindow window(imageModel());
        window.show();
        ResearchPanel* panel = window.researchPanel();
        child<QLineEdit>(*panel, "sweepNfeEdit")->setText(QStringLiteral("5 8"));
        child<QSpinBox>(*panel, "sweepSamplesSpin")->setValue(2);
        panel->startSweep();
        const auto [succeeded, message] = waitForJob(panel);
        QVERIFY2(succeeded, qPrintable(message));
        const SweepGrid* grid = panel->sweepGrid();
        QVERIFY(grid);
        QCOMPARE(grid->rowLabels, QStringList({QStringLiteral("NFE 5"), QStringLiteral("NFE 8")}));
        QCOMPARE(grid->columnLabels.size(), 4);
        QCOMPARE(grid->cells.size(), 8);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sweep.png"));
        QVERIFY(panel->saveSweepFile(path));
        QCOMPARE(QImage(path).size(), grid->image.size());
        // A list that is not numbers is refused in one line naming the field, and nothing runs.
        child<QLineEdit>(*panel, "sweepNfeEdit")->setText(QStringLiteral("5 eight"));
        panel->startSweep();
        QVERIFY(!panel->isBusy());
        QVERIFY2(child<QLabel>(*panel, "sweepStatus")->text().startsWith(QStringLiteral("NFE list: 'eight'")),
                 qPrintable(child<QLabel>(*panel, "sweepStatus")->text()));
    }
};

QTEST_MAIN(TestResearchPanel)
#include "test_research_panel.moc"
