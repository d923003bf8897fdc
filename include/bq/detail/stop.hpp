// Cancelling a wait: BQ_HAS_STOP_TOKEN (whether the waits take a std::stop_token),
// NoStop (the token of the waits that cannot be cancelled) and StopWaker, which
// makes a stop request end the sleeps on an EventCount (see ParkingRing::park()
// in parking_ring.hpp).
//
// A StopWaker wakes sleepers with a std::stop_callback, except where that can
// hang: libstdc++ without a platform wait (no futex: MinGW, so Windows) builds
// std::binary_semaphore on a std::atomic wait that can miss its wake-up (it
// reads the value, then waits on a condition variable, and a notify that comes
// in between is lost; GCC 12's libstdc++ has this, a later one moved atomic
// waits into the library to fix it). ~stop_callback waits on that semaphore
// while the callback still runs in the requesting thread, which is just when
// the callback's own wake-up has ended our sleep: now and then it never
// returned (seen under wine). There, a sleeper with a stop token instead wakes
// every kStopPollInterval to look at the token.
#pragma once

#if __has_include(<version>)
#include <version>
#endif

// BQ_HAS_STOP_TOKEN: 1 when the standard library has std::stop_token (C++20's
// <stop_token>, with std::jthread), which the cancellable waits take; 0 otherwise
// (e.g. libc++ 14). Define it to 0 to leave them out.
#ifndef BQ_HAS_STOP_TOKEN
#if defined(__cpp_lib_jthread) && __cpp_lib_jthread >= 201911L && __has_include(<stop_token>)
#define BQ_HAS_STOP_TOKEN 1
#else
#define BQ_HAS_STOP_TOKEN 0
#endif
#endif
#if BQ_HAS_STOP_TOKEN
#include <stop_token>  // (and, with libstdc++, its _GLIBCXX_HAVE_PLATFORM_WAIT)
#endif

#include <chrono>

#include "event_count.hpp"

// BQ_DETAIL_STOP_BY_POLLING: 1 where a std::stop_callback cannot be trusted to
// wake sleepers (see above), so they look at their token now and then instead.
#if BQ_HAS_STOP_TOKEN && defined(__GLIBCXX__) && !defined(_GLIBCXX_HAVE_PLATFORM_WAIT)
#define BQ_DETAIL_STOP_BY_POLLING 1
#else
#define BQ_DETAIL_STOP_BY_POLLING 0
#endif

namespace bq::detail {

/// The stop token of the waits that cannot be cancelled.
struct NoStop {
  static constexpr bool stop_requested() noexcept { return false; }
};

/// For a StopWaker that a stop request wakes (or that has nothing to wait for):
/// a sleep that must end by `until` ends then, or at a wake-up.
struct SleepsUntilDeadline {
  static EventCount::clock::time_point sleep_until(EventCount::clock::time_point until) noexcept {
    return until;
  }
};

/// While alive, makes a stop request on the token end the sleeps on an
/// EventCount (nothing at all for NoStop); sleep_until() says when a sleep
/// should end. See ParkingRing::park().
template <class Stop>
class StopWaker : public SleepsUntilDeadline {
 public:
  StopWaker(const Stop& /*stop*/, EventCount& /*event*/) noexcept {}
};

#if BQ_HAS_STOP_TOKEN && !BQ_DETAIL_STOP_BY_POLLING
template <>
class StopWaker<std::stop_token> : public SleepsUntilDeadline {
 public:
  StopWaker(const std::stop_token& stop, EventCount& event) noexcept
      : callback_(stop, WakeAll{&event}) {}

 private:
  struct WakeAll {
    EventCount* event;
    void operator()() const noexcept { event->notify_all(); }
  };
  std::stop_callback<WakeAll> callback_;
};
#elif BQ_HAS_STOP_TOKEN
/// How long a sleeper with a stop token sleeps at most before it looks at the
/// token again, where no callback wakes it: a stop ends its wait this late at
/// worst, for about a thousand short wake-ups a second while it sleeps.
inline constexpr std::chrono::milliseconds kStopPollInterval{1};

template <>
class StopWaker<std::stop_token> {
 public:
  StopWaker(const std::stop_token& /*stop*/, EventCount& /*event*/) noexcept {}
  /// `until`, or sooner: at most kStopPollInterval from now. The caller looks
  /// at the token after every sleep (and sleeps again if it is not stopped).
  static EventCount::clock::time_point sleep_until(EventCount::clock::time_point until) noexcept {
    const auto poll = EventCount::clock::now() + kStopPollInterval;
    return poll < until ? poll : until;
  }
};
#endif

}  // namespace bq::detail
