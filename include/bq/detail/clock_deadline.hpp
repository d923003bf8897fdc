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
  explicit ClockDeadline(std::chrono::time_point<C, Duration> when) : when_(when) {}
  void start() noexcept {}
  /// Returns the steady_clock time at which the time left now will have passed.
  Clock::time_point get() {
    const auto now = C::now();
    if (!(now < when_)) return Clock::time_point::min();
    return deadline_after(when_ - now);
  }
  bool passed() { return !(C::now() < when_); }

 private:
  std::chrono::time_point<C, Duration> when_;
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
