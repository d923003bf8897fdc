// SpscRing: the ring behind BoundedQueue<T, P, Spsc> when P never evicts.
//
// One pushing thread and one popping thread at a time, so head_ and tail_ are
// each written by one side with plain release stores and no read-modify-write;
// each side keeps a private copy of the other's index and re-reads the shared
// one only when its copy says full (or empty). Slots hold just the item.
//
// What the MPMC ring gets from its CAS, this ring gets from asymmetric fences:
// the pusher and popper pay a compiler barrier, a thread about to sleep (or
// close()) pays a membarrier system call.
//
// close() must not let a push that missed the flag land after pops have seen
// "closed and empty". So it runs in two steps: set closing_ (pushes now fail),
// wait until no push is in flight (each push announces its position in
// pushing_at_, ordered against closing_ by the fence pair, and is in flight
// until tail_ moves past it), then set closed_, which pops trust.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

#include "asymmetric_fence.hpp"
#include "cache_line.hpp"
#include "mpmc_ring.hpp"
#include "ring_storage.hpp"

namespace bq::detail {

template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : positions_(checked_capacity(capacity, sizeof(Slot))),
        slots_(allocate_slots<Slot>(capacity)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    for (std::uint64_t pos = head_.load(std::memory_order_acquire); pos != tail;
         pos = positions_.next(pos)) {
      slot_at(pos).get()->~T();
    }
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return positions_.capacity(); }

  template <class Construct>
  BQ_DETAIL_ALWAYS_INLINE RingStatus try_push(Construct&& construct) {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    // Announce the push at pos before reading closing_; close() reads the two
    // in the opposite order, and the fence pair makes sure one sees the other.
    // Publishing tail_ ends the push: one store marks it, none unmarks it.
    pushing_at_.store(pos, std::memory_order_relaxed);
    fence_.light();
    if (closing_.load(std::memory_order_relaxed)) {
      end_unpublished_push();
      // close() is between its two steps; report closed only once is_closed()
      // says so too, so that no thread sees a push fail on an "open" queue.
      while (!closed_.load(std::memory_order_acquire)) std::this_thread::yield();
      return RingStatus::closed;
    }
    // Full when head stands at this slot one lap earlier (see RingPositions):
    // first by the stale copy of head_, which only errs towards full.
    if (pos - cached_head_ == positions_.lap_step()) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (pos - cached_head_ == positions_.lap_step()) {
        end_unpublished_push();
        return RingStatus::full;
      }
    }
    if constexpr (std::is_nothrow_invocable_v<Construct, void*>) {
      construct(static_cast<void*>(slot_at(pos).bytes));
    } else {
      try {
        construct(static_cast<void*>(slot_at(pos).bytes));
      } catch (...) {
        end_unpublished_push();  // nothing was published
        throw;
      }
    }
    const std::uint64_t next = positions_.next(pos);
    // Release: the item's construction happens-before the popper's acquire of tail_.
    tail_.store(next, std::memory_order_release);
    // On the stride, and whenever this push may have filled the ring by the
    // (possibly stale) cached head: then re-read head for the exact size.
    if (high_watermark_.should_sample(positions_.index(pos)) ||
        next - cached_head_ == positions_.lap_step()) {
      high_watermark_.sample(positions_.count(next),
                             positions_.count(head_.load(std::memory_order_relaxed)));
    }
    return RingStatus::ok;
  }

  template <class Consume>
  BQ_DETAIL_ALWAYS_INLINE RingStatus try_pop(Consume&& consume) {
    const std::uint64_t pos = head_.load(std::memory_order_relaxed);  // ours alone
    if (pos == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (pos == cached_tail_) {
        if (!closed_.load(std::memory_order_acquire)) return RingStatus::full;
        // closed_ is set only after the last push published its tail: re-read.
        cached_tail_ = tail_.load(std::memory_order_acquire);
        if (pos == cached_tail_) return RingStatus::closed;
      }
    }
    struct Release {
      SpscRing& ring;
      std::uint64_t pos;
      ~Release() {
        ring.slot_at(pos).get()->~T();
        // Release: the item's destruction happens-before the pusher reuses the slot.
        ring.head_.store(ring.positions_.next(pos), std::memory_order_release);
      }
    } release{*this, pos};
    consume(*slot_at(pos).get());
    return RingStatus::ok;
  }

  void close() noexcept {
    closing_.store(true, std::memory_order_relaxed);
    fence_.heavy();
    // A push that announced itself and read closing_ == false before the fence
    // is at most one item construction away from publishing; wait for it. (It
    // is in flight while the position it announced is still unpublished.)
    while (pushing_at_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire)) {
      std::this_thread::yield();
    }
    closed_.store(true, std::memory_order_release);
  }

  [[nodiscard]] bool is_closed() const noexcept { return closing_.load(std::memory_order_acquire); }

  [[nodiscard]] bool pop_may_proceed() const noexcept {
    return closed_.load(std::memory_order_relaxed) ||
           tail_.load(std::memory_order_relaxed) != head_.load(std::memory_order_relaxed);
  }

  /// True if there is room for `items` (1 to capacity()) or the ring is closing.
  [[nodiscard]] bool push_may_proceed(std::size_t items = 1) const noexcept {
    return closing_.load(std::memory_order_relaxed) ||
           positions_.count(tail_.load(std::memory_order_relaxed)) -
                   positions_.count(head_.load(std::memory_order_relaxed)) <=
               capacity() - items;
  }

  [[nodiscard]] RingCounts counts() const noexcept {
    // head_ first: tail_ can only have moved further, so the difference is >= 0.
    const std::uint64_t popped = positions_.count(head_.load(std::memory_order_acquire));
    const std::uint64_t pushed = positions_.count(tail_.load(std::memory_order_acquire));
    return RingCounts{pushed, popped, 0, std::min<std::uint64_t>(pushed - popped, capacity())};
  }
  [[nodiscard]] HighWatermark& high_watermark() noexcept { return high_watermark_; }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept { return high_watermark_; }

  /// After a push or pop, before has_waiters(): the cheap half of the pair.
  void signaller_fence() const noexcept { fence_.light(); }
  /// After prepare_wait(), before the re-check: the expensive half.
  void waiter_fence() const noexcept { fence_.heavy(); }

 private:
  using Slot = Storage<T>;

  static constexpr std::uint64_t kNoPush = ~std::uint64_t{0};  // never a position

  /// Ends an announced push that published nothing (full, closed or thrown).
  void end_unpublished_push() noexcept { pushing_at_.store(kNoPush, std::memory_order_release); }

  Slot& slot_at(std::uint64_t pos) const noexcept { return slots_[positions_.index(pos)]; }

  // The pusher's own line: the push it announced (read by close(), rarely)
  // and its stale copy of head_.
  alignas(kCacheLine) std::atomic<std::uint64_t> pushing_at_{kNoPush};
  std::uint64_t cached_head_ = 0;
  // Written by the pusher once per push; read by the popper when its copy runs out.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  // The popper's line: what it publishes, and its stale copy of tail_.
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  std::uint64_t cached_tail_ = 0;
  // Read-mostly.
  alignas(kCacheLine) const RingPositions positions_;
  const std::unique_ptr<Slot[]> slots_;
  const AsymmetricFence fence_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
  alignas(kCacheLine) HighWatermark high_watermark_{positions_.capacity()};
};

}  // namespace bq::detail
