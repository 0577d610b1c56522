#pragma once

#include <atomic>

#include "dcscope/errors.h"

namespace dcscope {

/// Cooperative cancellation flag. Any thread may call requestCancel(); the worker checks it
/// before every model call, so a run stops within one model evaluation.
class CancelToken {
public:
    void requestCancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
    void reset() noexcept { m_cancelled.store(false, std::memory_order_relaxed); }
    bool isCancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }
    /// Throws Error(Cancelled) when set; called by the core right before model calls.
    void throwIfCancelled() const {
        if (isCancelled()) throw Error(ErrorCode::Cancelled, "cancelled");
    }

private:
    std::atomic<bool> m_cancelled{false};
};

}  // namespace dcscope
