#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <filesystem>
#include <fstream>

#include "default_model.h"

namespace fs = std::filesystem;

namespace {

void makePackage(const fs::path& folder) {
    fs::create_directories(folder);
    std::ofstream(folder / "model.json") << "{}";
}

}  // namespace

class TestDefaultModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void candidatesStartNextToTheExecutable() {
        const fs::path executable = fs::path("/opt/dcscope/bin/dcscope");
        const auto candidates = defaultModelCandidates(executable);
        QVERIFY(candidates.size() >= 2);
        QCOMPARE(candidates[0], fs::path("/opt/dcscope/share/dcscope/models/fashion"));
        QCOMPARE(candidates[1], fs::path("/opt/dcscope/bin/assets/models/fashion"));
        QCOMPARE(candidates.back(), (fs::path(DCSCOPE_SOURCE_DIR) / "assets/models/fashion").lexically_normal());
    }

    void installedPackageWinsOverTheOthers() {
        QTemporaryDir root;
        QVERIFY(root.isValid());
        const fs::path prefix = root.path().toStdString();
        makePackage(prefix / "share/dcscope/models/fashion");
        makePackage(prefix / "bin/assets/models/fashion");
        QCOMPARE(findDefaultModel(prefix / "bin/dcscope"), std::optional<fs::path>(prefix / "share/dcscope/models/fashion"));
    }

    void folderWithoutManifestIsSkipped() {
        QTemporaryDir root;
        QVERIFY(root.isValid());
        const fs::path prefix = root.path().toStdString();
        fs::create_directories(prefix / "share/dcscope/models/fashion");  // no model.json
        makePackage(prefix / "bin/assets/models/fashion");
        QCOMPARE(findDefaultModel(prefix / "bin/dcscope"), std::optional<fs::path>(prefix / "bin/assets/models/fashion"));
    }

    void nothingNearbyFallsBackToTheSourceTree() {
        QTemporaryDir root;
        QVERIFY(root.isValid());
        const auto found = findDefaultModel(fs::path(root.path().toStdString()) / "bin/dcscope");
        // The repository's own package, named independently of the lookup under test.
        const fs::path sourcePackage = (fs::path(DCSCOPE_SOURCE_DIR) / "assets" / "models" / "fashion").lexically_normal();
        QVERIFY(fs::exists(sourcePackage / "model.json"));
        QCOMPARE(found, std::optional<fs::path>(sourcePackage));
    }
};

QTEST_GUILESS_MAIN(TestDefaultModel)
#include "test_default_model.moc"
