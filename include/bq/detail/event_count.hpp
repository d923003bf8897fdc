// EventCount: lets a thread sleep in the kernel until another thread signals
// that a condition may have changed, without a lock and without a system call
// on the signalling side when nobody sleeps.
//
// Protocol (the waiter W and the signaller S share a condition C):
//   W: key = prepare_wait();          // registers, then reads the epoch
//      if (C holds) { cancel_wait(); return; }
//      wait_until(key, deadline);     // sleeps only while the epoch is still key
//   S: make C hold; <full barrier>; if (has_waiters()) notify_one();
// No wake-up is lost: the waiter's registration and the signaller's change of C
// are each followed by a full barrier before the other side's read, so either
// W sees C or S sees the registration (Dekker). If S notifies, it bumps the
// epoch; a W that read the epoch before the bump fails the kernel's
// compare-and-sleep at once, a W already asleep is woken.
//
// Woken but not yet running: on a busy machine a woken waiter may take a long
// time to be scheduled, and until it unregisters every signal would make a
// futex system call that wakes nobody. So the signaller counts the waiters it
// has really woken (FUTEX_WAKE says how many) in woken_, each of which takes
// itself off on its way out, and skips the call while every registered waiter
// is such a woken one: each of them re-checks C after its seq_cst decrement,
// which comes after the signaller's read of woken_, so it sees the signal's C.
// A waiter not yet asleep is not counted as woken, so it is never skipped.
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#else
#include <condition_variable>
#include <mutex>
#endif

#include "cache_line.hpp"

namespace bq::detail {

BQ_PADDED_BEGIN  // alignas padding is the point
class EventCount {
 public:
  using clock = std::chrono::steady_clock;

  /// Registers the caller as a waiter and returns the epoch to pass to wait_until().
  /// The seq_cst increment is the waiter's full barrier of the protocol above.
  [[nodiscard]] std::uint32_t prepare_wait() noexcept {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }

  /// Unregisters a waiter that found its condition true after prepare_wait().
  void cancel_wait() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }

  /// Sleeps until notified, a spurious wake-up, or `deadline`; then unregisters.
  /// Callers re-check their condition whatever this returns.
  void wait_until(std::uint32_t key, clock::time_point deadline) noexcept {
    // Off the woken count first, then off the waiters, so waiters_ never
    // counts fewer than woken_ for a thread still on its way out.
    if (sleep(key, deadline)) woken_.fetch_sub(1, std::memory_order_seq_cst);
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  /// True if some thread is between prepare_wait() and the end of its wait.
  /// Must follow a full barrier after the signaller changed the condition.
  [[nodiscard]] bool has_waiters() const noexcept {
    return waiters_.load(std::memory_order_seq_cst) != 0;
  }

  /// Wakes one sleeping waiter (each signalled unit of the condition needs one).
  void notify_one() noexcept { notify(1); }

  /// Wakes every sleeping waiter (for shutdown).
  void notify_all() noexcept { notify(INT_MAX); }

 private:
#if defined(__linux__)
  void notify(int count) noexcept {
    // All registered waiters already woken: they will see the change (above).
    if (count == 1) {
      const std::int64_t waiters = waiters_.load(std::memory_order_seq_cst);
      if (waiters <= woken_.load(std::memory_order_seq_cst)) return;
    }
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    const long woken = syscall(SYS_futex, &epoch_, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
    // Counted only once really woken, so woken_ never runs ahead of the truth.
    if (woken > 0) woken_.fetch_add(static_cast<std::int32_t>(woken), std::memory_order_seq_cst);
  }

  /// Returns true if a FUTEX_WAKE woke this thread (then it counts in woken_).
  bool sleep(std::uint32_t key, clock::time_point deadline) noexcept {
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
                  "the futex word must be a plain 32-bit integer");
    timespec abs_time{};
    const timespec* timeout = nullptr;  // null: no deadline
    if (deadline != clock::time_point::max()) {
      // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is
      // steady_clock's clock on Linux.
      const auto since_epoch = deadline.time_since_epoch();
      if (since_epoch.count() <= 0) return false;
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
      abs_time.tv_sec = static_cast<time_t>(secs.count());
      abs_time.tv_nsec = static_cast<long>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
      timeout = &abs_time;
    }
    return syscall(SYS_futex, &epoch_, FUTEX_WAIT_BITSET_PRIVATE, key, timeout, nullptr,
                   FUTEX_BITSET_MATCH_ANY) == 0;
  }
#else
  void notify(int count) noexcept {
    {
      std::lock_guard lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_seq_cst);
    }
    if (count == 1) {
      cv_.notify_one();
    } else {
      cv_.notify_all();
    }
  }

  bool sleep(std::uint32_t key, clock::time_point deadline) noexcept {
    std::unique_lock lock(mutex_);
    const auto changed = [&] { return epoch_.load(std::memory_order_relaxed) != key; };
    if (deadline == clock::time_point::max()) {
      cv_.wait(lock, changed);
    } else {
      cv_.wait_until(lock, deadline, changed);
    }
    return false;  // woken_ stays 0: notify never skips here
  }

  std::mutex mutex_;
  std::condition_variable cv_;
#endif

  // Both words share one line: waiters_ is read on every push or pop but
  // written only by threads about to sleep; epoch_ is written only by notify.
  alignas(kCacheLine) std::atomic<std::uint32_t> waiters_{0};
  std::atomic<std::uint32_t> epoch_{0};
  // Waiters woken by FUTEX_WAKE that have not yet left wait_until(). May dip
  // below zero for a moment (a wakee can leave before its waker counts it).
  std::atomic<std::int32_t> woken_{0};
};
BQ_PADDED_END

}  // namespace bq::detail
