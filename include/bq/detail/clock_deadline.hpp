// The deadlines of the timed pushes and pops: a timeout from now, or a time point
// on any clock (ClockDeadline when the clock is not steady_clock). Deadline itself,
// and the conversions without overflow, are in wait.hpp.
#pragma once

#include <chrono>
#include <type_traits>

#include "wait.hpp"

namespace bq::detail {

/// A deadline on a clock other than steady_clock (system_clock, a user's clock):
/// each sleep lasts the time left, measured on that clock when the sleep starts,
/// and only that clock says when the deadline has passed, so a wait never ends
/// before the clock reaches it (as std::condition_variable::wait_until behaves).
template <class C, class Duration>
class ClockDeadline {
 public:
  /// `when` in the clock's own unit, rounded up (for a clock counting in whole
  /// units, "now < when" then means the same), saturated: a time point in a
  /// coarser unit (system_clock's seconds or hours) may lie beyond the range of
  /// the clock's unit, and is then "never" (or "long passed"), not an overflow.
  explicit ClockDeadline(std::chrono::time_point<C, Duration> when)
      : when_(saturating_ceil<typename C::duration>(when.time_since_epoch())) {}
  void start() noexcept {}
  /// Returns the steady_clock time at which the time left now will have passed.
  Clock::time_point get() {
    const auto now = C::now();
    if (!(now < when_)) return Clock::time_point::min();
    // when_ - now overflows if the two are further apart than the clock's unit
    // can count (when_ saturated to max, or a clock with negative times): then
    // the time left, in floating point, is as good (only the sleep's length
    // depends on it, and passed() decides when the wait ends).
    using Approx = std::chrono::duration<double, typename C::period>;
    const Approx left = Approx(when_.time_since_epoch()) - Approx(now.time_since_epoch());
    if (left.count() >= static_cast<double>(C::duration::max().count())) {
      return deadline_after(left);
    }
    return deadline_after(when_ - now);
  }
  bool passed() { return !(C::now() < when_); }

 private:
  typename C::time_point when_;
};

/// Returns the steady_clock deadline `timeout` from now.
template <class Rep, class Period>
Deadline deadline_in(std::chrono::duration<Rep, Period> timeout) noexcept {
  return Deadline::at(deadline_after(timeout));
}

/// Returns the deadline at `deadline`: a steady_clock one as it is, another
/// clock's as a ClockDeadline, which that clock judges.
template <class C, class Duration>
auto deadline_at(std::chrono::time_point<C, Duration> deadline) {
  if constexpr (std::is_same_v<C, Clock>) {
    return Deadline::at(saturate(deadline));
  } else {
    return ClockDeadline<C, Duration>(deadline);
  }
}

}  // namespace bq::detail
