// Cancelling a wait: BQ_HAS_STOP_TOKEN (whether the waits take a std::stop_token),
// NoStop (the token of the waits that cannot be cancelled) and StopWaker, which
// makes a stop request wake the threads parked on an EventCount (see
// ParkingRing::park() in parking_ring.hpp).
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
#include <stop_token>
#endif

#include "event_count.hpp"

namespace bq::detail {

/// The stop token of the waits that cannot be cancelled.
struct NoStop {
  static constexpr bool stop_requested() noexcept { return false; }
};

/// While alive, makes a stop request on the token wake the threads sleeping on
/// an EventCount (nothing at all for NoStop). See ParkingRing::park().
template <class Stop>
class StopWaker {
 public:
  StopWaker(const Stop& /*stop*/, EventCount& /*event*/) noexcept {}
};

#if BQ_HAS_STOP_TOKEN
template <>
class StopWaker<std::stop_token> {
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
#endif

}  // namespace bq::detail
