// QueueCounters: the counters a BoundedQueue keeps beside its ring, and the
// snapshot that joins them with the ring's own counts into QueueMetrics.
//
// Pushes, pops, evictions, the size and the high watermark come from the ring
// (its positions count them, so the fast path pays nothing); the refusals
// (dropped_newest, timed_out, rejected_closed) and the discards are counted
// here, on the overflow and shutdown paths only.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../metrics.hpp"
#include "cache_line.hpp"
#include "ring_storage.hpp"

namespace bq::detail {

BQ_PADDED_BEGIN  // alignas padding keeps the rarely written counters apart
class QueueCounters {
 public:
  void add_dropped_newest(std::uint64_t items) noexcept {
    dropped_newest_.fetch_add(items, std::memory_order_relaxed);
  }
  void add_timed_out(std::uint64_t items) noexcept {
    timed_out_.fetch_add(items, std::memory_order_relaxed);
  }
  void add_rejected_closed(std::uint64_t items) noexcept {
    rejected_closed_.fetch_add(items, std::memory_order_relaxed);
  }

  /// Counts a discard before its ring pop (see counts()).
  void claim_discard() noexcept { discard_claims_.fetch_add(1, std::memory_order_seq_cst); }
  /// Takes back the claim of a discard whose ring pop removed nothing.
  void unclaim_discard() noexcept { discard_claims_.fetch_sub(1, std::memory_order_seq_cst); }
  /// Counts an item a discard removed.
  void add_discarded() noexcept { discarded_.fetch_add(1, std::memory_order_relaxed); }

  /// Returns the snapshot of BoundedQueue::metrics(): `ring`'s counts and these.
  template <class Ring>
  QueueMetrics snapshot(const Ring& ring) const noexcept {
    std::uint64_t discarded = 0;
    const RingCounts c = counts(ring, discarded);
    QueueMetrics m;
    m.capacity = ring.capacity();
    m.size = static_cast<std::size_t>(c.size);
    // A size read here was held, so it raises the mark for every later read too.
    m.high_watermark = static_cast<std::size_t>(ring.high_watermark().raise_to(c.size));
    m.pushed = c.pushed;
    m.popped = c.popped;
    m.dropped_oldest = c.evicted;
    m.dropped_newest = dropped_newest_.load(std::memory_order_relaxed);
    m.timed_out = timed_out_.load(std::memory_order_relaxed);
    m.rejected_closed = rejected_closed_.load(std::memory_order_relaxed);
    m.discarded = discarded;
    return m;
  }

 private:
  /// Returns the ring's counts with `pushed` and `popped` never below a value
  /// reported before. The ring's counts are never ahead of the truth but may
  /// lag behind a value it reported earlier (operations in flight), so keeping
  /// the largest value reported is still never ahead, and exact once the queue
  /// is quiet. `pushed` is also at least what was popped, evicted and discarded
  /// (each of those was pushed; the ring reads its push count first, so it may
  /// trail). Sets `discarded` to the discard count it used.
  ///
  /// The ring counts a discard as a pop. Each discard counts itself in
  /// discard_claims_ before its ring pop (and takes the claim back if it
  /// removed nothing), so the claims read after the ring's counts include every
  /// discard those counts include (the ring pop is a release of the pop
  /// position that the counts acquire); subtracting them leaves a popped count
  /// that may lag by discards in flight but is never ahead.
  template <class Ring>
  RingCounts counts(const Ring& ring, std::uint64_t& discarded) const noexcept {
    RingCounts c = ring.counts();
    const std::uint64_t claims = discard_claims_.load(std::memory_order_seq_cst);
    discarded = discarded_.load(std::memory_order_relaxed);
    const std::uint64_t removed = c.popped + c.evicted;  // ring pops include discards
    c.popped = raise_reported(popped_reported_, c.popped - std::min(c.popped, claims));
    c.pushed = raise_reported(pushed_reported_,
                              std::max({c.pushed, removed, c.popped + c.evicted + discarded}));
    return c;
  }

  /// Raises `reported` to `value` if it is below, and returns the larger of the two.
  static std::uint64_t raise_reported(std::atomic<std::uint64_t>& reported,
                                      std::uint64_t value) noexcept {
    std::uint64_t seen = reported.load(std::memory_order_relaxed);
    while (value > seen &&
           !reported.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
    return std::max(value, seen);
  }

  // Written only on the overflow and shutdown paths, and by metrics().
  alignas(kCacheLine) std::atomic<std::uint64_t> dropped_newest_{0};
  std::atomic<std::uint64_t> timed_out_{0};
  std::atomic<std::uint64_t> rejected_closed_{0};
  std::atomic<std::uint64_t> discarded_{0};
  std::atomic<std::uint64_t> discard_claims_{0};           // see counts()
  mutable std::atomic<std::uint64_t> popped_reported_{0};  // see counts()
  mutable std::atomic<std::uint64_t> pushed_reported_{0};
};
BQ_PADDED_END

}  // namespace bq::detail
