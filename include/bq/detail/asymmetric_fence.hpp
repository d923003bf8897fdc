// Asymmetric fences: a full barrier split so that the frequent side pays only
// a compiler barrier and the rare side pays a system call (Linux membarrier),
// which makes every running thread of the process execute a full barrier.
// A pair (light on one thread, heavy on the other) orders like two seq_cst
// fences. Where membarrier is unavailable both sides fall back to real fences.
#pragma once

#include <atomic>

#include "platform.hpp"

#if defined(__linux__) && __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#define BQ_DETAIL_HAS_MEMBARRIER 1
#else
#define BQ_DETAIL_HAS_MEMBARRIER 0
#endif

namespace bq::detail {

class AsymmetricFence {
 public:
  /// Registers the process for expedited membarrier (idempotent, cheap).
  AsymmetricFence() noexcept : expedited_(register_expedited()) {}

  /// The frequent side: free when membarrier works.
  void light() const noexcept {
    if (expedited_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }

  /// The rare side: a system call when membarrier works.
  void heavy() const noexcept {
#if BQ_DETAIL_HAS_MEMBARRIER
    if (expedited_ && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return;
#endif
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

 private:
  static bool register_expedited() noexcept {
#if BQ_DETAIL_HAS_MEMBARRIER && !BQ_TSAN
    static const bool registered =
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return registered;
#else
    // ThreadSanitizer does not model membarrier: use fences it understands.
    return false;
#endif
  }

  bool expedited_;
};

}  // namespace bq::detail
