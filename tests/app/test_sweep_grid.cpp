// Sweep grids on the exact built-in models: the cells and labels of both layouts, every MSE equal
// to an independent sampler run against an independently computed (uncached) ground truth, one
// ground truth per distinct (guidance, time grid), the DC ratios' rule (the curve resampled, or
// CPR), the image growing with the grid, the PNG written, refused specs and cancellation.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <QDir>
#include <QImage>
#include <QImageReader>
#include <QTemporaryDir>

#include <cmath>
#include <memory>
#include <optional>

#include "dcscope/cancel.h"
#include "dcscope/cpr.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "support/test_support.h"
#include "support/window_test_support.h"
#include "sweep_grid.h"

namespace {

using dcscope::ErrorCode;

const QStringList kSolverColumns{QStringLiteral("UniPC (bh2)"), QStringLiteral("UniPC (bh2) + DC"),
                                 QStringLiteral("DPM-Solver++ (2M)"), QStringLiteral("DDIM")};

/// A small NFE x solver spec; the curve is linear in k / 9, so its resampling has a closed form.
SweepSpec smallSpec() {
    SweepSpec spec;
    spec.base.steps = 10;
    for (int k = 0; k < 10; ++k) spec.base.ratios.push_back(0.9 + 0.3 * k / 9.0);
    spec.guidance = 2.0;
    spec.nfes = {5, 8};
    spec.seed = 7;
    spec.samples = 2;
    spec.groundTruthFineSteps = 50;
    return spec;
}

struct Independent {
    double mse = 0.0;
    int truthCalls = 0;  // of the ground truth's one fine solve (no error estimate, as the grid's)
};

/// The cell's MSE computed anew: same datapoints, its configuration, an uncached ground truth.
Independent independentRun(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::SolverConfig& config, double guidance) {
    const dcscope::Datapoints data = dcscope::makeDatapoints(model, spec.seed, spec.samples);
    const at::Tensor classes = spec.classChoice == -2 ? at::Tensor() : data.classes;
    dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{classes, guidance});
    const dcscope::MultistepSampler sampler(model.schedule(), config);
    dcscope::GroundTruthOptions options;
    options.fineSteps = spec.groundTruthFineSteps;
    options.estimateError = false;
    options.useCache = false;
    const dcscope::GroundTruth truth = dcscope::computeGroundTruth(denoiser, data.noise, sampler.times(), options);
    const at::Tensor final = sampler.run(denoiser, data.noise);
    return {(final.to(at::kDouble) - truth.finalState().to(at::kDouble)).pow(2).mean().item<double>(), truth.modelEvaluations};
}

bool closeRelative(double a, double b, double tolerance = 1e-12) {
    return std::abs(a - b) <= tolerance * std::max(std::abs(a), std::abs(b));
}

void checkCells(const SweepGrid& grid) {
    const int columns = int(grid.columnLabels.size());
    QCOMPARE(grid.cells.size(), grid.rowLabels.size() * columns);
    for (int i = 0; i < grid.cells.size(); ++i) {
        const SweepCell& cell = grid.cells[i];
        QCOMPARE(cell.row, i / columns);  // row-major
        QCOMPARE(cell.column, i % columns);
        QCOMPARE(cell.label, grid.rowLabels[cell.row] + QStringLiteral(", ") + grid.columnLabels[cell.column]);
        QVERIFY2(std::isfinite(cell.mse) && cell.mse >= 0.0, qPrintable(cell.label));
        QCOMPARE(cell.modelCalls, cell.config.steps);  // NFE = S for every solver here
    }
    QVERIFY(!grid.image.isNull());
}

int cellCalls(const SweepGrid& grid) {
    int calls = 0;
    for (const SweepCell& cell : grid.cells) calls += cell.modelCalls;
    return calls;
}

}  // namespace

