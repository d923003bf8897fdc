// ParkingRing: a BoundedQueue's ring together with the threads that wait on it.
//
// Each attempt here is one operation on the ring that, when it moved a position,
// wakes a thread sleeping on the other side (a pop wakes a pusher, a push a
// popper); each wait spins briefly, then parks on an EventCount (event_count.hpp)
// until the ring says the operation may proceed, a wake-up, the deadline or a stop
// request. What to do when the queue is full or empty (the policy, the timeouts)
// is BoundedQueue's; how to wait and wake is here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "cache_line.hpp"
#include "event_count.hpp"
#include "mpmc_ring.hpp"
#include "stop.hpp"
#include "wait.hpp"

namespace bq::detail {

BQ_PADDED_BEGIN  // alignas padding (the ring's and the event counts') is the point
template <class T, class Ring>
class ParkingRing {
 public:
  explicit ParkingRing(std::size_t capacity) : ring_(capacity) {}

  /// Returns the ring, for what involves no waiting (counts, capacity, closed).
  [[nodiscard]] Ring& ring() noexcept { return ring_; }
  [[nodiscard]] const Ring& ring() const noexcept { return ring_; }

  /// Returns true while a thread sleeps on either side.
  [[nodiscard]] bool has_waiters() const noexcept {
    return not_empty_.has_waiters() || not_full_.has_waiters();
  }

