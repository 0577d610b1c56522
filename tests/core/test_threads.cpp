// Intra-op thread count: cgroup quotas, OMP_NUM_THREADS and explicit settings.
#include <QtTest/QtTest>

#include <ATen/Parallel.h>

#include <fstream>

#include "dcscope/errors.h"
#include "dcscope/threads.h"
#include "support/test_support.h"

using namespace dcscope;

namespace {

void writeFile(const QString& path, const std::string& text) {
    QDir().mkpath(QFileInfo(path).path());
    std::ofstream(path.toStdString()) << text;
}

}  // namespace

class TestThreads : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cgroupV2QuotaIsRoundedUp() {
        QTemporaryDir root;
        writeFile(root.filePath(QStringLiteral("cpu.max")), "150000 100000\n");
        QCOMPARE(cgroupCpuQuota(root.path().toStdString()), 2);
        writeFile(root.filePath(QStringLiteral("cpu.max")), "100000 100000\n");
        QCOMPARE(cgroupCpuQuota(root.path().toStdString()), 1);
        writeFile(root.filePath(QStringLiteral("cpu.max")), "max 100000\n");
        QCOMPARE(cgroupCpuQuota(root.path().toStdString()), 0);
    }

    void cgroupV1QuotaAndNoQuota() {
        QTemporaryDir root;
        writeFile(root.filePath(QStringLiteral("cpu/cpu.cfs_quota_us")), "350000\n");
        writeFile(root.filePath(QStringLiteral("cpu/cpu.cfs_period_us")), "100000\n");
        QCOMPARE(cgroupCpuQuota(root.path().toStdString()), 4);
        writeFile(root.filePath(QStringLiteral("cpu/cpu.cfs_quota_us")), "-1\n");
        QCOMPARE(cgroupCpuQuota(root.path().toStdString()), 0);
        QTemporaryDir empty;
        QCOMPARE(cgroupCpuQuota(empty.path().toStdString()), 0);
    }

    void availableCountIsTheAffinityMaskAtMost() {
        const int available = availableCpuCount();
        QVERIFY(available >= 1);
        QVERIFY(available <= int(std::max(1u, std::thread::hardware_concurrency())));
    }

    void explicitBeatsEnvironmentBeatsAvailable() {
        qunsetenv("OMP_NUM_THREADS");
        const ThreadCount automatic = chooseIntraOpThreads(0);
        QCOMPARE(automatic.count, availableCpuCount());
        QCOMPARE(automatic.source, ThreadCountSource::Available);
        qputenv("OMP_NUM_THREADS", "3");
        QCOMPARE(chooseIntraOpThreads(0).count, 3);
        QCOMPARE(chooseIntraOpThreads(0).source, ThreadCountSource::Environment);
        QCOMPARE(chooseIntraOpThreads(5).count, 5);
        QCOMPARE(chooseIntraOpThreads(5).source, ThreadCountSource::Explicit);
        qputenv("OMP_NUM_THREADS", "garbage");  // ignored, like an unset variable
        QCOMPARE(chooseIntraOpThreads(0).source, ThreadCountSource::Available);
        qunsetenv("OMP_NUM_THREADS");
        DCSCOPE_EXPECT_ERROR(chooseIntraOpThreads(-1), ErrorCode::InvalidArgument, "threads");
    }

    void configureAppliesToLibTorchAndOtherThreads() {
        const ThreadCount set = configureIntraOpThreads(2);
        QCOMPARE(set.count, 2);
        QCOMPARE(at::get_num_threads(), 2);
        QCOMPARE(currentIntraOpThreads().count, 2);
        int seenOnWorker = 0;
        std::thread worker([&] {
            applyIntraOpThreadsToThisThread();
            seenOnWorker = at::get_num_threads();
        });
        worker.join();
        QCOMPARE(seenOnWorker, 2);
        QVERIFY(QString::fromStdString(describe(set)).startsWith(QStringLiteral("2 intra-op threads")));
        configureIntraOpThreads(1);
        QCOMPARE(at::get_num_threads(), 1);
    }
};

QTEST_GUILESS_MAIN(TestThreads)
#include "test_threads.moc"
