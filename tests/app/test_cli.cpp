// dcscope-cli as a user runs it: real processes, real files, exit codes and one-line errors.
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>

#include <signal.h>
#include <sys/types.h>
#include <filesystem>
#include <fstream>

#include "dcscope/model.h"
#include "dcscope/npy.h"
#include "dcscope/search.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

namespace {

using dcscope::testing::runCli;
using dcscope::testing::writeText;

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sampleWritesOutputsAndTrajectory() {
        QTemporaryDir dir;
        const QString out = dir.filePath("x.npy"), png = dir.filePath("grid.png"), trajectory = dir.filePath("traj");
        const auto run = runCli({"sample", "--model", "builtin:gmm-image", "--seed", "3", "--batch", "4", "--class", "0,1,2,3",
                                 "--cfg", "3", "--nfe", "6", "--out", out, "--png", png, "--trajectory", trajectory, "-q"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const auto x = dcscope::loadNpy(out.toStdString());
        QCOMPARE(x.sizes(), (c10::IntArrayRef{4, 1, 8, 8}));
        QVERIFY(QFileInfo(png).size() > 100);
        for (int step = 0; step <= 6; ++step) {
            QVERIFY(QFileInfo::exists(QString("%1/x_%2.npy").arg(trajectory).arg(step, 3, 10, QChar('0'))));
            QVERIFY(QFileInfo::exists(QString("%1/x0_%2.npy").arg(trajectory).arg(step, 3, 10, QChar('0'))));
        }
        QVERIFY(at::equal(dcscope::loadNpy((trajectory + "/x_006.npy").toStdString()), x));
        QVERIFY(QFileInfo::exists(trajectory + "/trajectory.json"));

        // The same seed gives the same samples; --noise with those start values does too.
        const QString again = dir.filePath("again.npy");
        QCOMPARE(runCli({"sample", "--model", "builtin:gmm-image", "--seed", "3", "--batch", "4", "--class", "0,1,2,3", "--cfg", "3",
                         "--nfe", "6", "--out", again, "-q"})
                     .exitCode,
                 0);
        QVERIFY(at::equal(dcscope::loadNpy(again.toStdString()), x));
        const QString fromNoise = dir.filePath("from_noise.npy");
        QCOMPARE(runCli({"sample", "--model", "builtin:gmm-image", "--noise", trajectory + "/x_000.npy", "--class", "0,1,2,3", "--cfg",
                         "3", "--nfe", "6", "--out", fromNoise, "-q"})
                     .exitCode,
                 0);
        QVERIFY(at::equal(dcscope::loadNpy(fromNoise.toStdString()), x));

        // Seed 3, sample b is datapoint 3 + b: the start noise of the search and the window.
        const auto model = dcscope::loadModel("builtin:gmm-image");
        QVERIFY(at::equal(dcscope::loadNpy((trajectory + "/x_000.npy").toStdString()),
                          dcscope::makeDatapoints(*model, 3, 4).noise));
        QVERIFY(at::equal(dcscope::loadNpy((trajectory + "/x_000.npy").toStdString()).slice(0, 1, 2),
                          dcscope::makeDatapoints(*model, 4, 1).noise));
    }

    void ratiosFromFileChangeTheResultUnlessAllOne() {
        QTemporaryDir dir;
        writeText(dir.filePath("ones.json"), "[1, 1, 1, 1, 1, 1]");
        writeText(dir.filePath("dc.json"), R"({"ratios": [1, 1, 0.9, 1.1, 0.95, 1.0], "nfe": 6})");
        auto sampleWith = [&](const QString& ratios, const QString& out) {
            QStringList args{"sample", "--model", "builtin:gmm2d", "--batch", "8", "--nfe", "6", "--out", dir.filePath(out), "-q"};
            if (!ratios.isEmpty()) args << "--ratios" << dir.filePath(ratios);
            return runCli(args);
        };
        const auto loaded = [&](const QString& out) { return dcscope::loadNpy(dir.filePath(out).toStdString()); };
        for (const auto& [ratios, out] : {std::pair<QString, QString>{"", "plain.npy"}, {"ones.json", "ones.npy"}, {"dc.json", "dc.npy"}}) {
            const auto run = sampleWith(ratios, out);
            QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        }
        QVERIFY(at::equal(loaded("ones.npy"), loaded("plain.npy")));
        QVERIFY(!at::equal(loaded("dc.npy"), loaded("plain.npy")));
    }

    void infoSummarisesAModel() {
        const auto run = runCli({"info", "builtin:gmm2d"});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("gmm2d"));
        QVERIFY(run.out.contains("4 classes"));
    }

    void mixtureFileIsAcceptedAsAModel() {
        QTemporaryDir dir;
        const QString mixture = dir.filePath("ring.json"), out = dir.filePath("x.npy");
        writeText(mixture, R"({"format": "dcscope-mixture", "version": 1, "name": "two-spots", "labels": ["east", "west"],
            "components": [{"mean": [0.5, 0.0], "weight": 3, "std": 0.05, "class": 0}, {"mean": [-0.5, 0.0], "std": 0.2, "class": 1}]})");
        // `info` takes the model as its positional argument or with --model, as every command does.
        const auto info = runCli({"info", mixture});
        QVERIFY2(info.exitCode == 0, qPrintable(info.err));
        QVERIFY2(info.out.contains("two-spots") && info.out.contains("2 classes") && info.out.contains("west"), qPrintable(info.out));
        const auto flagged = runCli({"info", "--model", mixture});
        QVERIFY2(flagged.exitCode == 0, qPrintable(flagged.err));
        QCOMPARE(flagged.out, info.out);
        const auto run = runCli({"sample", "--model", mixture, "--nfe", "5", "--batch", "4", "--class", "0,1,0,1", "--out", out, "-q"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const auto x = dcscope::loadNpy(out.toStdString());
        QCOMPARE(x.sizes(), (c10::IntArrayRef{4, 2}));
        QVERIFY(at::isfinite(x).all().item<bool>());

        const QString corrupt = dir.filePath("corrupt.json");
        writeText(corrupt, R"({"format": "dcscope-mixture", "version": 1, "name": "r", "components": [{"mean": [0, 0]}, {"mean": [1, 1], "std": -0.1}]})");
        for (const QStringList& arguments : {QStringList{"sample", "--model", corrupt, "--nfe", "5", "-q"}, QStringList{"info", corrupt}}) {
            const auto bad = runCli(arguments);
            QVERIFY2(bad.exitCode != 0, qPrintable(bad.out));
            QVERIFY2(bad.err.contains(corrupt + ": components[1].std: must be > 0"), qPrintable(bad.err));
            QCOMPARE(bad.err.trimmed().count('\n'), 0);
        }
        writeText(corrupt, "{\"format\": \"dcscope-mixture\", \"vers");
        const auto truncated = runCli({"info", corrupt});
        QVERIFY2(truncated.exitCode != 0 && truncated.err.contains(corrupt + ": not valid JSON"), qPrintable(truncated.err));
        QCOMPARE(truncated.err.trimmed().count('\n'), 0);
    }

    void badInputGivesExitTwoAndOneLineNamingTheCulprit_data() {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("fragment");
        const QStringList base{"sample", "--model", "builtin:gmm-image", "-q"};
        QTest::newRow("nfe 0") << (base + QStringList{"--nfe", "0"}) << "nfe";
        QTest::newRow("order 4") << (base + QStringList{"--nfe", "5", "--order", "4"}) << "order";
        QTest::newRow("unknown solver") << (base + QStringList{"--nfe", "5", "--solver", "euler"}) << "solver";
        QTest::newRow("unknown grid") << (base + QStringList{"--nfe", "5", "--skip", "karras"}) << "time grid";
        QTest::newRow("class out of range") << (base + QStringList{"--nfe", "5", "--class", "7"}) << "class";
        QTest::newRow("class count") << (base + QStringList{"--nfe", "5", "--batch", "3", "--class", "0,1"}) << "class";
        QTest::newRow("missing model") << QStringList{"sample", "--model", "/nonexistent/pkg", "--nfe", "5"} << "/nonexistent/pkg";
        QTest::newRow("unknown builtin") << QStringList{"info", "builtin:nope"} << "builtin:nope";
        QTest::newRow("missing noise") << (base + QStringList{"--nfe", "5", "--noise", "/nonexistent/n.npy"}) << "/nonexistent/n.npy";
        QTest::newRow("missing nfe") << QStringList{"sample", "--model", "builtin:gmm2d"} << "--nfe";
        QTest::newRow("bad device") << (base + QStringList{"--nfe", "5", "--device", "tpu"}) << "device";
    }
    void badInputGivesExitTwoAndOneLineNamingTheCulprit() {
        QFETCH(QStringList, arguments);
        QFETCH(QString, fragment);
        const auto run = runCli(arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(fragment), qPrintable(run.err));
        QCOMPARE(run.err.trimmed().count('\n'), 0);
    }

    void badFilesGiveExitTwo() {
        QTemporaryDir dir;
        writeText(dir.filePath("garbage.npy"), "not numpy at all");
        writeText(dir.filePath("bad.json"), "[1, 1, ");
        writeText(dir.filePath("short.json"), "[1, 1, 0.9]");
        writeText(dir.filePath("rho0.json"), "[0.5, 1, 1, 1, 1]");
        // A NaN in the start noise.
        auto nanNoise = at::randn({2, 1, 8, 8});
        nanNoise[0][0][0][0] = NAN;
        dcscope::saveNpy(dir.filePath("nan.npy").toStdString(), nanNoise);
        dcscope::saveNpy(dir.filePath("shape.npy").toStdString(), at::randn({2, 1, 7, 8}));
        const QStringList base{"sample", "--model", "builtin:gmm-image", "--nfe", "5", "-q"};
        const std::vector<std::pair<QStringList, QString>> cases = {
            {base + QStringList{"--noise", dir.filePath("garbage.npy")}, "garbage.npy"},
            {base + QStringList{"--noise", dir.filePath("nan.npy")}, "NaN"},
            {base + QStringList{"--noise", dir.filePath("shape.npy")}, "shape"},
            {base + QStringList{"--ratios", dir.filePath("bad.json")}, "bad.json"},
            {base + QStringList{"--ratios", dir.filePath("short.json")}, "short.json: has 3 ratios, --nfe is 5"},
            {base + QStringList{"--ratios", dir.filePath("rho0.json")}, "rho_0"},
        };
        for (const auto& [arguments, fragment] : cases) {
            const auto run = runCli(arguments);
            QVERIFY2(run.exitCode == 2 && run.err.contains(fragment), qPrintable(run.err));
        }
    }

    void ctrlCStopsWithinAModelCallWithExitCode130() {
        // A run far too long to finish: SIGINT once it is sampling must end it with exit code 130
        // and one line on stderr, without waiting for the remaining steps.
        QProcess process;
        process.start(QStringLiteral(DCSCOPE_CLI_PATH), {"sample", "--model", "builtin:gmm-image", "--batch", "64", "--nfe", "100000"});
        QVERIFY(process.waitForStarted());
        process.setReadChannel(QProcess::StandardError);  // the progress line
        QString progress;
        while (!progress.contains(QStringLiteral("step")) && process.waitForReadyRead(10000)) progress += process.readAllStandardError();
        QVERIFY2(progress.contains(QStringLiteral("step")), qPrintable(progress));  // it is sampling
        QElapsedTimer sinceInterrupt;
        sinceInterrupt.start();
        QCOMPARE(::kill(pid_t(process.processId()), SIGINT), 0);
        QVERIFY(process.waitForFinished(10000));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 130);
        QVERIFY(sinceInterrupt.elapsed() < 5000);
        const QString rest = QString::fromUtf8(process.readAllStandardError());
        const QString lastLine = rest.trimmed().section(QLatin1Char('\n'), -1);
        QVERIFY2(lastLine.contains(QStringLiteral("cancel"), Qt::CaseInsensitive), qPrintable(rest));
    }

    void benchQuickRunsAndPrintsATable() {
        const auto run = runCli({"bench", "--quick"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("unipc-bh2-2+DC"));
        QVERIFY(run.out.contains("gmm-image"));
    }

    void benchModelTimesTheNetworkCalls() {
        const auto run = runCli({"bench", "--model", "default", "--quick", "--threads", "1"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains("1 intra-op thread (set explicitly)"), qPrintable(run.out));
        QVERIFY(run.out.contains("first ms"));
        QVERIFY2(run.out.contains("default network preparation: frozen"), qPrintable(run.out));
        QVERIFY(run.out.contains("\nfrozen "));  // --quick times the default preparation only
        QVERIFY(run.out.contains("sampler overhead"));
    }

    void threadsFlagIsAcceptedByEveryCommandAndShownByInfo() {
        const auto run = runCli({"info", "builtin:gmm2d", "--threads", "3"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains("threads:         3 intra-op threads (set explicitly)"), qPrintable(run.out));
        const auto before = runCli({"--threads", "1", "info", "builtin:gmm2d"});
        QVERIFY2(before.exitCode == 0 && before.out.contains("1 intra-op thread "), qPrintable(before.err));
        const auto bad = runCli({"info", "builtin:gmm2d", "--threads", "-2"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("--threads"), qPrintable(bad.err));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
