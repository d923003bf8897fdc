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
// itself, so the two sides must agree on who gets that item. They agree on the
// item's slot, never on an index: each slot carries a turn (2*lap free for the
// push of that lap, 2*lap+1 holding its item, and that plus kTakenBit once a
// side has claimed the item), and the popper claims an item, like the pusher
// evicts it, with one compare-and-swap of the item's turn. So the pusher never
// reads or writes head_: it laps the popper through the slot it is writing
// anyway, and an ordinary push stays plain stores. A popper whose position was
// lapped finds a later turn in its slot and skips ahead to the oldest item the
// pusher can have left (tail_ minus the capacity); every position it skips was
// evicted, counted by the pusher that evicted it. Pops are counted in popped_
// (head_ no longer says how many), evictions in evictions_, each by its one
// writer with plain stores at the claim, so counts() never runs ahead.
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
  // State{}: free for lap 0 (false, or turn 0; see free_state()).
  explicit SpscRing(std::size_t capacity) : slots_(capacity, State{}) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    std::uint64_t from = head_.load(std::memory_order_acquire);
    if constexpr (kEvicting) {
      // A lapped popper's head_ trails the positions evicted since it last popped.
      if (positions().count(tail) - positions().count(from) > capacity()) {
        from = tail - positions().lap_step();
      }
    }
    slots_.destroy_items(from, tail, [this](const Slot& slot, std::uint64_t pos) {
      // kEvicting: a position whose eviction threw holds no item (see give_back()).
      return !kEvicting || slot.turn.load(std::memory_order_relaxed) == full_state(pos);
    });
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.capacity(); }

  /// Constructs the next item with `construct(void* where)` if there is room.
  /// Returns ok, full, closed, or busy (kEvicting: the popper is still moving
  /// the previous lap's item out of the slot: retry).
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus try_push(Construct&& construct) {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    if (!begin_push(pos)) return RingStatus::closed;
    if constexpr (kEvicting) {
      const RingStatus room = room_at(pos);
      if (room != RingStatus::ok) {
        end_unpublished_push();
        return room;
      }
    } else if (free_ahead_ == 0 && (free_ahead_ = count_free_from(pos)) == 0) {
      end_unpublished_push();
      return RingStatus::full;
    }
    return publish(pos, construct);
  }

  /// Like try_push(), but when the ring is full first takes the oldest item
  /// (pos's slot one lap earlier) away from the popper with one CAS of that
  /// slot's turn, counts it and calls `evict(T&)` with it (before destroying
  /// it). Returns ok, closed or busy; never full.
  template <class Construct, class Evict>
  BQ_ALWAYS_INLINE RingStatus try_push_evicting(Construct&& construct,
                                                Evict&& evict) requires kEvicting {
    const std::uint64_t pos = tail_.load(std::memory_order_relaxed);  // ours alone
    if (!begin_push(pos)) return RingStatus::closed;
    Slot& slot = slots_.slot_at(pos);
    // Acquire: a pop's destruction of the previous item happens-before our construction.
    std::uint64_t state = slot.turn.load(std::memory_order_acquire);
    if (state != free_state(pos)) {
      // The slot holds the oldest item (the ring is full), unless the popper
      // has claimed it (then it is a move away from freeing the slot). The CAS
      // decides between us and a popper that reaches this item at the same time.
      // Relaxed: the item is ours to take (this thread constructed it), so the
      // CAS acquires nothing; it only has to be atomic against the popper's.
      if (state != oldest_state(pos) ||
          !slot.turn.compare_exchange_strong(state, oldest_state(pos) | kTakenBit,
                                             std::memory_order_relaxed)) {
        end_unpublished_push();
        return RingStatus::busy;
      }
      // The oldest item is ours: this thread published it a lap ago. Counted
      // before the move, so an item whose move throws is counted too. Release:
      // pairs with counts().
      evictions_.store(evictions_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      high_watermark().raise_to(capacity());  // the ring was full
      evict_from(slot.storage, evict, [&] { give_back(slot, pos); });
    }
    return publish(pos, construct);
  }

  template <class Consume>
  BQ_ALWAYS_INLINE RingStatus try_pop(Consume&& consume) {
    std::uint64_t pos = head_.load(std::memory_order_relaxed);  // ours alone
    for (bool lapped = false;;) {
      Slot& slot = slots_.slot_at(pos);
      if constexpr (kEvicting) {
        const RingStatus status = claim(slot, pos);
        if (status == RingStatus::skipped) {
          pos = skip_lapped(lapped);
          lapped = true;
          continue;
        }
        if (status != RingStatus::ok) return status;
      } else if (!holds_item(slot, pos)) {
        if (!closed_.load(std::memory_order_acquire)) return RingStatus::empty;
        // closed_ is set only after the last push published its item: re-read.
        if (!holds_item(slot, pos)) return RingStatus::closed;
      }
      // Unlike MpmcRing's pop, whose claim moves head_, head_ moves last (the
      // guards end in reverse): the pusher counts free slots by head_.
      MoveHead move_head{*this, pos, 1};
      typename Slots::Release release{slot, free_state(positions().lap_step() + pos)};
      consume(*slot.storage.get());
      return RingStatus::ok;
    }
  }

  /// Pushes up to `n` (1 to capacity()) items at once, as many as there is room
  /// for now, calling `construct(void* where)` once per slot, in order, and
  /// moving tail_ once for all of them. Sets `pushed`; returns ok (pushed >= 1),
  /// full, closed or busy (kEvicting: the popper is still emptying the first
  /// slot). Never evicts. If construct throws, the items before it are
  /// published (`pushed`) and the exception propagates.
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
    std::size_t claimed = 0;
    Slot* const slots = slots_.data();
    if constexpr (kEvicting) {
      // Free slots are those the popper has handed over, in order from pos.
      // Acquire, as in room_at(): each item's destruction happens-before our construction.
      std::uint64_t state = free_state(pos);
      for (auto at = positions().cursor(pos); claimed < n; ++claimed, at.step()) {
        state = slots[at.index].turn.load(std::memory_order_acquire);
        if (state != free_state_in(at.lap)) break;
      }
      if (claimed == 0) {
        end_unpublished_push();
        // Full or busy (a lapped slot cannot follow a free one), by the state read
        // above, never by a second read: that may find the slot freed since, and
        // "ok" with nothing pushed would read as full to the caller.
        return room_in(state, pos);
      }
    } else {
      if (free_ahead_ < n) free_ahead_ = count_free_from(pos);
      claimed = std::min(n, free_ahead_);
      if (claimed == 0) {
        end_unpublished_push();
        return RingStatus::full;
      }
    }
    std::size_t built = 0;  // a local, not `pushed`: see RingPositions::Cursor
    BQ_TRY {
      for (auto at = positions().cursor(pos); built < claimed; ++built, at.step()) {
        construct(static_cast<void*>(slots[at.index].storage.bytes));
      }
    }
    BQ_CATCH(...) {
      pushed = built;
      publish_batch(pos, pushed);
      end_batch(positions().advance(pos, pushed), pushed);
      BQ_RETHROW;
    }
    pushed = claimed;
    publish_batch(pos, claimed);
    const std::uint64_t end = positions().advance(pos, claimed);
    end_batch(end, claimed);
    sample_size(end);
    return RingStatus::ok;
  }

  /// Pops up to `max` (>= 1) items at once, as many as are published now,
  /// calling `consume(T&)` with each, oldest first (each item is destroyed and
  /// its slot freed after), and moving head_ once for all of them (kEvicting:
  /// claiming each against an evicting push first). Sets `popped`, and `freed`
  /// (the same: this ring has no holes). If consume
  /// throws, the batch still goes on with the rest and the first exception
  /// propagates after (`popped` is then unset). When the next item is not there, does what
  /// try_pop() does and returns its status.
  template <class Consume>
  RingStatus try_pop_batch(std::size_t max, Consume& consume, std::size_t& popped,
                           std::size_t& freed) {
    popped = 0;
    freed = 0;
    max = std::min(max, capacity());
    std::uint64_t pos = head_.load(std::memory_order_relaxed);  // ours alone
    Slot* const slots = slots_.data();
    std::size_t claimed = max;  // without kEvicting, at most: the loop below looks at each
    if constexpr (kEvicting) {
      // Each item is claimed by its own CAS: the pusher evicts item by item, so
      // no one claim can cover the batch. The batch ends at the first item the
      // pusher took first (the next pop then skips from there).
      for (bool lapped = false;; lapped = true) {
        const RingStatus first = claim(slots_.slot_at(pos), pos);
        if (first == RingStatus::ok) break;
        if (first != RingStatus::skipped) return first;
        pos = skip_lapped(lapped);
      }
      claimed = 1;
      for (std::uint64_t end = positions().next(pos);
           claimed < max && claim(slots_.slot_at(end), end) == RingStatus::ok; ++claimed) {
        end = positions().next(end);
      }
    } else if (!holds_item(slots_.slot_at(pos), pos)) {
      const RingStatus status = try_pop(consume);
      popped = status == RingStatus::ok ? 1 : 0;
      freed = popped;
      return status;
    }
    MoveHead move_head{*this, pos, 0};
    auto at = positions().cursor(pos);
    std::size_t consumed = 0;  // a local, not `popped`: see RingPositions::Cursor
    for_each_then_rethrow(claimed, [&] {
      Slot& slot = slots[at.index];
      if constexpr (!kEvicting) {
        // Nobody else takes items: move each out as soon as its state says it is
        // there (acquire: its construction happens-before our move out of it).
        if (slot.turn.load(std::memory_order_acquire) != full_state_in(at.lap)) return false;
      }
      typename Slots::Release release{slot, free_state_in(at.lap + 1)};
      at.step();
      ++move_head.passed;
      consume(*slot.storage.get());
      ++consumed;
      return true;
    });
    popped = consumed;
    freed = consumed;
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

  /// For the popper: true if the next item is there (kEvicting: or its position
  /// was lapped) or the ring is closed. Enough for parking (see EventCount):
  /// the pusher stores the state before its signaller_fence() and its check
  /// for sleepers, the sleeping popper registers and pays waiter_fence() before
  /// this read, so one sees the other.
  [[nodiscard]] bool pop_may_proceed() const noexcept {
    if (closed_.load(std::memory_order_relaxed)) return true;
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const State state = slots_.slot_at(head).turn.load(std::memory_order_relaxed);
    if constexpr (kEvicting) {
      // Not free for head's push, nor emptied by an eviction for it: an item.
      return state != free_state(head) && state != (oldest_state(head) | kTakenBit);
    } else {
      return state == full_state(head);
    }
  }

  /// For the pusher: true if there is room for `items` (1 to capacity()) or
  /// the ring is closing. By head_, as try_push() counts free slots: a pop
  /// frees its slot before it moves head_, so a test by slots could pass while
  /// a push still finds the ring full, and a waiting pusher would spin instead
  /// of sleeping until the popper moves head_. The popper stores head_ before
  /// its signaller_fence(), which pairs with waiter_fence() as for
  /// pop_may_proceed(). (kEvicting: a lapped popper's head_ trails, which only
  /// says "no room", true while the popper has not popped since.)
  [[nodiscard]] bool push_may_proceed(std::size_t items = 1) const noexcept {
    return closing_.load(std::memory_order_relaxed) ||
           positions().count(tail_.load(std::memory_order_relaxed)) -
                   positions().count(head_.load(std::memory_order_relaxed)) <=
               capacity() - items;
  }

  [[nodiscard]] RingCounts counts() const noexcept {
    // tail_ first: the size is then never above the size when head_ is read
    // (read the other way round, pops then pushes between the two reads would
    // add up to a size the ring never held). A pop may have moved head_ past
    // the tail_ read (tail_ is also stored after the item is published): that
    // push has happened, so pushed is at least what left the ring.
    const std::uint64_t tail = positions().count(tail_.load(std::memory_order_acquire));
    // kEvicting: each counted by its one writer at the claim (release), so
    // neither is ahead; read after tail_, they only make the size smaller.
    const std::uint64_t evicted = kEvicting ? evictions_.load(std::memory_order_acquire) : 0;
    const std::uint64_t popped = kEvicting ? popped_.load(std::memory_order_acquire) : 0;
    const std::uint64_t head = positions().count(head_.load(std::memory_order_acquire));
    const std::uint64_t pushed = std::max(head, tail);
    if constexpr (!kEvicting) {
      return RingCounts{pushed, head, 0, std::min<std::uint64_t>(pushed - head, capacity())};
    } else {
      // Not by head_: a lapped popper's head_ trails, and a push whose item
      // threw after its eviction leaves a position below tail_ that holds nothing.
      const std::uint64_t left = popped + evicted;
      return RingCounts{pushed, popped, evicted,
                        std::min<std::uint64_t>(pushed - std::min(pushed, left), capacity())};
    }
  }
  [[nodiscard]] HighWatermark& high_watermark() noexcept { return slots_.high_watermark(); }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept {
    return slots_.high_watermark();
  }

  /// After a push or pop, before has_waiters(): the cheap half of the pair.
  void signaller_fence() const noexcept { fence_.light(); }
  /// After prepare_wait(), before the re-check: the expensive half.
  void waiter_fence() const noexcept { fence_.heavy(); }

 private:
  /// A slot's turn (a State) says who may touch it. Without kEvicting, a flag:
  /// the pusher while false, the popper while true. With it, a turn number:
  /// free_state(pos) for the push of pos, full_state(pos) while it holds pos's
  /// item, that plus kTakenBit once the popper (to pop it) or the pusher of the
  /// next lap (to evict it) has claimed the item (see the file comment).
  using State = std::conditional_t<kEvicting, std::uint64_t, bool>;
  static constexpr std::uint64_t kTakenBit = std::uint64_t{1} << 63;
  using Slots = SlotArray<T, State>;
  using Slot = typename Slots::Slot;

  struct MoveHead {
    SpscRing& ring;
    std::uint64_t from;
    std::size_t passed;  // positions popped from `from` on
    // head_ is stored once, after every slot is freed (also when a consume
    // threw). Release: the items' destruction happens-before the pusher's
    // acquire of head_ (count_free_from()), which is when it reuses them.
    ~MoveHead() {
      ring.head_.store(ring.positions().advance(from, passed), std::memory_order_release);
    }
  };

  State free_state(std::uint64_t pos) const noexcept { return free_state_in(positions().lap(pos)); }
  State full_state(std::uint64_t pos) const noexcept { return full_state_in(positions().lap(pos)); }
  static State free_state_in(std::uint64_t lap) noexcept {
    if constexpr (kEvicting) {
      return 2 * lap;
    } else {
      return false;
    }
  }
  static State full_state_in(std::uint64_t lap) noexcept {
    if constexpr (kEvicting) {
      return 2 * lap + 1;
    } else {
      return true;
    }
  }
  /// kEvicting: the state of pos's slot while it still holds the item pushed a
  /// lap before pos (the oldest item, when the pusher is at pos).
  std::uint64_t oldest_state(std::uint64_t pos) const noexcept {
    return 2 * positions().lap(pos) - 1;
  }
  /// For the popper of `pos`: acquire, so the item's construction happens-before its move.
  bool holds_item(const Slot& slot, std::uint64_t pos) const noexcept {
    return slot.turn.load(std::memory_order_acquire) == full_state(pos);
  }

  /// kEvicting, for the pusher of `pos`: ok if its slot is free, full if it
  /// still holds the oldest item, busy if the popper has claimed that item and
  /// is moving it out. Acquire: the pop's destruction of the previous item
  /// happens-before our construction.
  RingStatus room_at(std::uint64_t pos) const noexcept {
    return room_in(slots_.slot_at(pos).turn.load(std::memory_order_acquire), pos);
  }
  /// kEvicting: what room_at() says of `state`, a state of pos's slot already read.
  RingStatus room_in(std::uint64_t state, std::uint64_t pos) const noexcept {
    if (state == free_state(pos)) return RingStatus::ok;
    return state == oldest_state(pos) ? RingStatus::full : RingStatus::busy;
  }

  /// kEvicting, for the popper of `pos`: claims its item with one CAS of the
  /// slot's turn (ok), or says why not: empty, closed (and empty), busy (an
  /// evicting push of pos has emptied the slot and is writing pos's item:
  /// evicting and queueing are one step, so this is not "empty"), or skipped
  /// (pos was lapped: its item was evicted, and the slot holds a later lap's).
  BQ_ALWAYS_INLINE RingStatus claim(Slot& slot, std::uint64_t pos) noexcept {
    for (;;) {
      // Acquire: the item's construction happens-before our move out of it.
      std::uint64_t state = slot.turn.load(std::memory_order_acquire);
      if (state == full_state(pos)) {
        // Against the pusher a lap ahead, which may be claiming it to evict;
        // if that won, the reloaded state says lapped.
        if (slot.turn.compare_exchange_strong(state, full_state(pos) | kTakenBit,
                                              std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
          popped_.store(popped_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
          return RingStatus::ok;
        }
        continue;
      }
      if (state == free_state(pos)) {
        if (!closed_.load(std::memory_order_acquire)) return RingStatus::empty;
        // closed_ is set only after the last push published its item: re-read.
        if (slot.turn.load(std::memory_order_acquire) == free_state(pos)) {
          return RingStatus::closed;
        }
        continue;
      }
      if (state == (oldest_state(pos) | kTakenBit)) return RingStatus::busy;
      // Any other turn is a later lap (or pos's own item, claimed by its
      // evictor): the slot of the oldest item the popper has not passed never
      // holds an earlier lap's, because every position before it was popped
      // or found lapped like this one. The turn says how far the pusher has
      // come (see skip_target()).
      lapped_to_ = skip_target(pos, state);
      return RingStatus::skipped;
    }
  }

  /// kEvicting: the oldest position that can still hold an item, learnt from a
  /// later lap's `state` found in pos's slot (never from tail_, the pusher's
  /// line). If the slot holds position x's item, x's push is done, so every
  /// position up to x minus the capacity was evicted (pos was lapped, and the
  /// pushes before x evicted the rest); if x's item is claimed by its evictor,
  /// x itself is gone; if the slot is free for x, x's push has made room by
  /// evicting x minus the capacity. Always after pos.
  std::uint64_t skip_target(std::uint64_t pos, std::uint64_t state) const noexcept {
    const std::uint64_t turn = state & ~kTakenBit;
    const std::uint64_t x = pos + (turn / 2 - positions().lap(pos)) * positions().lap_step();
    return positions().next((state & kTakenBit) != 0 ? x : x - positions().lap_step());
  }

  /// kEvicting: moves a lapped popper to the position claim() found (see
  /// skip_target()) and returns it. The first skip of a pop stays off the
  /// pusher's line; a pop lapped again (`again`) is chasing a pusher that
  /// outruns it slot by slot, so it reads tail_ once and goes to the oldest
  /// position the pusher can have left: every push before tail_ is done,
  /// evicting the item a lap before it, and a stale tail_ only skips less.
  std::uint64_t skip_lapped(bool again) noexcept {
    std::uint64_t next = lapped_to_;
    if (again) {
      const std::uint64_t tail = tail_.load(std::memory_order_acquire);
      if (positions().count(tail) >= positions().count(next) + capacity()) {
        next = tail - positions().lap_step();
      }
    }
    // Release, like a pop's: counts() and push_may_proceed() read head_; the
    // pusher never does, so nothing else depends on it.
    head_.store(next, std::memory_order_release);
    return next;
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

  /// Constructs the item of `pos` (announced; its slot free, or emptied by this
  /// push's eviction) in its slot and publishes it.
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus publish(std::uint64_t pos, Construct& construct) {
    Slot& slot = slots_.slot_at(pos);
    // If it throws, nothing is published, and an eviction before it stands.
    construct_in(slot.storage, construct, [&] { give_back(slot, pos); });
    // Release: the item's construction happens-before the popper's acquire of
    // the state. tail_ moves after the state, so when close() sees tail_ move,
    // the item is there for the pops that trust closed_.
    slot.turn.store(full_state(pos), std::memory_order_release);
    const std::uint64_t next = positions().next(pos);
    tail_.store(next, std::memory_order_release);
    if constexpr (!kEvicting) --free_ahead_;
    sample_size(next);
    return RingStatus::ok;
  }

  /// After a push of `pos` threw (constructing its item, or moving out the item
  /// it evicted): the slot is empty, and free again for `pos`, which stays
  /// unpublished (an eviction stands, counted). Until then a popper of pos found
  /// the evicted item's claim there and waited (see claim()).
  void give_back(Slot& slot, std::uint64_t pos) noexcept {
    slot.turn.store(free_state(pos), std::memory_order_relaxed);
    end_unpublished_push();
  }

  /// Hands the `count` items constructed from `pos` on to the popper, the last
  /// first: a popper that finds the first one then finds the whole batch, and
  /// takes it at once instead of chasing the writer slot by slot (and line by line).
  void publish_batch(std::uint64_t pos, std::size_t count) noexcept {
    if (count == 0) return;
    Slot* const slots = slots_.data();
    auto at = positions().cursor(positions().advance(pos, count - 1));
    for (std::size_t i = count; i-- > 0; at.step_back()) {
      // Release: the item's construction happens-before the popper's acquire of the state.
      slots[at.index].turn.store(full_state_in(at.lap), std::memory_order_release);
    }
  }

  /// Ends a batch push that published `published` items, the last before
  /// `next`: publishing tail_ ends it (as one push's does), else nothing did.
  void end_batch(std::uint64_t next, std::size_t published) noexcept {
    if (published == 0) {
      end_unpublished_push();
      return;
    }
    if constexpr (!kEvicting) free_ahead_ -= published;
    // Release: the items' construction happens-before close()'s acquire of tail_,
    // after which pops trust closed_.
    tail_.store(next, std::memory_order_release);
  }

  static constexpr std::uint64_t kNoPush = ~std::uint64_t{0};  // never a position

  /// Ends an announced push that published nothing (full, closed or thrown).
  void end_unpublished_push() noexcept { pushing_at_.store(kNoPush, std::memory_order_release); }

  const RingPositions& positions() const noexcept { return slots_.positions(); }

  /// Without kEvicting: returns how many slots from `pos` on are free, by a
  /// fresh read of head_ (the popper's line, so read only when the last count
  /// has run out). Acquire: each pop's destruction of its item happens-before
  /// the pusher reuses that slot.
  std::size_t count_free_from(std::uint64_t pos) const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    return capacity() - static_cast<std::size_t>(positions().count(pos) - positions().count(head));
  }

  /// True if the item pushed `back` positions before `next` (1 to capacity())
  /// is still queued, that is, if the ring holds at least `back` items: pops
  /// free slots in order, so the items queued are exactly the last pushed.
  bool holds_at_least(std::uint64_t next, std::size_t back) const noexcept {
    return slots_.slot_ahead(next, capacity() - back).turn.load(std::memory_order_relaxed);
  }

  /// Raises the high watermark after the push that ended before `next`. When
  /// the count of free slots runs out, the fresh count says whether this push
  /// filled the ring (unless a pop has made room since). On the stride, the
  /// size comes from slot flags behind tail_ rather than from head_: head_ is
  /// on the popper's line, and reading it there would cost both threads a
  /// cache miss; the flags behind are on lines the popper has left. Nothing is
  /// read once the watermark stands at capacity. Without kEvicting, the two
  /// checks every push makes are forced inline: g++ and clang called the whole
  /// function from every push, and 1P1C moves 1.34-1.55x (g++) and 1.07-1.39x
  /// (clang) the items with the checks inline (docs/benchmarks.md, "SPSC
  /// 1P1C"). The rest stays the compiler's choice: forced out of line,
  /// one-thread batches got slower (495-505 -> 397-452 Mitems/s). With
  /// kEvicting, only the check that the mark stands at capacity (where an
  /// overloaded ring's does) is inline: g++ called the whole function from
  /// every evicting push, and the check inline takes that push 3-4% faster
  /// (docs/benchmarks.md, "The bench glue inline"); the whole function forced
  /// inline made it slower (8.4 -> 9.9 ns, measured before the bench glue was
  /// inline).
  BQ_ALWAYS_INLINE void sample_size(std::uint64_t next) noexcept {
    if constexpr (kEvicting) {
      if (high_watermark().get() < capacity()) sample_size_evicting(next);
    } else if (free_ahead_ == 0 || high_watermark().should_sample(positions().index(next))) {
      sample_size_slow(next);
    }
  }

  /// With kEvicting, the rest of sample_size(): only while the mark is below capacity.
  void sample_size_evicting(std::uint64_t next) noexcept {
    // The next slot still holding the oldest item means the ring is full
    // (pops and evictions both take the oldest first); it is usually on the
    // line just written. Turns do not say "holds an item" without the
    // position's lap, so other sizes are sampled by head_ on the stride (the
    // popper's line, once per stride; a lapped popper's head_ trails, and the
    // ring was full then).
    if (slots_.slot_at(next).turn.load(std::memory_order_relaxed) == oldest_state(next)) {
      high_watermark().raise_to(capacity());
    } else if (high_watermark().should_sample(positions().index(next))) {
      const std::uint64_t pushes = positions().count(next);
      const std::uint64_t pops = positions().count(head_.load(std::memory_order_relaxed));
      if (pushes > pops)
        high_watermark().raise_to(std::min<std::uint64_t>(pushes - pops, capacity()));
    }
  }

  /// Without kEvicting, the rest of sample_size(): once the free count has run out, or on the
  /// stride.
  void sample_size_slow(std::uint64_t next) noexcept {
    const std::size_t known = static_cast<std::size_t>(high_watermark().get());
    if (known >= capacity()) return;
    if (free_ahead_ == 0 && (free_ahead_ = count_free_from(next)) == 0) {
      high_watermark().raise_to(capacity());
      return;
    }
    if (!high_watermark().should_sample(positions().index(next)) ||
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
    high_watermark().raise_to(held);
  }

  // The pusher's line: its position, the push it announced (read by close(),
  // rarely) and, with kEvicting, its evictions (read by counts()).
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint64_t> pushing_at_{kNoPush};
  std::size_t free_ahead_ = 0;  // without kEvicting: slots from tail_ on known to be free
  std::atomic<std::uint64_t> evictions_{0};
  // The popper's line: its position and, with kEvicting, its pops.
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> popped_{0};
  std::uint64_t lapped_to_ = 0;  // kEvicting: where the last lapped claim() says to go
  // Read-mostly: the slot array's fields (its high watermark on a line of its
  // own), then these on the line after it.
  Slots slots_;
  alignas(kCacheLine) const AsymmetricFence fence_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
};
BQ_PADDED_END

}  // namespace bq::detail
