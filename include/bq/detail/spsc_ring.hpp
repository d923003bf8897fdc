// SpscRing: the ring behind BoundedQueue<T, P, Spsc>.
//
// One pushing thread and one popping thread at a time, so when P never evicts
// nothing needs a read-modify-write: each side writes only its own index with
// plain stores.
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
//
// When P may evict (kEvicting), the pusher of a full ring takes the oldest item
// itself, so head_ has two writers and the two must agree on who gets that item:
// both claim a position by a compare-and-swap of head_ (the pusher only when the
// ring is full, so one CAS per eviction and none per ordinary push; the popper
// on every pop). The popper moves head_ *before* it moves the item out, so the
// slot state is then a turn number, as in the MPMC ring (2*lap free for the
// push of that lap, 2*lap+1 holding its item), never mistaken for another
// lap's: a popper with a stale head_ finds its CAS fail, and the pusher waits
// for a slot whose popper is still moving the item out (it is a move away).
// Evictions are counted by the pusher alone, with plain stores: claimed before
// its CAS (taken back if the CAS fails) and committed after, so counts() can
// tell evicted positions from popped ones without ever running ahead.
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
template <class T, bool kEvicting = false>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : positions_(checked_capacity(capacity, sizeof(Slot))),
        slots_(allocate_slots<Slot>(capacity)) {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].state.store(free_state(i), std::memory_order_relaxed);
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

  /// Constructs the next item with `construct(void* where)` if there is room.
  /// Returns ok, full, closed, or busy (kEvicting: the popper is still moving
  /// the previous lap's item out of the slot: retry).
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus try_push(Construct&& construct) {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    if (!begin_push(pos)) return RingStatus::closed;
    if (free_ahead_ == 0 && (free_ahead_ = count_free_from(pos)) == 0) {
      end_unpublished_push();
      return RingStatus::full;
    }
    return publish(pos, construct);
  }

  /// Like try_push(), but when the ring is full first takes the oldest item
  /// (pos's slot one lap earlier) away from the popper with one CAS of head_,
  /// counts it and calls `evict(T&)` with it (before destroying it). Returns
  /// ok, closed or busy; never full.
  template <class Construct, class Evict>
  BQ_ALWAYS_INLINE RingStatus try_push_evicting(Construct&& construct,
                                                Evict&& evict) requires kEvicting {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    if (!begin_push(pos)) return RingStatus::closed;
    if (free_ahead_ == 0 && (free_ahead_ = count_free_from(pos)) == 0) {
      const std::uint64_t oldest = pos - positions_.lap_step();
      const std::uint64_t claimed = evictions_claimed_.load(std::memory_order_relaxed);
      // The claim is stored before the CAS, which releases it to any counts()
      // that reads head_ from this CAS on (see counts()).
      evictions_claimed_.store(claimed + 1, std::memory_order_relaxed);
      // Until pos is published, a popper that reaches it must wait rather than
      // report empty: the oldest item is gone, and this push's item is on its
      // way (evicting and queueing are one step). Released by the CAS, like the claim.
      evicting_at_.store(pos, std::memory_order_relaxed);
      std::uint64_t expected = oldest;
      if (!head_.compare_exchange_strong(expected, positions_.next(oldest),
                                         std::memory_order_acq_rel, std::memory_order_acquire)) {
        // The popper took the oldest item first, so there is room now.
        evictions_claimed_.store(claimed, std::memory_order_relaxed);
        evicting_at_.store(kNoPush, std::memory_order_relaxed);
        free_ahead_ = count_free_from(pos);
        return publish(pos, construct);
      }
      // The oldest item is ours: this thread published it a lap ago and no
      // popper can claim it now. Counted before the move, so an item whose
      // move throws is counted too.
      evictions_committed_.store(evictions_committed_.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_release);
      Slot& slot = slot_at(pos);
      evict_from(slot.storage, evict, [&] { give_back(slot, pos); });
      // The slot is empty and ours: hand it to this push.
      slot.state.store(free_state(pos), std::memory_order_relaxed);
      free_ahead_ = 1;
    }
    return publish(pos, construct);
  }

  template <class Consume>
  BQ_ALWAYS_INLINE RingStatus try_pop(Consume&& consume) {
    // Without kEvicting head_ is ours alone; with it, an evicting push may
    // move it too (acquire: then its eviction's turn store is visible).
    std::uint64_t pos =
        head_.load(kEvicting ? std::memory_order_acquire : std::memory_order_relaxed);
    for (;;) {
      Slot& slot = slot_at(pos);
      if (!holds_item(slot, pos)) {
        if constexpr (kEvicting) {
          // The slot may hold a later lap because pos was evicted: go on from head_.
          const std::uint64_t head = head_.load(std::memory_order_acquire);
          if (head != pos) {
            pos = head;
            continue;
          }
        }
        if constexpr (kEvicting) {
          // An evicting push of pos is under way (see try_push_evicting()). The
          // acquire load of head_ that read pos saw its CAS, or a pop after it.
          if (evicting_at_.load(std::memory_order_acquire) == pos) return RingStatus::busy;
        }
        if (!closed_.load(std::memory_order_acquire)) return RingStatus::empty;
        // closed_ is set only after the last push published its item: re-read.
        if (!holds_item(slot, pos)) return RingStatus::closed;
      }
      if constexpr (kEvicting) {
        // Claim pos against an evicting push; on failure pos is the new head_.
        if (!head_.compare_exchange_strong(pos, positions_.next(pos), std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
          continue;
        }
      }
      struct Release {
        SpscRing& ring;
        Slot& slot;
        std::uint64_t pos;
        ~Release() {
          slot.storage.get()->~T();
          // Release: the item's destruction happens-before the pusher reuses the slot.
          slot.state.store(ring.free_state(ring.positions_.lap_step() + pos),
                           std::memory_order_release);
          if constexpr (!kEvicting) {
            ring.head_.store(ring.positions_.next(pos), std::memory_order_release);
          }
        }
      } release{*this, slot, pos};
      consume(*slot.storage.get());
      return RingStatus::ok;
    }
  }

  /// Pushes up to `n` (1 to capacity()) items at once, as many as there is room
  /// for now, calling `construct(void* where)` once per slot, in order, and
  /// moving tail_ once for all of them. Sets `pushed`; returns ok (pushed >= 1),
  /// full, closed or busy (kEvicting: the popper is still emptying the first
  /// slot). If construct throws, the items before it are published (`pushed`)
  /// and the exception propagates.
  ///
  /// One announcement covers the batch: close() waits while pushing_at_ equals
  /// tail_, that is until the single tail_ store below. The items are handed to
  /// the popper by their slots' states (the popper reads states, not tail_), so
  /// a popper may take them before tail_ moves; counts() already allows head_
  /// to pass the tail_ it read.
  template <class Construct>
  RingStatus try_push_batch(std::size_t n, Construct& construct, std::size_t& pushed) {
    pushed = 0;
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    if (!begin_push(pos)) return RingStatus::closed;
    if (free_ahead_ < n) free_ahead_ = count_free_from(pos);
    std::size_t claimed = std::min(n, free_ahead_);
    if constexpr (kEvicting) {
      // head_ moves before the popper empties a slot: take only the slots it has
      // handed over. Acquire, as in publish(): that item's destruction
      // happens-before our construction.
      std::size_t ready = 0;
      for (std::uint64_t p = pos; ready < claimed; ++ready, p = positions_.next(p)) {
        if (slot_at(p).state.load(std::memory_order_acquire) != free_state(p)) break;
      }
      if (ready == 0 && claimed != 0) {
        end_unpublished_push();
        return RingStatus::busy;
      }
      claimed = ready;
    }
    if (claimed == 0) {
      end_unpublished_push();
      return RingStatus::full;
    }
    std::uint64_t p = pos;
    BQ_TRY {
      for (; pushed < claimed; ++pushed, p = positions_.next(p)) {
        Slot& slot = slot_at(p);
        construct(static_cast<void*>(slot.storage.bytes));
      }
    }
    BQ_CATCH(...) {
      publish_batch(pos, pushed);
      end_batch(p, pushed);
      BQ_RETHROW;
    }
    publish_batch(pos, claimed);
    end_batch(p, claimed);
    sample_size(p);
    return RingStatus::ok;
  }

  /// Pops up to `max` (>= 1) items at once, as many as are published now,
  /// calling `consume(T&)` with each, oldest first (each item is destroyed and
  /// its slot freed after), and moving head_ once for all of them (kEvicting:
  /// claiming them with one CAS of head_). Sets `popped`. If consume throws, the
  /// batch still goes on with the rest and the first exception propagates after.
  /// When the next item is not there, does what try_pop() does and returns its status.
  template <class Consume>
  RingStatus try_pop_batch(std::size_t max, Consume& consume, std::size_t& popped) {
    popped = 0;
    max = std::min(max, capacity());
    // As in try_pop(): with kEvicting, acquire, so an eviction's state store is visible.
    std::uint64_t pos =
        head_.load(kEvicting ? std::memory_order_acquire : std::memory_order_relaxed);
    std::size_t claimed = 0;
    std::uint64_t end = pos;
    for (;;) {
      claimed = 0;
      end = pos;
      for (; claimed < max && holds_item(slot_at(end), end); ++claimed) end = positions_.next(end);
      if (claimed == 0) {
        const RingStatus status = try_pop(consume);
        popped = status == RingStatus::ok ? 1 : 0;
        return status;
      }
      if constexpr (!kEvicting) {
        break;
      } else {
        // Claim them all against an evicting push, which takes only the item at
        // head_: success means head_ still stood at pos, so none was evicted.
        // On failure pos is the new head_ (an eviction): scan again from there.
        if (head_.compare_exchange_strong(pos, end, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
          break;
        }
      }
    }
    struct MoveHead {
      SpscRing& ring;
      std::uint64_t end;
      // Without kEvicting, head_ is stored once, after every slot is freed (also
      // when a consume threw). Release: the items' destruction happens-before the
      // pusher's acquire of head_ (count_free_from()), which is when it reuses them.
      ~MoveHead() {
        if constexpr (!kEvicting) ring.head_.store(end, std::memory_order_release);
      }
    } move_head{*this, end};
    std::uint64_t p = pos;
    for_each_then_rethrow(claimed, [&](std::size_t) {
      Slot& slot = slot_at(p);
      struct FreeSlot {
        const SpscRing& ring;
        Slot& slot;
        std::uint64_t pos;
        ~FreeSlot() {
          slot.storage.get()->~T();
          // Release: the destruction happens-before the pusher reuses the slot.
          slot.state.store(ring.free_state(ring.positions_.lap_step() + pos),
                           std::memory_order_release);
        }
      } free_slot{*this, slot, p};
      p = positions_.next(p);
      consume(*slot.storage.get());
      ++popped;
    });
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
    if (closed_.load(std::memory_order_relaxed)) return true;
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    return slot_at(head).state.load(std::memory_order_relaxed) == full_state(head);
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
    // push has happened, so pushed is at least what left the ring.
    const std::uint64_t tail = positions_.count(tail_.load(std::memory_order_acquire));
    // Committed evictions before head_: every one is among the positions head_
    // passed, so evicted only lags. Claims after head_: the acquire load of head_
    // makes the claim of every eviction it includes visible (plus one in flight,
    // which makes popped lag, never lead).
    const std::uint64_t evicted = evictions_committed_.load(std::memory_order_acquire);
    const std::uint64_t head = positions_.count(head_.load(std::memory_order_acquire));
    const std::uint64_t skipped = evictions_claimed_.load(std::memory_order_acquire);
    const std::uint64_t popped = head - std::min(head, skipped);
    const std::uint64_t pushed = std::max(head, tail);
    return RingCounts{pushed, popped, evicted, std::min<std::uint64_t>(pushed - head, capacity())};
  }
  [[nodiscard]] HighWatermark& high_watermark() noexcept { return high_watermark_; }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept { return high_watermark_; }

  /// After a push or pop, before has_waiters(): the cheap half of the pair.
  void signaller_fence() const noexcept { fence_.light(); }
  /// After prepare_wait(), before the re-check: the expensive half.
  void waiter_fence() const noexcept { fence_.heavy(); }

 private:
  /// A slot's state says who may touch it. Without kEvicting, a flag: the pusher
  /// while false, the popper while true. With it, a turn: free_state(pos) for the
  /// push of pos, full_state(pos) while it holds pos's item (see the file comment).
  using State = std::conditional_t<kEvicting, std::uint64_t, bool>;
  struct Slot {
    std::atomic<State> state;
    Storage<T> storage;
  };

  State free_state(std::uint64_t pos) const noexcept {
    if constexpr (kEvicting) {
      return 2 * positions_.lap(pos);
    } else {
      return false;
    }
  }
  State full_state(std::uint64_t pos) const noexcept {
    if constexpr (kEvicting) {
      return 2 * positions_.lap(pos) + 1;
    } else {
      return true;
    }
  }
  /// For the popper of `pos`: acquire, so the item's construction happens-before its move.
  bool holds_item(const Slot& slot, std::uint64_t pos) const noexcept {
    return slot.state.load(std::memory_order_acquire) == full_state(pos);
  }

  /// Announces the push at `pos`; returns false (the push ended) if the ring is closing.
  /// Announced before closing_ is read; close() reads the two in the opposite order,
  /// and the fence pair makes sure one sees the other. Publishing tail_ ends the
  /// push: one store marks it, none unmarks it. Release: a close() that reads this
  /// announcement also sees the previous push's tail_ (and item), so it cannot take
  /// that push for unpublished work already done and end before the item is visible.
  BQ_ALWAYS_INLINE bool begin_push(std::uint64_t pos) noexcept {
    pushing_at_.store(pos, std::memory_order_release);
    fence_.light();
    if (!closing_.load(std::memory_order_relaxed)) return true;
    end_closed_push();
    return false;
  }

  /// Ends a push that found the ring closing (off the fast path). close() is between its
  /// two steps; report closed only once is_closed() says so too, so that no thread sees a
  /// push fail on an "open" queue.
  BQ_NOINLINE void end_closed_push() noexcept {
    end_unpublished_push();
    while (!closed_.load(std::memory_order_acquire)) std::this_thread::yield();
  }

  /// Constructs the item of `pos` (announced, counted free) in its slot and publishes it.
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus publish(std::uint64_t pos, Construct& construct) {
    Slot& slot = slot_at(pos);
    if constexpr (kEvicting) {
      // head_ moves before the popper empties the slot: it may still be a move away.
      // Acquire: the previous item's destruction happens-before our construction.
      if (slot.state.load(std::memory_order_acquire) != free_state(pos)) {
        end_unpublished_push();
        return RingStatus::busy;
      }
    }
    construct_in(slot.storage, construct, [this] { end_unpublished_push(); });  // nothing published
    // Release: the item's construction happens-before the popper's acquire of
    // the state. tail_ moves after the state, so when close() sees tail_ move,
    // the item is there for the pops that trust closed_.
    slot.state.store(full_state(pos), std::memory_order_release);
    const std::uint64_t next = positions_.next(pos);
    tail_.store(next, std::memory_order_release);
    --free_ahead_;
    sample_size(next);
    return RingStatus::ok;
  }

  /// After an eviction whose move threw: the slot is empty, and free again for `pos`,
  /// which stays unpublished (the eviction stands, counted).
  void give_back(Slot& slot, std::uint64_t pos) noexcept {
    slot.state.store(free_state(pos), std::memory_order_relaxed);
    free_ahead_ = 1;
    end_unpublished_push();
  }

  /// Hands the `count` items constructed from `pos` on to the popper, the last
  /// first: a popper that finds the first one then finds the whole batch, and
  /// takes it at once instead of chasing the writer slot by slot (and line by line).
  void publish_batch(std::uint64_t pos, std::size_t count) noexcept {
    for (std::size_t i = count; i-- > 0;) {
      const std::uint64_t p = positions_.advance(pos, i);
      // Release: the item's construction happens-before the popper's acquire of the state.
      slot_at(p).state.store(full_state(p), std::memory_order_release);
    }
  }

  /// Ends a batch push that published `published` items, the last before
  /// `next`: publishing tail_ ends it (as one push's does), else nothing did.
  void end_batch(std::uint64_t next, std::size_t published) noexcept {
    if (published == 0) {
      end_unpublished_push();
      return;
    }
    free_ahead_ -= published;
    // Release: the items' construction happens-before close()'s acquire of tail_,
    // after which pops trust closed_.
    tail_.store(next, std::memory_order_release);
  }

  static constexpr std::uint64_t kNoPush = ~std::uint64_t{0};  // never a position

  /// Ends an announced push that published nothing (full, closed or thrown).
  void end_unpublished_push() noexcept {
    if constexpr (kEvicting) evicting_at_.store(kNoPush, std::memory_order_release);
    pushing_at_.store(kNoPush, std::memory_order_release);
  }

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
    return slot_ahead(next, capacity() - back).state.load(std::memory_order_relaxed);
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
    if constexpr (kEvicting) {
      // Turns do not say "holds an item" without the position's lap: sample by
      // head_ on the stride (the popper's line, once per stride).
      if (high_watermark_.should_sample(positions_.index(next))) {
        high_watermark_.sample(positions_.count(next),
                               positions_.count(head_.load(std::memory_order_relaxed)));
      }
      return;
    } else if (!high_watermark_.should_sample(positions_.index(next)) ||
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
  // Evictions (kEvicting only), written by the pusher alone: claimed before its
  // head_ CAS (taken back if it fails) and committed after (see counts()).
  std::atomic<std::uint64_t> evictions_claimed_{0};
  // The position an evicting push is queueing, until it is published (kNoPush:
  // none); read by the popper only when it finds the ring empty.
  std::atomic<std::uint64_t> evicting_at_{kNoPush};
  std::atomic<std::uint64_t> evictions_committed_{0};
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
