// QueueMetrics: the plain snapshot that BoundedQueue::metrics() returns.
//
// The queue keeps its counters as atomics (most of them derived from the ring's
// own head and tail positions, so the fast path pays nothing for them) and
// copies them into this struct on request. A snapshot taken while producers and
// consumers run is "consistent enough": every field is a value the counter had
// during the call, but the fields are not read at one instant. At quiescence
// `pushed == popped + dropped_oldest + discarded + size` holds exactly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bq {

/// A copy of a queue's counters and gauges. Plain data: copy it, compare it, log it.
struct QueueMetrics {
  std::size_t capacity = 0;           ///< Fixed capacity of the queue.
  std::size_t size = 0;               ///< Items queued when the snapshot was taken.
  std::size_t high_watermark = 0;     ///< Largest size seen since construction or the last reset.
  std::uint64_t pushed = 0;           ///< Items accepted (`pushed` or `replaced_oldest`).
  std::uint64_t popped = 0;           ///< Items returned by any pop.
  std::uint64_t dropped_oldest = 0;   ///< Queued items evicted to make room for newer ones.
  std::uint64_t dropped_newest = 0;   ///< Pushes that returned `dropped_newest`.
  std::uint64_t timed_out = 0;        ///< Pushes that returned `timed_out`.
  std::uint64_t rejected_closed = 0;  ///< Pushes that returned `closed`.
  std::uint64_t discarded = 0;        ///< Queued items removed by close_and_discard() or clear().

  /// Returns `dropped_oldest + dropped_newest + timed_out`: the items lost because
  /// the queue was full (`discarded` items were removed on purpose and are not in it).
  [[nodiscard]] constexpr std::uint64_t dropped() const noexcept {
    return dropped_oldest + dropped_newest + timed_out;
  }

  /// Returns `100.0 * size / capacity` (0 for a default-constructed snapshot).
  [[nodiscard]] constexpr double utilization_percent() const noexcept {
    return capacity == 0 ? 0.0 : 100.0 * static_cast<double>(size) / static_cast<double>(capacity);
  }

  friend constexpr bool operator==(const QueueMetrics&, const QueueMetrics&) = default;
};

}  // namespace bq