  /// Closes the ring and wakes every sleeping thread.
  void close() noexcept {
    ring_.close();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  /// One attempt to push, retrying only while a popper is half-way through the
  /// slot we need (so a failed attempt really means full or closed).
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus push_once(Construct& construct) {
    Backoff backoff;
    for (;;) {
      const RingStatus status = ring_try_push(construct);
      if (status == RingStatus::ok) {
        wake_a_popper();
        return status;
      }
      if (status == RingStatus::full) {
        // The sampled high watermark may have missed the last steps to full.
        ring_.high_watermark().raise_to(ring_.capacity());
      }
      if (status != RingStatus::busy) return status;
      backoff.pause();
    }
  }

  /// One batch push attempt of `n` (1 to capacity()) items, retrying only while
  /// the SPSC ring's popper is half-way through the first slot. Wakes poppers
  /// for the items queued (all sleepers when more than one item: each may take
  /// one), also before an exception from a construction propagates.
  template <class Construct>
  RingStatus push_batch_once(std::size_t n, Construct& construct, std::size_t& pushed) {
    Backoff backoff;
    for (;;) {
      RingStatus status;
      if constexpr (std::is_nothrow_invocable_v<Construct&, void*>) {
        status = ring_.try_push_batch(n, construct, pushed);
      } else {
        BQ_TRY { status = ring_.try_push_batch(n, construct, pushed); }
        BQ_CATCH(...) {
          wake_poppers(pushed);
          // The positions claimed and not filled (up to n - pushed) may have been
          // given back, each room for a waiting pusher (see ring_try_push()).
          wake_pushers(n - pushed);
          BQ_RETHROW;
        }
      }
      if (status == RingStatus::ok) {
        wake_poppers(pushed);
        return status;
      }
      if (status == RingStatus::full) ring_.high_watermark().raise_to(ring_.capacity());
      if (status != RingStatus::busy) return status;
      backoff.pause();
    }
  }

  /// One attempt to pop into `item`.
  BQ_ALWAYS_INLINE RingStatus pop_one_into(std::optional<T>& item) {
    return pop_once([&](T& queued) noexcept(std::is_nothrow_move_constructible_v<T>) {
      item.emplace(std::move(queued));
    });
  }

  /// One attempt to pop, handing the item to `consume(T&)`; wakes a sleeping
  /// pusher if it made room (also when consume throws: the slot is freed).
  template <class Consume>
  BQ_ALWAYS_INLINE RingStatus pop_once(Consume&& consume) {
    RingStatus status;
    if constexpr (std::is_nothrow_invocable_v<Consume, T&>) {
      status = ring_.try_pop(consume);
    } else {
      BQ_TRY { status = ring_.try_pop(consume); }
      BQ_CATCH(...) {
        wake_a_pusher();
        BQ_RETHROW;
      }
    }
    // A skipped hole freed a slot as a pop does.
    if (status == RingStatus::ok || status == RingStatus::skipped) wake_a_pusher();
    return status;
  }

  /// One batch pop attempt into `out`; wakes pushers for the slots it freed, items
  /// and holes (all sleepers when more than one: each may fill one), also when a
  /// move throws.
  template <class OutputIt>
  RingStatus pop_batch_once(OutputIt& out, std::size_t max, std::size_t& popped) {
    // Written through a local copy, stored back once: the caller's `out` is memory
    // that every slot's release store would make the loop write back item by item.
    OutputIt next = out;
    auto consume = [&next](T& item) noexcept(noexcept(*next = std::move(item))&& noexcept(++next)) {
      *next = std::move(item);
      ++next;
    };
    RingStatus status;
    std::size_t freed = 0;  // items and holes passed
    if constexpr (std::is_nothrow_invocable_v<decltype(consume)&, T&>) {
      status = ring_.try_pop_batch(max, consume, popped, freed);
    } else {
      BQ_TRY { status = ring_.try_pop_batch(max, consume, popped, freed); }
      BQ_CATCH(...) {
        out = next;
        wake_pushers(max);  // the slots claimed were freed (popped is not final here)
        BQ_RETHROW;
      }
    }
    out = next;
    if (freed != 0) wake_pushers(freed);  // holes free slots as items do
    return status;
  }

  /// How often a batch operation that must wait yields the CPU, retrying after each, before
  /// it waits as single operations do (spin, then sleep). Batches are typically one batch
  /// away from going on; when both threads share one core (a loaded machine), a yield lets
  /// the other run at once, where the spin before sleeping would burn the time slice it
  /// needs (measured with both threads pinned to one CPU: 11.6 M items/s parking, 46 to
  /// 112 M items/s yielding, 1P1C batches of 32).
  static constexpr int kBatchYields = 8;

  /// Yields up to kBatchYields times until `ready()`; returns whether it became true.
  template <class Ready>
  static bool yield_until(Ready&& ready) {
    for (int yields = 0; yields < kBatchYields; ++yields) {
      if (ready()) return true;
      std::this_thread::yield();
    }
    return ready();
  }

  /// Free slots a waiting pusher briefly waits for (see wait_for_room()):
  /// 4 cache lines of items, at most half the queue.
  std::size_t refill_batch() const noexcept {
    return std::clamp<std::size_t>(4 * kCacheLine / sizeof(T), 1,
                                   std::max<std::size_t>(1, ring_.capacity() / 2));
  }

  template <class Until, class Stop>
  void wait_for_item(Until& deadline, const Stop& stop) noexcept {
    park(not_empty_, deadline, stop, [this] { return ring_.pop_may_proceed(); });
  }

  template <class Until, class Stop>
  void wait_for_room(Until& deadline, const Stop& stop) noexcept {
    // First, briefly, room for a batch: a pusher that resumed at each single
    // free slot would write the very cache line its consumer is reading, slot
    // after slot (each write a cache miss), and the queue would stay full and
    // slow. Resuming a batch later, it fills lines the consumer has left.
    constexpr int kBatchWaitPauses = 256;  // some microseconds, then any one slot will do
    if (spin_until([&] { return ring_.push_may_proceed(refill_batch()) || stop.stop_requested(); },
                   kBatchWaitPauses)) {
      return;
    }
    park(not_full_, deadline, stop, [this] { return ring_.push_may_proceed(); });
  }

  // Waking: after a push or pop moved a position (a full barrier, see the
  // rings), a sleeper on the other side either saw the move in its re-check or
  // is registered by now (EventCount's protocol), so this check cannot miss it.
  void wake_a_popper() noexcept {
    ring_.signaller_fence();
    if (not_empty_.has_waiters()) not_empty_.notify_one();
  }

  void wake_a_pusher() noexcept {
    ring_.signaller_fence();
    if (not_full_.has_waiters()) not_full_.notify_one();
  }

 private:
  /// One push attempt on the ring. A push whose construction throws may give its
  /// position back, which makes room that a sleeping pusher waits for: it wakes
  /// one before the exception propagates.
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus ring_try_push(Construct& construct) {
    if constexpr (std::is_nothrow_invocable_v<Construct&, void*>) {
      return ring_.try_push(construct);
    } else {
      BQ_TRY { return ring_.try_push(construct); }
      BQ_CATCH(...) {
        wake_a_pusher();
        BQ_RETHROW;
      }
    }
  }

  /// Wakes the poppers that `items` new items may serve.
  void wake_poppers(std::size_t items) noexcept {
    if (items == 0) return;
    ring_.signaller_fence();
    if (!not_empty_.has_waiters()) return;
    if (items == 1) {
      not_empty_.notify_one();
    } else {
      not_empty_.notify_all();
    }
  }

  /// Wakes the pushers that `slots` freed slots may serve.
  void wake_pushers(std::size_t slots) noexcept {
    ring_.signaller_fence();
    if (!not_full_.has_waiters()) return;
    if (slots <= 1) {
      not_full_.notify_one();
    } else {
      not_full_.notify_all();
    }
  }

  /// Spins briefly, then sleeps on `event` until `may_proceed()`, a wake-up,
  /// the deadline or a stop request on `stop`. Callers retry their operation
  /// whatever the outcome: a wake-up is a hint, not a reservation (another
  /// thread may take the item first). The spin reads no clock, so a lazy
  /// deadline starts only when the caller really has to sleep.
  ///
  /// Stop: a std::stop_callback, registered for the sleep only, wakes every
  /// sleeper on `event` (it cannot wake just this one; the others re-check and
  /// sleep again, a cost paid only on a stop). It runs in the requesting thread,
  /// possibly while this one re-checks, and no wake-up is lost: request_stop()
  /// sets the stop flag before it runs the callback, whose notify bumps the
  /// event's epoch (a seq_cst RMW) and then wakes. If our prepare_wait() read
  /// the epoch after that bump, it synchronizes with it, so the re-check below
  /// sees the flag and we do not sleep. If it read the epoch before the bump,
  /// the sleep compares against the stale epoch: the kernel's compare-and-sleep
  /// fails at once if the bump came first, and the wake finds us asleep if it
  /// came later. A stop requested before the callback is registered runs it at
  /// once (waking nobody who is not re-checking anyway) and the re-check sees
  /// it. The callback is unregistered before we return (its destructor waits for
  /// a callback in flight), and wait_until()/cancel_wait() take us off the
  /// waiters in every case, so no thread stays registered. Where that destructor
  /// can hang (libstdc++ without a futex, see stop.hpp) there is no callback: the
  /// sleep ends at least every kStopPollInterval, and the caller, which looks at
  /// the token after every park, parks again if no stop was requested.
  template <class Until, class Stop, class MayProceed>
  void park(EventCount& event, Until& deadline, const Stop& stop, MayProceed may_proceed) noexcept {
    if (spin_until([&] { return may_proceed() || stop.stop_requested(); })) return;
    const Clock::time_point until = deadline.get();
    const StopWaker<Stop> waker(stop, event);
    const std::uint32_t key = event.prepare_wait();
    ring_.waiter_fence();
    if (may_proceed() || stop.stop_requested() || Clock::now() >= until) {
      event.cancel_wait();
      return;
    }
    event.wait_until(key, waker.sleep_until(until));
  }

  Ring ring_;
  EventCount not_empty_;  // poppers sleep here
  EventCount not_full_;   // pushers sleep here
};
BQ_PADDED_END

}  // namespace bq::detail
