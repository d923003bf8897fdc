// Deadlines and spinning for BoundedQueue's waits.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

#include "cache_line.hpp"

namespace bq::detail {

using Clock = std::chrono::steady_clock;

/// Converts a timeout to an absolute steady_clock deadline without overflow:
/// zero or negative is "now", anything beyond a century is "never".
template <class Rep, class Period>
Clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
  const auto now = Clock::now();
  if (!(timeout > timeout.zero())) return now;  // also NaN
  using Years = std::chrono::duration<double, std::ratio<31556952>>;
  if (std::chrono::duration_cast<Years>(timeout).count() >= 100.0) return Clock::time_point::max();
  return now + std::chrono::ceil<Clock::duration>(timeout);
}

/// Converts a steady_clock time point of any precision to the clock's own,
/// saturating at time_point::max() instead of overflowing.
template <class Duration>
Clock::time_point saturate(std::chrono::time_point<Clock, Duration> when) noexcept {
  using Seconds = std::chrono::duration<double>;
  constexpr double kLimit = 1e9 * 3;  // ~95 years of uptime: beyond it, never.
  const double secs = std::chrono::duration_cast<Seconds>(when.time_since_epoch()).count();
  if (!(secs > -kLimit)) return Clock::time_point::min();  // also NaN: already passed
  if (secs >= kLimit) return Clock::time_point::max();
  return Clock::time_point(std::chrono::ceil<Clock::duration>(when.time_since_epoch()));
}

/// Converts `d` to `To`, rounding up (a floating-point To: to nearest), saturating at To's min()
/// and max() where the exact value lies beyond them (a NaN is min()). The range test is in floating
/// point, whose rounding near the limits only decides which of two answers both at the limit is
/// given; the conversion itself is exact.
template <class To, class Rep, class Period>
To saturating_ceil(std::chrono::duration<Rep, Period> d) noexcept {
  const double count = std::chrono::duration<double, typename To::period>(d).count();
  if (!(count > static_cast<double>(To::min().count()))) return To::min();
  if (count >= static_cast<double>(To::max().count())) return To::max();
  if constexpr (std::chrono::treat_as_floating_point_v<typename To::rep>) {
    return std::chrono::duration_cast<To>(d);  // ceil would add a whole unit to any rounding
  } else {
    return std::chrono::ceil<To>(d);
  }
}

/// When a push or pop may wait: not at all, until a fixed time, or for the
/// queue's configured timeout from the moment it first has to wait (so a push
/// that never finds the queue full never reads the clock).
class Deadline {
 public:
  static Deadline none() noexcept { return Deadline(Clock::time_point::min(), kFixed); }
  static Deadline at(Clock::time_point when) noexcept { return Deadline(when, kFixed); }
  /// `timeout` must not be negative (QueueConfig::block_timeout never is).
  static Deadline after_first_wait(std::chrono::milliseconds timeout) noexcept {
    return Deadline(Clock::time_point::min(), timeout);
  }

  /// Starts a lazy deadline now (a fixed one is left as it is).
  void start() noexcept {
    if (lazy()) {
      when_ = deadline_after(timeout_);
      timeout_ = kFixed;
    }
  }

  /// Returns the absolute deadline (starting a lazy one now).
  Clock::time_point get() noexcept {
    start();
    return when_;
  }

  /// Returns true if waiting is over (or was never allowed). A lazy deadline
  /// that has not started yet has not passed unless its timeout is zero.
  bool passed() noexcept {
    if (lazy()) return timeout_ == timeout_.zero();
    if (when_ == Clock::time_point::min()) return true;
    return when_ != Clock::time_point::max() && Clock::now() >= when_;
  }

 private:
  // Two words, so a Deadline passed by value travels in registers: the
  // timeout of a lazy deadline (>= 0), or kFixed once `when_` is the deadline.
  static constexpr std::chrono::milliseconds kFixed{-1};

  Deadline(Clock::time_point when, std::chrono::milliseconds timeout) noexcept
      : when_(when), timeout_(timeout) {}
  bool lazy() const noexcept { return timeout_ != kFixed; }

  Clock::time_point when_;
  std::chrono::milliseconds timeout_;
};

/// Exponential spinning for the short waits on a slot another thread is
/// half-way through; past a few microseconds it yields the CPU instead, since
/// that thread may have been preempted.
class Backoff {
 public:
  void pause() noexcept {
    if (round_ < kSpinRounds) {
      for (int i = 0; i < (1 << round_); ++i) cpu_relax();
      ++round_;
    } else {
      std::this_thread::yield();
    }
  }

 private:
  static constexpr int kSpinRounds = 7;  // 1 + 2 + ... + 64 pauses before yielding
  int round_ = 0;
};

/// Spins briefly until `ready()` before a caller parks: an item or a free slot
/// usually shows up within microseconds, far sooner than a sleep and wake-up.
/// The gap between checks doubles up to kMaxGap pauses (about a microsecond
/// on recent x86, where a pause takes ~30 ns): a thread that keeps finding
/// nothing looks less often, which lets the other side fill (or drain) a
/// batch of cache lines undisturbed instead of being chased slot by slot,
/// and bounds how late a waiter reacts. `pauses` bounds the whole spin.
template <class Ready>
bool spin_until(Ready&& ready, int pauses = 1024) noexcept {
  constexpr int kMaxGap = 32;
  for (int gap = 1, spent = 0; spent < pauses; spent += gap, gap = std::min(2 * gap, kMaxGap)) {
    if (ready()) return true;
    for (int i = 0; i < gap; ++i) cpu_relax();
  }
  return ready();
}

}  // namespace bq::detail
