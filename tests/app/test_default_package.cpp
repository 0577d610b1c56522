// The embedded Fashion-MNIST package: it loads and validates, a fixed-seed CLI sample matches the
// stored reference, and damaged copies of it give the documented errors.
#include <QProcess>
#include <QTemporaryDir>

#include <filesystem>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "dcscope/compensation.h"
#include "dcscope/model.h"
#include "dcscope/package_compensation.h"
#include "dcscope/torchscript_model.h"
#include "dcscope/npy.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

const std::string kPackage = std::string(DCSCOPE_SOURCE_DIR) + "/assets/models/fashion";

using dcscope::testing::runCli;

QString copyPackage(const QTemporaryDir& dir) {
    const fs::path target = fs::path(dir.path().toStdString()) / "fashion";
    fs::copy(kPackage, target, fs::copy_options::recursive);
    return QString::fromStdString(target.string());
}

}  // namespace

class TestDefaultPackage : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void packageLoadsAndValidates() {
        const auto model = dcscope::loadModel(kPackage);
        const auto& info = model->info();
        QCOMPARE(info.sampleShape, (std::vector<int64_t>{1, 32, 32}));
        QCOMPARE(info.numClasses, 10);
        QCOMPARE(info.nullClass, 10);
        QCOMPARE(info.labels.at(9), std::string("Ankle boot"));
        // The shipped package stays small enough to embed.
        uintmax_t bytes = 0;
        for (const auto& entry : fs::recursive_directory_iterator(kPackage))
            if (entry.is_regular_file()) bytes += entry.file_size();
        QVERIFY2(bytes <= 12u * 1024 * 1024, qPrintable(QString::number(bytes)));

        // It ships fitted CPR coefficients and the 40 searched ratio files they were fitted to.
        const auto package = std::dynamic_pointer_cast<dcscope::TorchScriptModel>(model);
        QVERIFY(package && package->compensation() && package->compensation()->cpr);
        QCOMPARE(int(package->compensation()->ratioSamples.size()), 40);
        const auto predicted = dcscope::predictCprRatios(*package->compensation()->cpr, 3.0, 10);
        QCOMPARE(predicted[0], 1.0);
        QVERIFY(std::any_of(predicted.begin(), predicted.end(), [](double rho) { return std::abs(rho - 1.0) > 0.02; }));

        const auto run = runCli({"info"});  // no model: the default package
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("fashion-mnist"));
        QVERIFY(run.out.contains("Ankle boot"));
    }

    void fixedSeedSampleMatchesStoredReference() {
        QTemporaryDir dir;
        const QString out = dir.filePath("sample.npy");
        const auto run = runCli({"sample", "--seed", "0", "--batch", "4", "--class", "0,3,5,9", "--cfg", "3", "--nfe", "10", "--out", out, "-q"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const auto sample = dcscope::loadNpy(out.toStdString());
        const auto reference = dcscope::loadNpy(dcscope::testing::dataFile("fashion_sample_seed0_unipc10_cfg3.npy"));
        QCOMPARE(sample.sizes(), reference.sizes());
        const double difference = dcscope::testing::maxAbsDiff(sample, reference);
        qInfo() << "max abs difference to the stored sample:" << difference;
        QVERIFY2(difference < 2e-3, qPrintable(QString::number(difference)));
    }

    void cprFromThePackageFolderEqualsItsPredictedRatios() {
        QTemporaryDir dir;
        const auto coefficients = dcscope::loadCprCoefficientsFrom(kPackage);
        const auto ratios = dcscope::predictCprRatios(coefficients, 3.0, 8);
        const QString ratioFile = dir.filePath("predicted.json");
        dcscope::saveRatios(ratioFile.toStdString(), ratios, nlohmann::json::object());
        const QStringList common{"sample", "--seed", "3", "--batch", "2", "--class", "1,7", "--cfg", "3", "--nfe", "8", "-q"};
        const auto viaPackage = runCli(common + QStringList{"--cpr", QString::fromStdString(kPackage), "--out", dir.filePath("a.npy")});
        QVERIFY2(viaPackage.exitCode == 0, qPrintable(viaPackage.err));
        const auto viaFile = runCli(common + QStringList{"--ratios", ratioFile, "--out", dir.filePath("b.npy")});
        QVERIFY2(viaFile.exitCode == 0, qPrintable(viaFile.err));
        const auto plain = runCli(common + QStringList{"--out", dir.filePath("c.npy")});
        const auto a = dcscope::loadNpy(dir.filePath("a.npy").toStdString());
        QVERIFY(at::equal(a, dcscope::loadNpy(dir.filePath("b.npy").toStdString())));
        QVERIFY(!at::equal(a, dcscope::loadNpy(dir.filePath("c.npy").toStdString())));

        // quality --cpr is honoured (it used to be accepted and ignored).
        const auto quality = runCli({"quality", "--cpr", QString::fromStdString(kPackage), "--nfe", "4", "--cfg", "3", "--samples", "10", "-q"});
        QVERIFY2(quality.exitCode == 0, qPrintable(quality.err));
        QVERIFY2(quality.out.contains("+DC(CPR)"), qPrintable(quality.out));
    }

    void brokenCompensationEntryIsOneLineNamingTheField() {
        QTemporaryDir dir;
        const QString copy = copyPackage(dir);
        fs::remove(fs::path(copy.toStdString()) / "compensation" / "ratios_nfe10_cfg3.json");
        const auto run = runCli({"info", copy});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains("field 'compensation.ratio_files[") && run.err.contains("ratios_nfe10_cfg3.json"), qPrintable(run.err));
        QCOMPARE(run.err.count(QLatin1Char('\n')), 1);
        const auto cpr = runCli({"sample", "--cpr", copy, "--nfe", "4", "--cfg", "3"});
        QCOMPARE(cpr.exitCode, 2);
        QVERIFY2(cpr.err.contains("compensation.ratio_files"), qPrintable(cpr.err));
    }

    void damagedCopiesGiveTheDocumentedErrors() {
        QTemporaryDir dir;
        const QString truncatedNetwork = copyPackage(dir);
        const auto networkPath = fs::path(truncatedNetwork.toStdString()) / "network.pt";
        fs::resize_file(networkPath, fs::file_size(networkPath) / 2);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(truncatedNetwork.toStdString()), dcscope::ErrorCode::BadModel, networkPath.string());
        auto run = runCli({"info", truncatedNetwork});
        QCOMPARE(run.exitCode, 2);
        QVERIFY(run.err.contains("network.pt"));

        QTemporaryDir dir2;
        const QString truncatedManifest = copyPackage(dir2);
        const auto manifestPath = fs::path(truncatedManifest.toStdString()) / "model.json";
        fs::resize_file(manifestPath, fs::file_size(manifestPath) / 2);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(truncatedManifest.toStdString()), dcscope::ErrorCode::BadFile, manifestPath.string());
        run = runCli({"sample", "--model", truncatedManifest, "--nfe", "2"});
        QCOMPARE(run.exitCode, 2);
        QVERIFY(run.err.contains("model.json"));
    }
};

QTEST_GUILESS_MAIN(TestDefaultPackage)
#include "test_default_package.moc"
