#pragma once

#include <string>

namespace dcscope {

/// Where the intra-op thread count came from.
enum class ThreadCountSource { Explicit, Environment, Available };

struct ThreadCount {
    int count = 1;
    ThreadCountSource source = ThreadCountSource::Available;
};

/// CPUs this process may run on: the affinity mask, capped by the cgroup CPU quota (v2
/// `cpu.max`, else v1 `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up); at least 1.
int availableCpuCount();

/// The cgroup quota in CPUs (rounded up) read from the given cgroup file system root, or 0 when
/// no quota is set. Split out so tests can point it at a fake tree.
int cgroupCpuQuota(const std::string& cgroupRoot = "/sys/fs/cgroup");

/// The intra-op thread count to use: `requested` > 0 wins, else OMP_NUM_THREADS when it is a
/// positive integer, else availableCpuCount(). Throws Error(InvalidArgument) for requested < 0.
ThreadCount chooseIntraOpThreads(int requested = 0);

/// Chooses the count as above, records it process-wide and applies it to LibTorch on the calling
/// thread. Call once at start-up (and again when the user changes the setting).
ThreadCount configureIntraOpThreads(int requested = 0);

/// Applies the recorded count to the calling thread. OpenMP keeps its thread count per thread, so
/// every thread that runs models (the GUI's inference thread) calls this before its first call.
void applyIntraOpThreadsToThisThread();

/// The count recorded by configureIntraOpThreads (chooseIntraOpThreads() before any call).
ThreadCount currentIntraOpThreads();

/// "2 (all available CPUs)", "4 (OMP_NUM_THREADS)", "1 (--threads)" style text.
std::string describe(const ThreadCount& threads);

}  // namespace dcscope
