// SpscRing: the ring behind BoundedQueue<T, P, Spsc> when P never evicts.
//
// One pushing thread and one popping thread at a time, so nothing needs a
// read-modify-write: each side writes only its own index with plain stores.
// Each slot carries a flag saying which side owns it (the pusher while false,
// the popper while true), and the two sides learn about each other differently:
// - the popper reads only the flag of the slot it pops, never tail_, so it
//   never takes the cache line the pusher writes on every push;
// - the pusher counts free slots from a fresh read of head_, and reads head_
//   again only when that count has run out, so while the ring has room it
//   touches the popper's line about once per lap.
// The popper clears each flag before it moves head_, so both stay in step.
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

#include <algorithm>
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

BQ_PADDED_BEGIN  // alignas padding keeps each side on its own lines
template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : positions_(checked_capacity(capacity, sizeof(Slot))),
        slots_(allocate_slots<Slot>(capacity)) {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].full.store(false, std::memory_order_relaxed);
    }
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    for (std::uint64_t pos = head_.load(std::memory_order_acquire); pos != tail;
         pos = positions_.next(pos)) {
      slot_at(pos).storage.get()->~T();
    }
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return positions_.capacity(); }

  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus try_push(Construct&& construct) {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    // Announce the push at pos before reading closing_; close() reads the two
    // in the opposite order, and the fence pair makes sure one sees the other.
    // Publishing tail_ ends the push: one store marks it, none unmarks it.
    // Release: a close() that reads this announcement also sees the previous
    // push's tail_ (and item), so it cannot take that push for unpublished
    // work already done and end before the item is visible.
    pushing_at_.store(pos, std::memory_order_release);
    fence_.light();
    if (closing_.load(std::memory_order_relaxed)) {
      end_unpublished_push();
      // close() is between its two steps; report closed only once is_closed()
      // says so too, so that no thread sees a push fail on an "open" queue.
      while (!closed_.load(std::memory_order_acquire)) std::this_thread::yield();
      return RingStatus::closed;
    }
    if (free_ahead_ == 0 && (free_ahead_ = count_free_from(pos)) == 0) {
      end_unpublished_push();
      return RingStatus::full;
    }
    Slot& slot = slot_at(pos);
    construct_in(slot.storage, construct, [this] { end_unpublished_push(); });  // nothing published
    // Release: the item's construction happens-before the popper's acquire of
    // the flag. tail_ moves after the flag, so when close() sees tail_ move,
    // the item is there for the pops that trust closed_.
    slot.full.store(true, std::memory_order_release);
    const std::uint64_t next = positions_.next(pos);
    tail_.store(next, std::memory_order_release);
    --free_ahead_;
    sample_size(next);
    return RingStatus::ok;
  }

  template <class Consume>
  BQ_ALWAYS_INLINE RingStatus try_pop(Consume&& consume) {
    const std::uint64_t pos = head_.load(std::memory_order_relaxed);  // ours alone
    Slot& slot = slot_at(pos);
    if (!slot.full.load(std::memory_order_acquire)) {
      if (!closed_.load(std::memory_order_acquire)) return RingStatus::full;
      // closed_ is set only after the last push published its item: re-read.
      if (!slot.full.load(std::memory_order_acquire)) return RingStatus::closed;
    }
    struct Release {
      SpscRing& ring;
      Slot& slot;
      std::uint64_t pos;
      ~Release() {
        slot.storage.get()->~T();
        // Release: the item's destruction happens-before the pusher reuses the slot.
        slot.full.store(false, std::memory_order_release);
        ring.head_.store(ring.positions_.next(pos), std::memory_order_release);
      }
    } release{*this, slot, pos};
    consume(*slot.storage.get());
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

  /// For the popper: true if the next item is there or the ring is closed.
  /// Enough for parking (see EventCount): the pusher stores the flag before
  /// its signaller_fence() and its check for sleepers, the sleeping popper
  /// registers and pays waiter_fence() before this read, so one sees the other.
  [[nodiscard]] bool pop_may_proceed() const noexcept {
    return closed_.load(std::memory_order_relaxed) ||
           slot_at(head_.load(std::memory_order_relaxed)).full.load(std::memory_order_relaxed);
  }

  /// For the pusher: true if there is room for `items` (1 to capacity()) or
  /// the ring is closing. By head_, as try_push() counts free slots: a pop
  /// clears its slot's flag before it moves head_, so a test by flags could
  /// pass while a push still finds the ring full, and a waiting pusher would
  /// spin instead of sleeping until the popper moves head_. The popper stores
  /// head_ before its signaller_fence(), which pairs with waiter_fence() as
  /// for pop_may_proceed().
  [[nodiscard]] bool push_may_proceed(std::size_t items = 1) const noexcept {
    return closing_.load(std::memory_order_relaxed) ||
           positions_.count(tail_.load(std::memory_order_relaxed)) -
                   positions_.count(head_.load(std::memory_order_relaxed)) <=
               capacity() - items;
  }

  [[nodiscard]] RingCounts counts() const noexcept {
    // tail_ first: the size is then never above the size when head_ is read
    // (read the other way round, pops then pushes between the two reads would
    // add up to a size the ring never held). A pop may have moved head_ past
    // the tail_ read (tail_ is also stored after the item is published): that
    // push has happened, so pushed is at least popped.
    const std::uint64_t tail = positions_.count(tail_.load(std::memory_order_acquire));
    const std::uint64_t popped = positions_.count(head_.load(std::memory_order_acquire));
    const std::uint64_t pushed = std::max(popped, tail);
    return RingCounts{pushed, popped, 0, std::min<std::uint64_t>(pushed - popped, capacity())};
  }
  [[nodiscard]] HighWatermark& high_watermark() noexcept { return high_watermark_; }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept { return high_watermark_; }

  /// After a push or pop, before has_waiters(): the cheap half of the pair.
  void signaller_fence() const noexcept { fence_.light(); }
  /// After prepare_wait(), before the re-check: the expensive half.
  void waiter_fence() const noexcept { fence_.heavy(); }

 private:
  /// A slot's flag says who may touch it: the pusher while false, the popper while true.
  struct Slot {
    std::atomic<bool> full;
    Storage<T> storage;
  };

  static constexpr std::uint64_t kNoPush = ~std::uint64_t{0};  // never a position

  /// Ends an announced push that published nothing (full, closed or thrown).
  void end_unpublished_push() noexcept { pushing_at_.store(kNoPush, std::memory_order_release); }

  Slot& slot_at(std::uint64_t pos) const noexcept { return slots_[positions_.index(pos)]; }

  /// The slot of the position `steps` (below capacity()) after `pos`.
  Slot& slot_ahead(std::uint64_t pos, std::size_t steps) const noexcept {
    std::size_t index = positions_.index(pos) + steps;
    if (index >= capacity()) index -= capacity();
    return slots_[index];
  }

  /// Returns how many slots from `pos` on are free, by a fresh read of head_
  /// (the popper's line, so read only when the last count has run out).
  /// Acquire: each pop's destruction of its item happens-before the pusher
  /// reuses that slot.
  std::size_t count_free_from(std::uint64_t pos) const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    return capacity() - static_cast<std::size_t>(positions_.count(pos) - positions_.count(head));
  }

  /// True if the item pushed `back` positions before `next` (1 to capacity())
  /// is still queued, that is, if the ring holds at least `back` items: pops
  /// free slots in order, so the items queued are exactly the last pushed.
  bool holds_at_least(std::uint64_t next, std::size_t back) const noexcept {
    return slot_ahead(next, capacity() - back).full.load(std::memory_order_relaxed);
  }

  /// Raises the high watermark after the push that ended before `next`. When
  /// the count of free slots runs out, the fresh count says whether this push
  /// filled the ring (unless a pop has made room since). On the stride, the
  /// size comes from slot flags behind tail_ rather than from head_: head_ is
  /// on the popper's line, and reading it there would cost both threads a
  /// cache miss; the flags behind are on lines the popper has left. Nothing is
  /// read once the watermark stands at capacity.
  void sample_size(std::uint64_t next) noexcept {
    const std::size_t known = static_cast<std::size_t>(high_watermark_.get());
    if (known >= capacity()) return;
    if (free_ahead_ == 0 && (free_ahead_ = count_free_from(next)) == 0) {
      high_watermark_.raise_to(capacity());
      return;
    }
    if (!high_watermark_.should_sample(positions_.index(next)) ||
        !holds_at_least(next, known + 1)) {
      return;
    }
    // The ring holds more than `known` (and fewer than capacity()) items:
    // bisect for the largest count it held. A concurrent pop can only make
    // the answer smaller, never above what the ring held.
    std::size_t held = known + 1;
    std::size_t not_held = capacity();
    while (not_held - held > 1) {
      const std::size_t middle = held + (not_held - held) / 2;
      (holds_at_least(next, middle) ? held : not_held) = middle;
    }
    high_watermark_.raise_to(held);
  }

  // The pusher's line: its position and the push it announced (read by close(), rarely).
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint64_t> pushing_at_{kNoPush};
  std::size_t free_ahead_ = 0;  // slots from tail_ on known to be free (pusher only)
  // The popper's line.
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  // Read-mostly.
  alignas(kCacheLine) const RingPositions positions_;
  const std::unique_ptr<Slot[]> slots_;
  const AsymmetricFence fence_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
  alignas(kCacheLine) HighWatermark high_watermark_{positions_.capacity()};
};
BQ_PADDED_END

}  // namespace bq::detail
