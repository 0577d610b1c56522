// Writes that survive a crash. Every file dcscope-cli writes goes through one atomic write
// (temporary file in the target's folder, then rename). With DCSCOPE_TEST_PAUSE_WRITES=MS that
// write stops for MS milliseconds halfway through its temporary file; the test kills the process
// there with SIGKILL and checks that the previous file is intact and readable, then that a normal
// run replaces it.
#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QThread>

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "dcscope/compensation.h"
#include "dcscope/npy.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

using dcscope::testing::CliRun;
using dcscope::testing::runCli;
using dcscope::testing::writeText;

namespace {

// The temporary file of an atomic write of `target`: ".NAME.tmp<random>" beside it.
QString temporaryFileOf(const QString& target) {
    const QFileInfo info(target);
    const QStringList found = QDir(info.absolutePath()).entryList({"." + info.fileName() + ".tmp*"}, QDir::Files | QDir::Hidden);
    return found.isEmpty() ? QString() : info.absoluteDir().filePath(found.first());
}

// Starts the command with paused writes, waits until a write is under way (`findTemporary`
// returns a temporary file with bytes in it), then kills the process. Returns what went wrong, or "".
QString killDuringWrite(const QStringList& arguments, const QString& cacheHome, const std::function<QString()>& findTemporary) {
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert("DCSCOPE_TEST_PAUSE_WRITES", "20000");
    environment.insert("XDG_CACHE_HOME", cacheHome);
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(DCSCOPE_CLI_PATH), arguments);
    if (!process.waitForStarted()) return "did not start";
    QElapsedTimer waited;
    waited.start();
    QString temporary;
    while (waited.elapsed() < 120000 && process.state() == QProcess::Running) {
        temporary = findTemporary();
        if (!temporary.isEmpty() && QFileInfo(temporary).size() > 0) break;
        QThread::msleep(5);
    }
    if (temporary.isEmpty() || process.state() != QProcess::Running) {
        process.kill();
        process.waitForFinished();
        return "the write was never seen under way: " + QString::fromUtf8(process.readAllStandardError());
    }
    ::kill(pid_t(process.processId()), SIGKILL);
    process.waitForFinished();
    if (process.exitStatus() != QProcess::CrashExit) return "the process was not killed";
    return {};
}

QByteArray bytesOf(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

}  // namespace

class TestCrashSafeWrites : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_cache;

    // Writes `target` once normally, then kills a second writer of it mid-write: the first
    // version must survive byte for byte and pass `readable`; a third, normal run replaces it.
    void checkKind(const QStringList& first, const QStringList& second, const QString& target,
                   const std::function<bool(const QString&)>& readable) {
        const CliRun initial = runCli(first, m_cache.path());
        QVERIFY2(initial.exitCode == 0, qPrintable(initial.err));
        const QByteArray before = bytesOf(target);
        QVERIFY(!before.isEmpty());
        QVERIFY(readable(target));
        const QString problem = killDuringWrite(second, m_cache.path(), [&] { return temporaryFileOf(target); });
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QCOMPARE(bytesOf(target), before);
        QVERIFY(readable(target));
        const CliRun replaced = runCli(second, m_cache.path());
        QVERIFY2(replaced.exitCode == 0, qPrintable(replaced.err));
        QVERIFY(bytesOf(target) != before);
        QVERIFY(readable(target));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_cache.isValid()); }

    void ratioFile() {
        QTemporaryDir dir;
        const QString target = dir.filePath("ratios.json");
        const QStringList search{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--datapoints", "2", "--fine", "30", "--out", target, "-q"};
        checkKind(search + QStringList{"--cfg", "3"}, search + QStringList{"--cfg", "5"}, target,
                  [](const QString& path) { return dcscope::loadRatios(path.toStdString()).size() == 6; });
    }

    void cprCoefficients() {
        QTemporaryDir dir;
        // A 3 x 3 grid of ratio files (guidance x NFE) for `cpr fit`, with two different sets of ratios.
        auto grid = [&](const QString& prefix, double scale) {
            QStringList files;
            for (double cfg : {1.0, 3.0, 7.5})
                for (int nfe : {6, 9, 12}) {
                    std::vector<double> ratios(size_t(nfe), 1.0);
                    for (int k = 2; k < nfe; ++k) ratios[size_t(k)] = 1.0 + scale * (0.01 * cfg + 0.02 * k / nfe + 0.003 * k * k / nfe);
                    const QString file = dir.filePath(QString("%1_%2_%3.json").arg(prefix).arg(cfg).arg(nfe));
                    writeText(file, nlohmann::json{{"nfe", nfe}, {"cfg", cfg}, {"ratios", ratios}}.dump());
                    files << file;
                }
            return files;
        };
        const QString target = dir.filePath("cpr.npy");
        checkKind(QStringList{"cpr", "fit", "--out", target} + grid("a", 1.0), QStringList{"cpr", "fit", "--out", target} + grid("b", -2.0),
                  target, [](const QString& path) { return dcscope::loadNpy(path.toStdString()).numel() == 36; });
    }

    void samples() {
        QTemporaryDir dir;
        const QString target = dir.filePath("x.npy");
        const QStringList sample{"sample", "--model", "builtin:gmm-image", "--nfe", "5", "--batch", "64", "--out", target, "-q"};
        checkKind(sample + QStringList{"--seed", "1"}, sample + QStringList{"--seed", "2"}, target,
                  [](const QString& path) { return dcscope::loadNpy(path.toStdString()).size(0) == 64; });
    }

    void imageGrid() {
        QTemporaryDir dir;
        const QString target = dir.filePath("grid.png");
        const QStringList sample{"sample", "--model", "builtin:gmm-image", "--nfe", "5", "--batch", "16", "--png", target, "-q"};
        checkKind(sample + QStringList{"--seed", "1"}, sample + QStringList{"--seed", "2"}, target,
                  [](const QString& path) { return !QImage(path).isNull(); });
    }

    void groundTruthCacheEntry() {
        // A cache entry is written once under its final name; a kill mid-write must not leave a
        // partial entry there, and the next run computes and stores it normally.
        QTemporaryDir cache;
        const QString folder = cache.filePath("dcscope/gt");
        const QStringList gt{"gt", "--model", "builtin:gmm-image", "--nfe", "5", "--cfg", "3", "--batch", "64", "--fine", "50"};
        const QString problem = killDuringWrite(gt, cache.path(), [&] {
            const QStringList found = QDir(folder).entryList({".*.tmp*"}, QDir::Files | QDir::Hidden);
            return found.isEmpty() ? QString() : QDir(folder).filePath(found.first());
        });
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(QDir(folder).entryList({"*.gt"}, QDir::Files).isEmpty());  // no entry under a final name
        const CliRun computed = runCli(gt, cache.path());
        QVERIFY2(computed.exitCode == 0 && computed.out.contains("computed with"), qPrintable(computed.out + computed.err));
        const CliRun cached = runCli(gt, cache.path());
        QVERIFY2(cached.exitCode == 0 && cached.out.contains("read from the cache"), qPrintable(cached.out + cached.err));
    }
};

QTEST_GUILESS_MAIN(TestCrashSafeWrites)
#include "test_crash_safe_writes.moc"
