#include "dcscope/threads.h"

#include <ATen/Parallel.h>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "dcscope/errors.h"

namespace dcscope {
namespace {

std::mutex g_mutex;
bool g_configured = false;
ThreadCount g_current;

int affinityCpuCount() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

int quotaInCpus(double quota, double period) {
    if (!(quota > 0.0) || !(period > 0.0)) return 0;
    return std::max(1, static_cast<int>(std::ceil(quota / period - 1e-9)));
}

int positiveInteger(const char* text) {
    if (!text || !*text) return 0;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    return (*end == '\0' && value > 0 && value <= 4096) ? static_cast<int>(value) : 0;
}

}  // namespace

int cgroupCpuQuota(const std::string& cgroupRoot) {
    // cgroup v2: "max 100000" (no quota) or "150000 100000".
    if (std::ifstream v2(cgroupRoot + "/cpu.max"); v2) {
        std::string quota;
        double period = 0.0;
        v2 >> quota >> period;
        if (quota == "max") return 0;
        return quotaInCpus(std::atof(quota.c_str()), period);
    }
    std::ifstream quotaFile(cgroupRoot + "/cpu/cpu.cfs_quota_us");
    std::ifstream periodFile(cgroupRoot + "/cpu/cpu.cfs_period_us");
    double quota = -1.0, period = 0.0;
    if (quotaFile >> quota && periodFile >> period) return quotaInCpus(quota, period);
    return 0;
}

int availableCpuCount() {
    const int cpus = affinityCpuCount();
    const int quota = cgroupCpuQuota();
    return quota > 0 ? std::min(cpus, quota) : cpus;
}

ThreadCount chooseIntraOpThreads(int requested) {
    if (requested < 0) throw Error(ErrorCode::InvalidArgument, "threads: must be >= 1 (or 0 for automatic), got " + std::to_string(requested));
    if (requested > 0) return {requested, ThreadCountSource::Explicit};
    if (const int fromEnvironment = positiveInteger(std::getenv("OMP_NUM_THREADS")))
        return {fromEnvironment, ThreadCountSource::Environment};
    return {availableCpuCount(), ThreadCountSource::Available};
}

ThreadCount configureIntraOpThreads(int requested) {
    const ThreadCount chosen = chooseIntraOpThreads(requested);
    {
        const std::lock_guard<std::mutex> lock(g_mutex);
        g_current = chosen;
        g_configured = true;
    }
    at::set_num_threads(chosen.count);
    return chosen;
}

void applyIntraOpThreadsToThisThread() {
    const ThreadCount threads = currentIntraOpThreads();
    if (at::get_num_threads() != threads.count) at::set_num_threads(threads.count);
}

ThreadCount currentIntraOpThreads() {
    {
        const std::lock_guard<std::mutex> lock(g_mutex);
        if (g_configured) return g_current;
    }
    return chooseIntraOpThreads();
}

std::string describe(const ThreadCount& threads) {
    std::ostringstream text;
    text << threads.count << " intra-op thread" << (threads.count == 1 ? "" : "s") << " (";
    switch (threads.source) {
    case ThreadCountSource::Explicit: text << "set explicitly"; break;
    case ThreadCountSource::Environment: text << "OMP_NUM_THREADS"; break;
    case ThreadCountSource::Available: text << "every CPU this process may use"; break;
    }
    text << ")";
    return text.str();
}

}  // namespace dcscope