class TestSweepGrid : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        m_image = dcscope::loadModel("builtin:gmm-image");
        m_points = dcscope::loadModel("builtin:gmm2d");
    }

    // Every test function starts with an empty ground-truth cache of its own.
    void init() {
        m_home = std::make_unique<QTemporaryDir>();
        QVERIFY(m_home->isValid());
        dcscope::testing::useTemporaryHome(*m_home);
    }

    void nfeBySolverMatchesIndependentRuns() {
        const SweepSpec spec = smallSpec();
        const SweepGrid grid = computeSweepGrid(*m_image, spec, nullptr);
        QCOMPARE(grid.rowLabels, QStringList({QStringLiteral("NFE 5"), QStringLiteral("NFE 8")}));
        QCOMPARE(grid.columnLabels, kSolverColumns);
        QCOMPARE(grid.cells.size(), 8);
        checkCells(grid);
        for (int row = 0; row < 2; ++row) {
            const int nfe = spec.nfes[row];
            const SweepCell& plain = grid.cells[row * 4];
            const SweepCell& dc = grid.cells[row * 4 + 1];
            QVERIFY(plain.config.ratios.empty());
            QVERIFY(plain.config.solver == dcscope::SolverType::UniPC);
            QCOMPARE(plain.config.steps, nfe);
            QCOMPARE(dc.plainColumn, 0);
            // The curve resampled over k / (S - 1), rho_k = 1 for k < dc-order.
            QCOMPARE(int(dc.config.ratios.size()), nfe);
            for (int k = 0; k < nfe; ++k) {
                const double expected = k < spec.base.dcOrder ? 1.0 : 0.9 + 0.3 * k / double(nfe - 1);
                QVERIFY2(closeRelative(dc.config.ratios[size_t(k)], expected), qPrintable(QString::number(k)));
            }
            QVERIFY(grid.cells[row * 4 + 2].config.solver == dcscope::SolverType::DpmSolverPlusPlus);
            QCOMPARE(grid.cells[row * 4 + 2].config.order, 2);
            QVERIFY(grid.cells[row * 4 + 3].config.solver == dcscope::SolverType::Ddim);
            QCOMPARE(grid.cells[row * 4 + 3].config.order, 1);
            QVERIFY(grid.cells[row * 4 + 3].config.ratios.empty());
        }
        // Every MSE is an independent run's; one ground truth per NFE, shared by its row.
        int truthCalls = 0;
        for (const SweepCell& cell : grid.cells) {
            const Independent run = independentRun(*m_image, spec, cell.config, spec.guidance);
            QVERIFY2(closeRelative(cell.mse, run.mse), qPrintable(QStringLiteral("%1: %2 vs %3").arg(cell.label).arg(cell.mse).arg(run.mse)));
            if (cell.column == 0) truthCalls += run.truthCalls;
        }
        QCOMPARE(grid.groundTruths, 2);
        QCOMPARE(grid.modelCalls, cellCalls(grid) + truthCalls);
        QVERIFY(grid.seconds > 0.0);
        // The DC curve is not the identity here, so the DC column differs from the plain one.
        QVERIFY(grid.cells[1].mse != grid.cells[0].mse);
        // The ground truths went to the disk cache: the same grid again costs only the cells.
        const SweepGrid again = computeSweepGrid(*m_image, spec, nullptr);
        QCOMPARE(again.modelCalls, cellCalls(again));
        for (int i = 0; i < grid.cells.size(); ++i) QCOMPARE(again.cells[i].mse, grid.cells[i].mse);
    }

    void aBaselineThatIsTheBaseSolverIsLeftOut() {
        SweepSpec spec = smallSpec();
        spec.base.solver = dcscope::SolverType::DpmSolverPlusPlus;
        spec.nfes = {5};
        const SweepGrid grid = computeSweepGrid(*m_image, spec, nullptr);
        QCOMPARE(grid.columnLabels, QStringList({QStringLiteral("DPM-Solver++ (2M)"), QStringLiteral("DPM-Solver++ (2M) + DC"),
                                                 QStringLiteral("DDIM")}));
        checkCells(grid);
        QCOMPARE(grid.cells[1].plainColumn, 0);
        QVERIFY(!grid.cells[1].config.ratios.empty());
    }

    void guidanceByNfeUsesCprWhenGiven() {
        SweepSpec spec = smallSpec();
        spec.layout = SweepLayout::GuidanceByNfe;
        spec.guidances = {1.0, 3.0};
        dcscope::CprCoefficients cpr{};
        cpr[8] = 1.1;    // x^0 g^0 n^0: a constant
        cpr[17] = -0.2;  // x^1 g^0 n^0: falling along the steps
        spec.cpr = cpr;
        const SweepGrid grid = computeSweepGrid(*m_image, spec, nullptr);
        QCOMPARE(grid.rowLabels, QStringList({QStringLiteral("guidance 1"), QStringLiteral("guidance 3")}));
        QCOMPARE(grid.columnLabels, QStringList({QStringLiteral("NFE 5"), QStringLiteral("NFE 8")}));
        checkCells(grid);
        QCOMPARE(grid.groundTruths, 4);
        int truthCalls = 0;
        for (const SweepCell& cell : grid.cells) {
            const double guidance = spec.guidances[cell.row];
            QCOMPARE(cell.guidance, guidance);
            QCOMPARE(cell.config.steps, spec.nfes[cell.column]);
            std::vector<double> expected = dcscope::predictCprRatios(cpr, guidance, cell.config.steps);
            for (int k = 0; k < spec.base.dcOrder; ++k) expected[size_t(k)] = 1.0;
            QCOMPARE(cell.config.ratios, expected);
            QCOMPARE(cell.plainColumn, -1);
            const Independent run = independentRun(*m_image, spec, cell.config, guidance);
            QVERIFY2(closeRelative(cell.mse, run.mse), qPrintable(cell.label));
            truthCalls += run.truthCalls;
        }
        QCOMPARE(grid.modelCalls, cellCalls(grid) + truthCalls);
        // Without DC every cell samples plainly.
        spec.compensated = false;
        spec.guidances = {3.0};
        const SweepGrid plain = computeSweepGrid(*m_image, spec, nullptr);
        QCOMPARE(plain.cells.size(), 2);
        for (const SweepCell& cell : plain.cells) QVERIFY(cell.config.ratios.empty());
        QCOMPARE(plain.cells[1].mse, independentRun(*m_image, spec, plain.cells[1].config, 3.0).mse);
    }

    void pointModelsDrawScatters() {
        SweepSpec spec = smallSpec();
        spec.samples = 3;
        spec.classChoice = -2;  // unconditional
        const SweepGrid grid = computeSweepGrid(*m_points, spec, nullptr);
        QCOMPARE(grid.columnLabels, kSolverColumns);
        checkCells(grid);
        for (const int i : {0, 1}) {
            const SweepCell& cell = grid.cells[4 + i];
            QVERIFY2(closeRelative(cell.mse, independentRun(*m_points, spec, cell.config, spec.guidance).mse), qPrintable(cell.label));
        }
        QVERIFY(grid.image.height() > 2 * 160);  // two rows of 160 px scatter plots
    }

    void theImageGrowsWithTheGrid() {
        SweepSpec spec = smallSpec();
        spec.nfes = {5};
        const QImage one = computeSweepGrid(*m_image, spec, nullptr).image;
        spec.nfes = {5, 8};
        const QImage two = computeSweepGrid(*m_image, spec, nullptr).image;
        QVERIFY(two.height() > one.height());
        QCOMPARE(two.width(), one.width());
        // Columns of 4 samples: three of them are wider than the title and notes.
        spec.layout = SweepLayout::GuidanceByNfe;
        spec.guidances = {2.0};
        spec.samples = 4;
        spec.nfes = {5};
        const QImage narrow = computeSweepGrid(*m_image, spec, nullptr).image;
        spec.nfes = {5, 8, 10};
        const QImage wide = computeSweepGrid(*m_image, spec, nullptr).image;
        QVERIFY(wide.width() > narrow.width());
        QCOMPARE(wide.height(), narrow.height());
        // Tiny 8x8 samples are enlarged to 64 px: the row is at least that tall, the grid that wide.
        QVERIFY(narrow.height() >= 64 + 40);
        QVERIFY(wide.width() >= 3 * (4 * 64));
    }

    void savesAReadablePng() {
        SweepSpec spec = smallSpec();
        spec.nfes = {5};
        const SweepGrid grid = computeSweepGrid(*m_image, spec, nullptr);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("grid.png"));
        QString error;
        QVERIFY2(saveSweepGrid(grid, path, &error), qPrintable(error));
        QImageReader reader(path);
        QCOMPARE(reader.format(), QByteArray("png"));
        const QImage read = reader.read();
        QCOMPARE(read.size(), grid.image.size());
        QCOMPARE(read.convertToFormat(QImage::Format_RGB32), grid.image.convertToFormat(QImage::Format_RGB32));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList({QStringLiteral("grid.png")}));  // no temporary left
        // A folder that does not exist: one line naming the file.
        const QString missing = dir.filePath(QStringLiteral("no/such/folder/grid.png"));
        QVERIFY(!saveSweepGrid(grid, missing, &error));
        QVERIFY2(error.startsWith(missing + QStringLiteral(": ")) && !error.contains(QLatin1Char('\n')), qPrintable(error));
        QVERIFY(!saveSweepGrid(SweepGrid{}, path, &error));
        QVERIFY2(error.startsWith(path), qPrintable(error));
        QCOMPARE(QImage(path).size(), grid.image.size());  // the good file is left as it was
    }

    void validateNamesTheField_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("no nfes") << 0 << "NFE list";
        QTest::newRow("nfe 0") << 1 << "NFE list";
        QTest::newRow("no guidances") << 2 << "guidance list";
        QTest::newRow("nan guidance") << 3 << "guidance";
        QTest::newRow("samples 0") << 4 << "samples";
        QTest::newRow("samples 17") << 5 << "samples";
        QTest::newRow("too many cells") << 6 << "cells";
        QTest::newRow("fine steps") << 7 << "fine steps";
        QTest::newRow("class") << 8 << "class";
    }

    void validateNamesTheField() {
        QFETCH(int, which);
        QFETCH(QString, fragment);
        SweepSpec spec = smallSpec();
        switch (which) {
        case 0: spec.nfes.clear(); break;
        case 1: spec.nfes = {5, 0}; break;
        case 2: spec.layout = SweepLayout::GuidanceByNfe; break;
        case 3: spec.guidance = std::nan(""); break;
        case 4: spec.samples = 0; break;
        case 5: spec.samples = 17; break;
        case 6: spec.nfes = QVector<int>(17, 5); break;  // 17 rows x 4 columns = 68 > 64
        case 7: spec.groundTruthFineSteps = -1; break;
        default: spec.classChoice = -3; break;
        }
        DCSCOPE_EXPECT_ERROR(validate(spec), ErrorCode::InvalidArgument, fragment.toStdString());
        DCSCOPE_EXPECT_ERROR(computeSweepGrid(*m_image, spec, nullptr), ErrorCode::InvalidArgument, fragment.toStdString());
        validate(smallSpec());  // the unchanged spec passes
        // A class the model does not have is only known with the model.
        spec = smallSpec();
        spec.classChoice = 4;
        DCSCOPE_EXPECT_ERROR(computeSweepGrid(*m_image, spec, nullptr), ErrorCode::InvalidArgument, "class: 4");
    }

    void progressAndCancellation() {
        SweepSpec spec = smallSpec();
        QVector<int> done;
        int totals = 0;
        computeSweepGrid(*m_image, spec, nullptr, [&](int d, int total, const QString& what) {
            done << d;
            totals = total;
            QVERIFY(!what.isEmpty());
        });
        QCOMPARE(totals, 8);
        QCOMPARE(done, QVector<int>({0, 1, 2, 3, 4, 5, 6, 7, 8}));
        // A token set before the call: nothing runs.
        dcscope::CancelToken cancelled;
        cancelled.requestCancel();
        DCSCOPE_EXPECT_ERROR(computeSweepGrid(*m_image, spec, &cancelled), ErrorCode::Cancelled, "cancelled");
        // Set while the grid runs (from the progress callback, before the third cell).
        dcscope::CancelToken token;
        int calls = 0;
        DCSCOPE_EXPECT_ERROR(computeSweepGrid(*m_image, spec, &token,
                                              [&](int d, int, const QString&) {
                                                  ++calls;
                                                  if (d == 2) token.requestCancel();
                                              }),
                             ErrorCode::Cancelled, "cancelled");
        QCOMPARE(calls, 3);
    }

private:
    std::shared_ptr<dcscope::DiffusionModel> m_image;
    std::shared_ptr<dcscope::DiffusionModel> m_points;
    std::unique_ptr<QTemporaryDir> m_home;
};

QTEST_MAIN(TestSweepGrid)
#include "test_sweep_grid.moc"
