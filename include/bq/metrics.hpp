// QueueMetrics: the plain snapshot that BoundedQueue::metrics() returns, and
// metrics_delta() for the change between two snapshots.
//
// The queue keeps its counters as atomics (most of them derived from the ring's
// own head and tail positions, so the fast path pays nothing for them) and
// copies them into this struct on request. A snapshot taken while producers and
// consumers run is "consistent enough": every field is a value the counter had
// during the call, but the fields are not read at one instant. At quiescence
// `pushed == popped + dropped_oldest + discarded + size` holds exactly.
//
// Glossary (the words every bq header, message and metric uses):
//   evict     to push the oldest queued item out to make room for a new one. The
//             item is gone. The policy that evicts is DropOldest (OverflowPolicy::
//             drop_oldest, alias EvictOldest); FullAction::evict_oldest asks for it;
//             the push returns PushResult::replaced_oldest; the item goes to the
//             EvictionHandler; it is counted in dropped_oldest (evicted()) and
//             DropCounts::oldest.
//   lost      gone without being popped: evicted or discarded (lost()).
//   refused   not queued and returned to the caller, who still holds the item: the
//             queue was full (dropped_newest), a wait for room timed out
//             (timed_out) or the queue was closed (rejected_closed) (refused()).
//   dropped   the old umbrella word: evicted + refused because full (dropped()).
//             It mixes lost and refused items; prefer lost() and refused().
//   utilization  size / capacity, a fraction from 0 to 1, everywhere (utilization(),
//             warn_utilization, thresholds); text output may print it as a percent.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bq {

namespace detail {

/// Returns `part / whole` as a fraction (0 when `whole` is 0): the one utilization formula.
[[nodiscard]] constexpr double fraction_of(std::size_t part, std::size_t whole) noexcept {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

/// Returns how much a counter grew from `earlier` to `later` (0 if it went down).
[[nodiscard]] constexpr std::uint64_t counter_increase(std::uint64_t later,
                                                       std::uint64_t earlier) noexcept {
  return later > earlier ? later - earlier : std::uint64_t{0};
}

}  // namespace detail

/// A copy of a queue's counters and gauges. Plain data: copy it, compare it, log it.
struct QueueMetrics {
  std::size_t capacity = 0;           ///< Fixed capacity of the queue.
  std::size_t size = 0;               ///< Items queued when the snapshot was taken.
  std::size_t high_watermark = 0;     ///< Largest size seen since construction or the last reset.
  std::uint64_t pushed = 0;           ///< Items accepted (`pushed` or `replaced_oldest`).
  std::uint64_t popped = 0;           ///< Items returned by any pop.
  std::uint64_t dropped_oldest = 0;   ///< Queued items evicted to make room (lost).
  std::uint64_t dropped_newest = 0;   ///< Pushes refused because full (the caller keeps the item).
  std::uint64_t timed_out = 0;        ///< Pushes refused after waiting for room in vain.
  std::uint64_t rejected_closed = 0;  ///< Pushes refused because the queue was closed.
  std::uint64_t discarded = 0;        ///< Queued items removed by close_and_discard() or clear().

  /// Returns `dropped_oldest`: the items evicted to make room for newer ones.
  [[nodiscard]] constexpr std::uint64_t evicted() const noexcept { return dropped_oldest; }

  /// Returns `dropped_oldest + discarded`: the items that are gone without being popped.
  [[nodiscard]] constexpr std::uint64_t lost() const noexcept { return dropped_oldest + discarded; }

  /// Returns `dropped_newest + timed_out + rejected_closed`: the pushes that returned
  /// their item to the caller.
  [[nodiscard]] constexpr std::uint64_t refused() const noexcept {
    return dropped_newest + timed_out + rejected_closed;
  }

  /// Returns `dropped_oldest + dropped_newest + timed_out`, the pushes that met a full
  /// queue and did not wait it out: evicted (lost) and refused items together. Kept for
  /// compatibility; prefer evicted(), lost() and refused().
  [[nodiscard]] constexpr std::uint64_t dropped() const noexcept {
    return dropped_oldest + dropped_newest + timed_out;
  }

  /// Returns `size / capacity`, from 0 to 1 (0 for a default-constructed snapshot).
  [[nodiscard]] constexpr double utilization() const noexcept {
    return detail::fraction_of(size, capacity);
  }

  /// Returns `100 * utilization()`. Kept for compatibility: every other utilization
  /// in bq is a fraction; prefer utilization().
  [[nodiscard]] constexpr double utilization_percent() const noexcept {
    return 100.0 * utilization();
  }

  friend constexpr bool operator==(const QueueMetrics&, const QueueMetrics&) = default;
};

/// Returns `now` with every counter replaced by its increase since `before`
/// (0 if it went down, e.g. `before` is from another queue); capacity, size and
/// high watermark are taken from `now`.
[[nodiscard]] constexpr QueueMetrics metrics_delta(const QueueMetrics& now,
                                                   const QueueMetrics& before) noexcept {
  using detail::counter_increase;
  QueueMetrics delta = now;
  delta.pushed = counter_increase(now.pushed, before.pushed);
  delta.popped = counter_increase(now.popped, before.popped);
  delta.dropped_oldest = counter_increase(now.dropped_oldest, before.dropped_oldest);
  delta.dropped_newest = counter_increase(now.dropped_newest, before.dropped_newest);
  delta.timed_out = counter_increase(now.timed_out, before.timed_out);
  delta.rejected_closed = counter_increase(now.rejected_closed, before.rejected_closed);
  delta.discarded = counter_increase(now.discarded, before.discarded);
  return delta;
}

}  // namespace bq
