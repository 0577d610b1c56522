#pragma once

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/// Lowers the calling thread's CPU priority (Linux: its nice value; the threads it starts, such
/// as the model's OpenMP team, inherit it). The model threads run on every core; on a machine
/// with few cores they would otherwise take the time the UI thread and the software OpenGL
/// renderer need to keep the window responsive. When the window is idle the model still gets
/// every core. A no-op where the platform has no per-thread priority.
inline void lowerThisThreadsPriority() {
#ifdef __linux__
    constexpr int kBackgroundNice = 19;
    const auto thread = static_cast<id_t>(::syscall(SYS_gettid));
    const int current = ::getpriority(PRIO_PROCESS, thread);
    if (current < kBackgroundNice) ::setpriority(PRIO_PROCESS, thread, kBackgroundNice);
#endif
}
