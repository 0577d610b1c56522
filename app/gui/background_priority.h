#pragma once

#ifdef __linux__
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/// Lowers the calling thread's CPU priority (Linux: nice 19 and the SCHED_IDLE policy; the
/// threads it starts, such as the model's OpenMP team, inherit both). The model threads run on
/// every core; on a machine with few cores they would otherwise take the time the UI thread and
/// the software OpenGL renderer need to keep the window responsive. Under SCHED_IDLE a waking
/// UI or renderer thread takes the core at once, where at nice 19 it could wait out the model's
/// time slice (worst frames of 42-43 ms against 27-32 ms while sampling on two cores; an edit's image
/// comes about 10% later). When the window is idle the model still gets every core. A no-op
/// where the platform has no per-thread priority.
inline void lowerThisThreadsPriority() {
#ifdef __linux__
    constexpr int kBackgroundNice = 19;
    const auto thread = static_cast<id_t>(::syscall(SYS_gettid));
    const int current = ::getpriority(PRIO_PROCESS, thread);
    if (current < kBackgroundNice) ::setpriority(PRIO_PROCESS, thread, kBackgroundNice);
    sched_param unused{};  // SCHED_IDLE takes no priority value
    ::sched_setscheduler(0, SCHED_IDLE, &unused);
#endif
}
