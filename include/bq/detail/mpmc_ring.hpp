// MpmcRing: the lock-free bounded ring behind BoundedQueue<T, P, Mpmc>.
//
// Design (after D. Vyukov's bounded MPMC queue): head_ and tail_ are positions
// (see RingPositions) claimed with a compare-and-swap; each slot carries a turn
// number that says whose move it is:
//   turn == 2*lap      the slot is free for the push of that lap;
//   turn == 2*lap + 1  it holds the item of that lap, ready to pop;
// and a pop of lap L hands the slot to the push of lap L+1 (turn 2L+2). A pusher
// or popper touches only its own slot after the claim, but slots are not padded
// (a slot of a u64 item takes 16 bytes, four to a line), so a producer and a
// consumer working near each other do write the same lines: that is why a
// pusher woken in a full queue first waits for room for a batch of lines
// (ParkingRing::wait_for_room), rather than refilling slot after slot the
// line its consumer is reading.
//
// tail_ also carries the closed flag (its top bit): close() sets it with one
// atomic OR, so a push either claims its position before close (and is in the
// queue) or fails its CAS and sees the flag — never both.
//
// A push that has claimed its position but not yet written its item makes the
// slot "busy" for poppers of that position, which wait for it briefly (the
// writer is a few instructions from done) rather than report empty: a push
// counts as queued from the moment it claims its position.
//
// A push whose construction throws after its claim gives its position back when
// no later push has claimed one (tail_ moves back: the ring is as if the push
// never happened), and otherwise publishes it as a hole (the turn of a full slot
// plus kHoleBit): popping skips it, and an evicting push a lap later replaces it
// without evicting anything. A hole holds no item but takes its slot until then.
//
// Why no claimed position waits forever (the proof the hole protocol rests on):
// a claimed position is published, as an item or a hole, or given back, by the
// thread that claimed it, and that thread waits on nothing but
//   - the popper of the same slot one lap earlier, which has already moved head_
//     and only moves the item out and stores the turn (it never waits), or
//   - in replace(), the publication of the same slot one lap earlier: an earlier
//     position, which its own claimant publishes (induction on positions);
// and no thread but the claimant writes a claimed slot's turn (the slot is the
// claimant's alone until it publishes or gives the position back). A position
// is given back only while no later one is claimed, and its slot's turn is set
// free *before* the tail_ CAS that gives it back, so the next claimant finds the
// slot exactly as if the position had never been claimed. So every claimed
// position is published once its claimant runs, and a pop that finds "busy"
// waits only for a thread that is running. The livelock this replaced: the turn
// was set free *after* tail_ moved back, so a push that re-claimed the position
// in between and published first had its turn overwritten; that position was
// never published again and every thread waited on it.
//
// Lapping (kEvicting, the ring of a policy that may evict). An evicting push
// must not claim the oldest item through head_, the consumers' hottest line, so
// the claim moves to the item's slot: a full turn plus kPopClaimBit (a popper's)
// or kEvictClaimBit (the evicting push's, a lap later), set by a CAS from the
// bare full turn, so exactly one side gets each item. A popper still reads
// head_ to find the oldest position, but claims by the turn and then moves
// head_ past what it claimed (pass_head(), helped by any popper that finds the
// claim first, so no popper waits on another). The evicting push never writes
// head_, so head_ trails the positions it evicted until a popper finds one:
// while head_ still stands at pos, a slot that is not a popper's claim of pos's
// item says pos was evicted (a popper moves head_ before it releases a slot).
// The popper then claims skips for every position it passes and moves head_
// (see lapped_to() for why each one passed is evicted, or will be by a push
// already under way). Counting: popped is head_ minus the skips, as for holes;
// the size is what was pushed and has not been popped or evicted, since head_
// may trail. The evicting push claims the oldest item *before* its position:
// if close() (or a rollback of tail_) stops the position's claim, it gives the
// item back (the bare full turn again); once it holds the position, it says so
// at once by setting the slot free for its own lap (the slot is its own, and
// the item's popper reads a later lap's turn: lapped). A popper that finds an
// eviction claim reads tail_ to learn whether the push holds its position
// (eviction_committed()) and otherwise waits for one of the two
// (wait_for_eviction_decision()), so that no pop takes the item for evicted,
// or misses it, while it may come back. The progress argument above still
// holds: an evicting push claims the item only once it is published (busy
// before) and unclaimed by a popper, then waits on nobody; a popper that
// waits for it waits for a CAS of tail_ and a store. Turns stay below
// kEvictClaimBit (2^61) for 2^60 pushes on a ring of capacity 1.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "cache_line.hpp"
#include "ring_storage.hpp"
#include "wait.hpp"

namespace bq::detail {

/// What a single attempt on a ring found.
enum class RingStatus {
  ok,       ///< Done.
  full,     ///< Push only: no room now (the ring is not closed).
  empty,    ///< Pop only: no item now (the ring is not closed).
  busy,     ///< Another thread is half-way through the slot this attempt needs.
  closed,   ///< Push: the ring is closed. Pop: closed and empty.
  skipped,  ///< Pop only: passed a hole (a push that threw), which freed a slot
            ///< but gave no item. Wake a waiting pusher, then try again.
};

BQ_PADDED_BEGIN  // alignas padding keeps head_ and tail_ on their own lines
template <class T, bool kEvicting = false>
class MpmcRing {
 public:
  explicit MpmcRing(std::size_t capacity) : slots_(capacity, 0) {}  // turn 0: free for lap 0

  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  ~MpmcRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire) & ~kClosedBit;
    std::uint64_t head = head_.load(std::memory_order_acquire);
    // kEvicting: head_ may trail the positions evicted since the last pop.
    if (kEvicting && positions().count(tail) - positions().count(head) > capacity()) {
      head = tail - positions().lap_step();
    }
    slots_.destroy_items(head, tail, [this](const Slot& slot, std::uint64_t pos) {
      // Exactly the full turn of pos: not a hole, and (kEvicting) not a
      // position whose item was evicted by a push that then gave its own back.
      return slot.turn.load(std::memory_order_acquire) == 2 * positions().lap(pos) + 1;
    });
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.capacity(); }

  /// Claims the next push position and calls `construct(void* where)` to
  /// placement-new the item there. If construct throws, the position is given
  /// back or becomes a hole (see abandon()) and the exception propagates. Returns ok, full,
  /// closed, or busy (a popper is still moving out the item in our slot: retry).
  template <class Construct>
  BQ_ALWAYS_INLINE RingStatus try_push(Construct&& construct) {
    const auto no_eviction = [](T&) noexcept {};
    return push<false>(construct, no_eviction);
  }

  /// Pushes like try_push(), but when the ring is full replaces the oldest item
  /// in one step: the oldest item is in the slot of the push position one lap
  /// earlier, so no other thread can take the room made. kEvicting claims the
  /// item (a CAS of that slot's turn), then the position; otherwise the
  /// position, then the item (a CAS of head_).
  /// `evict(T&)` is called with the oldest item (before it is destroyed) when
  /// one was evicted; the eviction is counted first. Returns ok, closed or busy (retry); never
  /// full.
  template <class Construct, class Evict>
  BQ_ALWAYS_INLINE RingStatus try_push_evicting(Construct&& construct, Evict&& evict) {
    return push<true>(construct, evict);
  }

  /// Claims the oldest item and calls `consume(T&)` with it; the item is
  /// destroyed and its slot released afterwards, even if consume throws.
  /// Returns ok, empty, closed (and empty), busy (the oldest position's
  /// push is still writing) or skipped (the oldest position was a hole).
  template <class Consume>
  BQ_ALWAYS_INLINE RingStatus try_pop(Consume&& consume) {
    if constexpr (kEvicting) {
      std::uint64_t pos = 0;
      bool hole = false;
      const RingStatus status = claim_oldest_slot(pos, hole);
      if (status != RingStatus::ok) return status;
      pass_head(positions().next(pos));
      typename Slots::Release release{slots_.slot_at(pos), 2 * positions().lap(pos) + 2, !hole};
      if (hole) {
        holes_popped_.fetch_add(1, std::memory_order_release);  // see counts()
        return RingStatus::skipped;
      }
      consume(*release.slot.storage.get());
      return RingStatus::ok;
    } else {
      // The claim is the head_ CAS, and the release follows it in the same
      // loop. Kept apart from the kEvicting claim above: one claim function for
      // both (out-parameters, the slot found again) took Block's 1P1C to
      // 0.88-0.95x in three rounds against this shape (2026-12-07).
      std::uint64_t pos = head_.load(std::memory_order_relaxed);
      for (;;) {
        Slot& slot = slots_.slot_at(pos);
        const std::uint64_t raw_turn = slot.turn.load(std::memory_order_acquire);
        const std::uint64_t turn = raw_turn & ~kHoleBit;
        const std::uint64_t full_turn = 2 * positions().lap(pos) + 1;
        if (turn == full_turn) {
          const std::uint64_t next = positions().next(pos);
          const bool hole = (raw_turn & kHoleBit) != 0;
          if (hole) claim_skip();
          // seq_cst: the full barrier that orders "head moved" before the
          // caller's check for sleeping pushers (see EventCount).
          if (head_.compare_exchange_weak(pos, next, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
            typename Slots::Release release{slot, full_turn + 1, !hole};
            if (hole) {
              holes_popped_.fetch_add(1, std::memory_order_release);  // see counts()
              return RingStatus::skipped;
            }
            consume(*slot.storage.get());
            return RingStatus::ok;
          }
          if (hole) unclaim_skip();
        } else if (turn < full_turn) {
          // Not yet written for this lap: empty, or a pusher is mid-write.
          const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
          if ((tail & ~kClosedBit) != pos) return RingStatus::busy;
          return (tail & kClosedBit) ? RingStatus::closed : RingStatus::empty;
        } else {
          pos = head_.load(std::memory_order_relaxed);  // another popper took pos
        }
      }
    }
  }

  /// Claims up to `n` (1 to capacity()) push positions at once, as many as there
  /// is room for now, with one CAS of tail_, and calls `construct(void* where)`
  /// once per position, in order. Sets `pushed` to the items queued. Returns ok
  /// (pushed >= 1), full or closed; never evicts. If construct throws, the items
  /// before it stay queued (`pushed` says how many), the positions from the
  /// thrower's on are given back or become holes (see abandon_from()) and the
  /// exception propagates.
  ///
  /// Why one claim is enough: room is counted from head_, so every claimed
  /// position's slot was left by a position head_ has passed, one lap earlier;
  /// whoever moved head_ past it (a popper, a hole's skipper) is at most a move
  /// and a store from handing the slot over, and waits on nothing (the first
  /// case of the proof above). (kEvicting: room is counted by the slots' turns,
  /// free or claimed by their popper, see room_from(); the same holds.) An
  /// evicting push never evicts into our range: it evicts its own position's
  /// previous lap. So each slot is waited for, briefly,
  /// after the claim, and no claimed position waits on another claimed one.
  template <class Construct>
  RingStatus try_push_batch(std::size_t n, Construct& construct, std::size_t& pushed) {
    constexpr bool kMayThrow = !std::is_nothrow_invocable_v<Construct&, void*>;
    pushed = 0;
    // As in push(): counted as holding no item before the claim (here the whole
    // batch asked for, an over-count that only makes counts() lag), settled below.
    if constexpr (kMayThrow) unsettled_.fetch_add(n, std::memory_order_relaxed);
    std::uint64_t pos = tail_.load(std::memory_order_seq_cst);
    std::size_t claimed = 0;
    while ((pos & kClosedBit) == 0) {
      claimed = room_from(pos, n);
      if (claimed == 0) {
        // kEvicting: room_from() reads pos's slot, which another push may have
        // taken since pos was read: full only if tail_ still stands there.
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        if (!kEvicting || tail == pos) break;  // full
        pos = tail;
        continue;
      }
      // seq_cst: the full barrier of the EventCount protocol, as for one push.
      if (tail_.compare_exchange_weak(pos, positions().advance(pos, claimed),
                                      std::memory_order_seq_cst, std::memory_order_relaxed)) {
        break;
      }
      claimed = 0;
    }
    if constexpr (kMayThrow) unsettled_.fetch_sub(n - claimed, std::memory_order_relaxed);
    if (claimed == 0) return (pos & kClosedBit) ? RingStatus::closed : RingStatus::full;
    Slot* const slots = slots_.data();
    BQ_TRY {
      for (auto at = positions().cursor(pos); pushed < claimed; ++pushed, at.step()) {
        Slot& slot = slots[at.index];
        // Acquire: the previous lap's item's destruction happens-before our construction.
        wait_for_turn(slot, 2 * at.lap);
        construct(static_cast<void*>(slot.storage.bytes));
      }
    }
    BQ_CATCH(...) {
      publish_batch(pos, pushed);
      if constexpr (kMayThrow) unsettled_.fetch_sub(pushed, std::memory_order_relaxed);
      abandon_from(positions().advance(pos, pushed), claimed - pushed);
      BQ_RETHROW;
    }
    publish_batch(pos, claimed);
    if constexpr (kMayThrow) unsettled_.fetch_sub(claimed, std::memory_order_relaxed);
    // One sample per batch: the pushes counted are done.
    sample_pushes(positions().count(pos) + claimed);
    return RingStatus::ok;
  }

  /// Claims up to `max` (>= 1) of the oldest positions at once, as many as are
  /// published now (items, or holes it passes), with one CAS of head_, and calls
  /// `consume(T&)` with each item, oldest first; each item is destroyed and its
  /// slot released after. Sets `popped` to the items consumed and `freed` to the
  /// slots freed (items and holes: each may serve a waiting pusher). If consume throws,
  /// the batch still goes on with the rest (an item whose consume threw is
  /// destroyed) and the first exception propagates after (`popped` is then unset). When nothing at
  /// head_ is published, does what try_pop() does (and returns its status); returns skipped when it
  /// passed holes only.
  template <class Consume>
  RingStatus try_pop_batch(std::size_t max, Consume& consume, std::size_t& popped,
                           std::size_t& freed) {
    popped = 0;
    freed = 0;
    max = std::min(max, capacity());
    std::uint64_t pos = head_.load(std::memory_order_relaxed);
    std::size_t claimed = 0;
    std::uint64_t holes = 0;
    Slot* const slots = slots_.data();
    if constexpr (kEvicting) {
      // Each position is claimed by its own CAS of its slot's turn: an evicting
      // push may take any of them, so no one claim of head_ can cover the batch.
      // The batch ends at the first position it cannot claim.
      bool hole = false;
      const RingStatus first = claim_oldest_slot(pos, hole);
      if (first != RingStatus::ok) return first;
      holes = hole ? 1 : 0;
      auto at = positions().cursor(positions().next(pos));
      for (claimed = 1; claimed < max; ++claimed, at.step()) {
        Slot& slot = slots[at.index];
        const std::uint64_t raw = slot.turn.load(std::memory_order_acquire);
        if ((raw & ~kHoleBit) != 2 * at.lap + 1 || !claim_slot(slot, raw)) break;
        holes += raw >> 63;  // kHoleBit
      }
      pass_head(positions().advance(pos, claimed));
    } else {
      for (;;) {
        claimed = 0;
        holes = 0;
        // Acquire per turn: each item's construction happens-before our move out of it.
        for (auto at = positions().cursor(pos); claimed < max; ++claimed, at.step()) {
          const std::uint64_t raw_turn = slots[at.index].turn.load(std::memory_order_acquire);
          if ((raw_turn & ~kHoleBit) != 2 * at.lap + 1) break;
          holes += raw_turn >> 63;  // kHoleBit
        }
        if (claimed == 0) {
          // Nothing published at pos, or pos is stale: one pop says which.
          const RingStatus status = try_pop(consume);
          popped = status == RingStatus::ok ? 1 : 0;
          freed = status == RingStatus::ok || status == RingStatus::skipped ? 1 : 0;
          return status;
        }
        if (holes != 0)
          skips_claimed_.fetch_add(holes, std::memory_order_relaxed);  // see claim_skip()
        // seq_cst, as in try_pop(). Success means head_ still stood at pos (it
        // only grows), so nobody else claimed these positions, and their turns
        // read above still hold: only a position's popper changes a full turn.
        if (head_.compare_exchange_weak(pos, positions().advance(pos, claimed),
                                        std::memory_order_seq_cst, std::memory_order_relaxed)) {
          break;
        }
        if (holes != 0) skips_claimed_.fetch_sub(holes, std::memory_order_relaxed);
      }
    }
    if (holes != 0) holes_popped_.fetch_add(holes, std::memory_order_release);  // see counts()
    freed = claimed;
    auto at = positions().cursor(pos);
    std::size_t consumed = 0;  // a local, not `popped`: see RingPositions::Cursor
    for_each_then_rethrow(claimed, [&] {
      Slot& slot = slots[at.index];
      const std::uint64_t free_turn = 2 * at.lap + 2;
      const bool hole = holes != 0 && (slot.turn.load(std::memory_order_relaxed) & kHoleBit) != 0;
      at.step();
      typename Slots::Release release{slot, free_turn, !hole};
      if (!hole) {
        consume(*slot.storage.get());
        ++consumed;
      }
      return true;
    });
    popped = consumed;
    return popped != 0 ? RingStatus::ok : RingStatus::skipped;
  }

  /// Closes the ring to pushes. Idempotent. The RMW is seq_cst so that sleepers'
  /// re-checks are ordered against it like against any push.
  ///
  /// Not kEvicting (force_push() on a queue whose policy never evicts): an
  /// evicting push there claims its position, then the oldest item by a CAS of
  /// head_, which cannot be undone. One that claimed its position before
  /// close() must not lose the item to a pop that begins after close()
  /// returns (no order of the calls would explain it), so close() waits for
  /// every evicting push that announced itself before the position claim.
  /// seq_cst on both sides: a push whose claim precedes our OR in tail_'s
  /// order announced itself before it, so the load below sees it until it has
  /// claimed the item (or lost it to a pop that came first), two RMWs later:
  /// the push waits on nothing in between.
  void close() noexcept {
    tail_.fetch_or(kClosedBit, std::memory_order_seq_cst);
    if constexpr (!kEvicting) {
      Backoff backoff;
      while (evictions_in_flight_.load(std::memory_order_seq_cst) != 0) backoff.pause();
    }
  }

  [[nodiscard]] bool is_closed() const noexcept {
    return (tail_.load(std::memory_order_acquire) & kClosedBit) != 0;
  }

  /// For a popper about to sleep: true if an item may be there or the ring is
  /// closed. seq_cst: the read half of the EventCount protocol.
  [[nodiscard]] bool pop_may_proceed() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_seq_cst);
    const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
    return (tail & kClosedBit) != 0 || (tail & ~kClosedBit) != head;
  }

  /// For a pusher about to sleep: true if there may be room for `items` (1 to
  /// capacity()) or the ring is closed.
  [[nodiscard]] bool push_may_proceed(std::size_t items = 1) const noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
    const std::uint64_t head = head_.load(std::memory_order_seq_cst);
    if (tail & kClosedBit) return true;
    // head is read last, so it may have overtaken tail: signed difference.
    const auto queued =
        static_cast<std::int64_t>(positions().count(tail) - positions().count(head));
    if (queued <= static_cast<std::int64_t>(capacity() - items)) return true;
    // kEvicting: head_ may trail evicted positions; tail's slot says whether
    // there is room for one. (Only a push that gave its position back after
    // evicting leaves room with head_ trailing; its tail_ CAS is seq_cst and
    // follows its turn store, so a sleeper that reads the moved tail_ above
    // also reads the turn, and one that does not is registered before it.)
    return kEvicting && items == 1 &&
           slots_.slot_at(tail).turn.load(std::memory_order_acquire) == 2 * positions().lap(tail);
  }

  /// Returns the ring's counters, read so that none is ever ahead of the truth:
  /// `popped` and `evicted` only lag (by operations in flight), so a caller
  /// that keeps the largest value seen gets counters that never go back.
  [[nodiscard]] RingCounts counts() const noexcept {
    // tail_ before head_: the size is then never above the size when head_ is
    // read (read the other way round, pops then pushes between the two reads
    // would add up to a size the ring never held); pushed may then trail popped.
    const std::uint64_t rollbacks_before = rollbacks_.load(std::memory_order_acquire);
    const std::uint64_t tail =
        positions().count(tail_.load(std::memory_order_acquire) & ~kClosedBit);
    // Committed evictions are counted after their head CAS: read them before head_.
    const std::uint64_t evicted = evictions_.load(std::memory_order_acquire);
    // Holes passed are counted after their head CAS, with release: read them
    // before head_, so that head_ includes every hole counted here. Read after
    // head_, holes passed in between would be subtracted from a ring that still
    // held them, and the size over-reported (and the high watermark raised for
    // good); read before, they are at most under-reported while in flight.
    const std::uint64_t holes_popped = holes_popped_.load(std::memory_order_acquire);
    const std::uint64_t head = positions().count(head_.load(std::memory_order_acquire));
    // Skips are claimed before their head CAS, so the acquire load of head_
    // above makes every skip it includes visible here (plus some in flight).
    const std::uint64_t skips = skips_claimed_.load(std::memory_order_acquire);
    // After tail_: a push that may throw counts itself in unsettled_ before its
    // claim (the claim CAS releases that increment, and the acquire load of
    // tail_ above reads it or a later RMW), so every position in `tail` that may
    // still become a hole is subtracted here.
    const std::uint64_t unsettled = unsettled_.load(std::memory_order_acquire);
    // A position given back after tail_ was read but whose settled count was
    // then read too would count as pushed. Such a rollback is counted in
    // rollbacks_ after its tail_ CAS and before its count is settled, so it is
    // among those counted between the two reads of rollbacks_: subtract them
    // all (an under-count by rollbacks that did not matter is harmless).
    const std::uint64_t rollbacks = rollbacks_.load(std::memory_order_acquire) - rollbacks_before;
    RingCounts c;
    const std::uint64_t not_pushed = unsettled + rollbacks;
    c.pushed = tail - std::min(tail, not_pushed);
    c.popped = head - std::min(head, skips);
    c.evicted = evicted;
    if constexpr (kEvicting) {
      // Not by head_, which trails the positions evicted since the last pop:
      // what was pushed and has neither been popped nor evicted.
      const std::uint64_t left = c.popped + evicted;
      c.size = std::min<std::uint64_t>(c.pushed - std::min(c.pushed, left), capacity());
    } else {
      const std::uint64_t in_ring = tail - std::min(tail, head);
      const std::uint64_t holes_in_ring = not_pushed - std::min(not_pushed, holes_popped);
      c.size = std::min<std::uint64_t>(in_ring - std::min(in_ring, holes_in_ring), capacity());
    }
    return c;
  }
  [[nodiscard]] HighWatermark& high_watermark() noexcept { return slots_.high_watermark(); }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept {
    return slots_.high_watermark();
  }

  /// No-ops: the seq_cst CAS of every push and pop already is the full barrier
  /// the EventCount protocol needs on both sides (the SPSC ring needs more).
  static void signaller_fence() noexcept {}
  static void waiter_fence() noexcept {}

 private:
  static constexpr std::uint64_t kClosedBit = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kHoleBit = std::uint64_t{1} << 63;
  // kEvicting: a full turn plus one of these once a side has claimed the
  // slot's item (or hole): its popper, or the evicting push of the next lap.
  // (Turns stay far below them: 2^60 pushes on a ring of capacity 1.)
  static constexpr std::uint64_t kPopClaimBit = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kEvictClaimBit = std::uint64_t{1} << 61;
  static constexpr std::uint64_t kClaimBits = kPopClaimBit | kEvictClaimBit;
  static constexpr std::uint64_t kFlagBits = kHoleBit | kClaimBits;

  using Slots = SlotArray<T, std::uint64_t>;
  using Slot = typename Slots::Slot;

  template <bool kEvictWhenFull, class Construct, class Evict>
  BQ_ALWAYS_INLINE RingStatus push(Construct& construct, Evict& evict) {
    constexpr bool kMayThrow = !std::is_nothrow_invocable_v<Construct&, void*> ||
                               (kEvictWhenFull && !std::is_nothrow_invocable_v<Evict&, T&>);
    if constexpr (!kMayThrow) {
      return claim_and_publish<kEvictWhenFull>(construct, evict);
    } else {
      // Counted as holding no item before the claim, so counts() cannot take the
      // position for a push while it may still become a hole (see counts()); the
      // count is settled once the item is in, or the attempt claimed nothing. If
      // the push throws, abandon() settles it when it gives the position back;
      // a hole keeps it.
      unsettled_.fetch_add(1, std::memory_order_relaxed);
      const RingStatus status = claim_and_publish<kEvictWhenFull>(construct, evict);
      unsettled_.fetch_sub(1, std::memory_order_relaxed);
      return status;
    }
  }

  template <bool kEvictWhenFull, class Construct, class Evict>
  BQ_ALWAYS_INLINE RingStatus claim_and_publish(Construct& construct, Evict& evict) {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      if (pos & kClosedBit) return RingStatus::closed;
      Slot& slot = slots_.slot_at(pos);
      std::uint64_t raw_turn = slot.turn.load(std::memory_order_acquire);
      const std::uint64_t turn = raw_turn & ~kFlagBits;
      const std::uint64_t free_turn = 2 * positions().lap(pos);
      if (turn > free_turn) {
        pos = tail_.load(std::memory_order_relaxed);  // another pusher took pos
        continue;
      }
      const bool full = turn < free_turn;
      if (kEvicting && full) {
        // The slot's turn alone says what is there (head_ may trail evicted
        // positions): the oldest item, unclaimed, so the ring is full; or it is
        // claimed by its popper, or its own push is still writing it (busy:
        // wait unclaimed, so that no claimed position waits on another's).
        if (turn != free_turn - 1 || (raw_turn & kClaimBits) != 0) return RingStatus::busy;
        if constexpr (!kEvictWhenFull) {
          return RingStatus::full;
        } else if (!slot.turn.compare_exchange_strong(raw_turn, raw_turn | kEvictClaimBit,
                                                      std::memory_order_relaxed)) {
          // The item first, then the position: claimed the other way round, a
          // push whose position was claimed before close() could lose the
          // item to a popper that began after it, and no order of the calls
          // explains that. Exactly one of us and the item's popper wins this
          // CAS, which the popper also makes. Relaxed: the acquire load above
          // read the item's publication, and only the winner touches the item.
          continue;  // a popper, or another push, took it first: look again
        }
      } else if (full) {
        // The slot still holds the previous lap's item: the ring is full, or
        // its popper has claimed it and is still moving it out.
        const std::uint64_t head = head_.load(std::memory_order_seq_cst);
        const std::uint64_t queued = positions().count(pos) - positions().count(head);
        if (queued < capacity()) return RingStatus::busy;
        if constexpr (!kEvictWhenFull) {
          return RingStatus::full;
        } else if (queued > capacity()) {
          // An evicting push ahead of us has claimed its position but not yet
          // the oldest item: wait for it unclaimed, so that no claimed position
          // ever waits on another thread's progress (claims would convoy).
          return RingStatus::busy;
        }
        // Announced before the claim of the position, for close() (see there).
        evictions_in_flight_.fetch_add(1, std::memory_order_seq_cst);
      }
      // seq_cst: this CAS is the full barrier of the EventCount protocol that
      // orders "tail moved" before the caller's check for sleeping poppers.
      if (!tail_.compare_exchange_weak(pos, positions().next(pos), std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        if (kEvicting && kEvictWhenFull && full) {
          // close() (or a rollback of tail_) came first: give the item back.
          // Poppers wait for this (wait_for_eviction_decision()). Release: a
          // popper that claims the item then acquires its publication, which
          // our acquire load of the turn read.
          slot.turn.store(raw_turn, std::memory_order_release);
        } else if (kEvictWhenFull && full) {
          evictions_in_flight_.fetch_sub(1, std::memory_order_release);
        }
        continue;
      }
      if (kEvictWhenFull && full) {
        // pos owns this slot for its lap, but the slot still holds the oldest
        // item (same index, previous lap): kEvicting, ours since the claim
        // above; otherwise ours only unless a popper takes it first.
        if constexpr (kEvicting) {
          // The eviction is decided: tell a popper that waits on our claim
          // (the item's popper, which takes a later lap's turn for lapped).
          // Relaxed: no popper touches the item, which stays ours to move out.
          slot.turn.store(free_turn, std::memory_order_relaxed);
          evict_and_publish(slot, pos, (raw_turn & kHoleBit) != 0, construct, evict);
          return RingStatus::ok;
        } else {
          const bool claimed = claim_oldest(pos);
          // Before any user code (the eviction handler, the construction),
          // which may call close(). Release: close() sees the claim done.
          evictions_in_flight_.fetch_sub(1, std::memory_order_release);
          if (claimed) {
            replace(slot, pos, construct, evict);
            return RingStatus::ok;
          }
        }
        wait_for_turn(slot, free_turn);  // that popper is releasing the slot to us
      }
      publish(slot, pos, construct);
      sample_size(pos);
      return RingStatus::ok;
    }
  }

  // A head CAS that skips a position without popping an item (an eviction or
  // a hole) is claimed in skips_claimed_ before the CAS and unclaimed if the
  // CAS fails, so counts() never takes a skip for a pop (see counts()).
  void claim_skip(std::uint64_t skips = 1) noexcept {
    if (skips != 0) skips_claimed_.fetch_add(skips, std::memory_order_relaxed);
  }
  void unclaim_skip(std::uint64_t skips = 1) noexcept {
    if (skips != 0) skips_claimed_.fetch_sub(skips, std::memory_order_relaxed);
  }

  /// For an evicting push that claimed `pos` when head_ stood exactly at the
  /// oldest position (pos's slot one lap earlier): claims that item for
  /// eviction. Returns false if a popper took it first (head_ only grows).
  bool claim_oldest(std::uint64_t pos) noexcept {
    const std::uint64_t oldest = pos - positions().lap_step();
    std::uint64_t head = oldest;
    claim_skip();
    if (head_.compare_exchange_strong(head, positions().next(oldest), std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return true;
    }
    unclaim_skip();
    return false;
  }

  /// For a batch push at `pos`: how many of the `n` positions from pos on it
  /// may claim at once. Each slot is then left, or a store away from being
  /// left, by its previous lap's popper.
  std::size_t room_from(std::uint64_t pos, std::size_t n) const noexcept {
    if constexpr (kEvicting) {
      // By the slots' turns, not by head_, which may trail evicted positions
      // (and does after an eviction whose push gave its position back): the
      // slots from pos on that are free for their lap, or claimed by their
      // popper. pos is unclaimed, and only a claimant changes a free turn.
      Slot* const slots = slots_.data();
      std::size_t room = 0;
      for (auto at = positions().cursor(pos); room < n; ++room, at.step()) {
        const std::uint64_t raw_turn = slots[at.index].turn.load(std::memory_order_acquire);
        if (raw_turn != 2 * at.lap && (raw_turn & ~kHoleBit) != ((2 * at.lap - 1) | kPopClaimBit)) {
          break;
        }
      }
      return room;
    } else {
      // seq_cst, tail_ then head_ as in claim_and_publish(): when this finds the
      // ring full, it was full when head_ was read. head_ only grows, so a stale
      // value only under-counts the room; a stale pos fails the caller's CAS.
      const std::uint64_t head = head_.load(std::memory_order_seq_cst);
      const auto queued =
          static_cast<std::int64_t>(positions().count(pos) - positions().count(head));
      const std::int64_t room = static_cast<std::int64_t>(capacity()) - queued;
      return room <= 0 ? 0 : std::min(n, static_cast<std::size_t>(room));
    }
  }

  /// kEvicting: claims the oldest position's item (or hole) for this popper
  /// with one CAS of its slot's turn, and sets `pos` and `hole`; the caller
  /// then moves head_ past it (pass_head()) before it releases the slot.
  /// Returns ok, or empty, busy or closed as try_pop() does. Positions whose
  /// items an evicting push took are skipped: head_ trails them (the pusher
  /// never writes it), and the first popper to find one moves head_ past it.
  RingStatus claim_oldest_slot(std::uint64_t& pos, bool& hole) noexcept {
    pos = head_.load(std::memory_order_relaxed);
    for (bool lapped_before = false;;) {
      Slot& slot = slots_.slot_at(pos);
      const std::uint64_t raw_turn = slot.turn.load(std::memory_order_acquire);
      const std::uint64_t turn = raw_turn & ~kFlagBits;
      const std::uint64_t full_turn = 2 * positions().lap(pos) + 1;
      if (turn == full_turn && (raw_turn & kClaimBits) == 0) {
        hole = (raw_turn & kHoleBit) != 0;
        if (claim_slot(slot, raw_turn)) return RingStatus::ok;
        continue;  // a popper or the evicting push took it first: look again
      }
      if (turn < full_turn) {
        // Not yet written for this lap: empty, or a pusher is mid-write.
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        if ((tail & ~kClosedBit) != pos) return RingStatus::busy;
        return (tail & kClosedBit) ? RingStatus::closed : RingStatus::empty;
      }
      if (turn == full_turn && (raw_turn & kEvictClaimBit) != 0 && !eviction_committed(pos)) {
        wait_for_eviction_decision(slot, raw_turn);
        continue;
      }
      // Claimed, or a later lap's. A popper moves head_ past its position
      // before it releases the slot, so while head_ still stands at pos the
      // slot says who has it: a popper's claim (help it move head_, so that
      // no popper waits on another), or else an evicting push's: pos was
      // lapped, and so was every position up to tail_ minus a lap (below).
      std::uint64_t head = head_.load(std::memory_order_seq_cst);
      if (head == pos) {
        const bool lapped = turn != full_turn || (raw_turn & kPopClaimBit) == 0;
        const std::uint64_t to =
            lapped ? lapped_to(pos, raw_turn, lapped_before) : positions().next(pos);
        lapped_before = lapped_before || lapped;
        const std::uint64_t skips = lapped ? positions().count(to) - positions().count(pos) : 0;
        claim_skip(skips);
        if (head_.compare_exchange_strong(head, to, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
          head = to;
        } else {
          unclaim_skip(skips);
        }
      }
      pos = head;
    }
  }

  /// kEvicting: where a popper that found `pos` lapped, its slot in state
  /// `raw_turn`, moves head_: past pos, and past every position a lap or more
  /// before the latest push at this slot that `raw_turn` shows has claimed its
  /// position (pos plus some laps). Pushes claim positions in order, so every
  /// earlier push has claimed its position too, and each found the item a lap
  /// before it still there (no popper has reached it: head_ stands at pos, and
  /// a popper claims only at head_ or, in a batch, on from there through pos,
  /// which it cannot claim), so it has evicted it or will (a batch push
  /// claims only with room by head_). The first skip of a pop reads only the
  /// slot, and stays off the pushers' line; a pop lapped `again` is chasing
  /// pushers that outrun it, so it reads tail_ (every push below it has
  /// claimed its position) and goes on to tail_ minus a lap, as SpscRing does.
  std::uint64_t lapped_to(std::uint64_t pos, std::uint64_t raw_turn, bool again) const noexcept {
    if (again) {
      const std::uint64_t tail = tail_.load(std::memory_order_seq_cst) & ~kClosedBit;
      if (positions().count(tail) > positions().count(pos) + capacity() + 1) {
        return tail - positions().lap_step();
      }
    }
    // The slot's last claimed push: a free turn 2L was left by lap L-1's pop,
    // by an eviction whose push gave its position back, or by lap L's
    // evicting push once it holds its position; a full turn 2L+1 is lap L's
    // item. An eviction claim on that item does not count: its push may not
    // have claimed its position yet.
    const std::uint64_t laps = ((raw_turn & ~kFlagBits) + 1) / 2 - 1 - positions().lap(pos);
    if (laps <= 1) return positions().next(pos);
    return positions().next(pos + (laps - 1) * positions().lap_step());
  }

  /// kEvicting: whether the evicting push that claimed the item of `pos` has
  /// also claimed its own position, pos plus a lap (tail_ has passed it), so
  /// the item is evicted for good. Only that push can claim that position: the
  /// slot still holds pos's item, which no other push may take. Read only by a
  /// popper that finds such a claim, usually within the few instructions
  /// before the push says so in the slot: skipping at once, as a popper did
  /// before claims could be given back, delivered more under overload than
  /// waiting for that store (docs/bench/overload.md).
  bool eviction_committed(std::uint64_t pos) const noexcept {
    // Any value read is safe: tail_ passes pos plus a lap only by that push's
    // claim, and a stale value only makes the popper wait. seq_cst like the
    // pop's other reads of tail_ (free on x86, and this path is rare).
    const std::uint64_t tail = tail_.load(std::memory_order_seq_cst) & ~kClosedBit;
    return positions().count(tail) > positions().count(pos) + capacity();
  }

  /// kEvicting: spins while the slot still shows `raw_turn`, an evicting
  /// push's claim of its item that eviction_committed() did not find
  /// committed: that push is a CAS of tail_ and a store away from either
  /// giving the item back or setting the slot free for its own lap. Until
  /// then it may still give the item back (close() or a rollback of tail_
  /// stopped its claim), so a popper must not take the item's position for
  /// evicted, or report empty. Kept out of the pop's fast path.
  BQ_NOINLINE static void wait_for_eviction_decision(const Slot& slot,
                                                     std::uint64_t raw_turn) noexcept {
    Backoff backoff;
    while (slot.turn.load(std::memory_order_acquire) == raw_turn) backoff.pause();
  }

  /// kEvicting: claims the item (or hole) whose full turn is `raw_turn` for a
  /// popper; false if an evicting push or another popper claimed it first.
  /// seq_cst: with pass_head(), the pop's full barrier of the EventCount
  /// protocol (see try_pop()); it also acquires the item's construction.
  bool claim_slot(Slot& slot, std::uint64_t raw_turn) noexcept {
    const bool hole = (raw_turn & kHoleBit) != 0;
    if (hole) claim_skip();  // before head_ can pass it (see claim_skip())
    if (slot.turn.compare_exchange_strong(raw_turn, raw_turn | kPopClaimBit,
                                          std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return true;
    }
    if (hole) unclaim_skip();
    return false;
  }

  /// kEvicting: moves head_ to `to`, past positions this popper has claimed,
  /// unless another popper already moved it there or beyond (see
  /// claim_oldest_slot()). seq_cst, load included: "head moved" is ordered
  /// before the caller's check for sleeping pushers even when another popper
  /// moved it.
  void pass_head(std::uint64_t to) noexcept {
    std::uint64_t head = head_.load(std::memory_order_seq_cst);
    while (positions().count(head) < positions().count(to) &&
           !head_.compare_exchange_weak(head, to, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
    }
  }

  /// Feeds the high watermark after the push of `pos`: on its stride (see
  /// HighWatermark), and whenever the next slot still holds an unpopped item,
  /// which is when this push may have filled the ring. That slot is usually
  /// on the line just written, so the check costs a load and a compare.
  BQ_ALWAYS_INLINE void sample_size(std::uint64_t pos) noexcept {
    const std::uint64_t next = positions().next(pos);
    const std::uint64_t next_turn =
        slots_.slot_at(next).turn.load(std::memory_order_relaxed) & ~kFlagBits;
    if (high_watermark().should_sample(positions().index(pos)) ||
        next_turn < 2 * positions().lap(next)) {
      sample_pushes(positions().count(pos) + 1);
    }
  }

  /// Raises the high watermark to the size implied by `pushes` done and head_
  /// read after them (relaxed, as a statistic may: a later head_ only lowers
  /// the size). kEvicting: head_ may trail evicted positions, so the difference
  /// can exceed the capacity; the ring was full then.
  void sample_pushes(std::uint64_t pushes) noexcept {
    const std::uint64_t pops = positions().count(head_.load(std::memory_order_relaxed));
    if (pushes > pops)
      high_watermark().raise_to(std::min<std::uint64_t>(pushes - pops, capacity()));
  }

  /// Spins until the slot's turn (hole flag ignored) reaches `turn`: the thread
  /// that owns it is a move or a store away from handing it over.
  static void wait_for_turn(Slot& slot, std::uint64_t turn) noexcept {
    Backoff backoff;
    while ((slot.turn.load(std::memory_order_acquire) & ~kHoleBit) != turn) backoff.pause();
  }

  /// Evicts the oldest item from a slot this thread owns both as its popper and
  /// as the pusher of `pos`, one lap later, then constructs the new item there.
  template <class Construct, class Evict>
  void replace(Slot& slot, std::uint64_t pos, Construct& construct, Evict& evict) {
    // The oldest item's pusher may (rarely) still be writing it.
    wait_for_turn(slot, 2 * positions().lap(pos) - 1);
    const bool hole = (slot.turn.load(std::memory_order_relaxed) & kHoleBit) != 0;
    evict_and_publish(slot, pos, hole, construct, evict);
  }

  /// Evicts the oldest item (or passes the hole) in a slot this thread has
  /// claimed for the push of `pos`, then constructs the new item there.
  template <class Construct, class Evict>
  void evict_and_publish(Slot& slot, std::uint64_t pos, bool hole, Construct& construct,
                         Evict& evict) {
    if (hole) {
      holes_popped_.fetch_add(1, std::memory_order_release);  // see counts()
    } else {
      // Counted before the move, so an item whose move throws is counted too.
      evictions_.fetch_add(1, std::memory_order_release);
      // If the move throws, the oldest item is gone (counted) and ours never came.
      evict_from(slot.storage, evict, [&] { abandon(slot, pos); });
    }
    publish(slot, pos, construct);
  }

  /// Constructs the item of push position `pos` in its (empty) slot and hands
  /// the slot to the position's popper.
  template <class Construct>
  void publish(Slot& slot, std::uint64_t pos, Construct& construct) {
    construct_in(slot.storage, construct, [&] { abandon(slot, pos); });
    // Release: the item's construction happens-before a popper that reads this turn.
    slot.turn.store(2 * positions().lap(pos) + 1, std::memory_order_release);
  }

  /// Gives up push position `pos`, whose item never came (its construction, or
  /// the move of the item it evicted, threw). push() counted the position in
  /// unsettled_ before claiming it (only a push that may throw gets here).
  void abandon(Slot& slot, std::uint64_t pos) noexcept {
    const std::uint64_t free_turn = 2 * positions().lap(pos);
    // The slot is ours while pos is claimed: set it free for pos's lap (replace()
    // left the evicted item's turn there) before tail_ may move back below pos,
    // so the next claimant of pos finds it as if pos had never been claimed.
    slot.turn.store(free_turn, std::memory_order_relaxed);
    std::uint64_t claimed_next = positions().next(pos);
    // tail_ == next(pos): no later push has claimed a position, so pos can be
    // given back (nobody pops pos before it is published). seq_cst like every
    // tail_ RMW; it also releases the turn store above to the next claimant.
    if (tail_.compare_exchange_strong(claimed_next, pos, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      // Counted before the count is settled, so a counts() that read tail_
      // before it moved back and unsettled_ after this decrement sees the
      // rollback in rollbacks_ and subtracts it (see counts()).
      rollbacks_.fetch_add(1, std::memory_order_seq_cst);
      unsettled_.fetch_sub(1, std::memory_order_release);
      return;
    }
    // Release: pairs with the acquire load of the turn by whoever skips the hole.
    slot.turn.store((free_turn + 1) | kHoleBit, std::memory_order_release);
  }

  /// Hands the `count` items constructed from push position `pos` on to their
  /// poppers, the last first: a popper that finds the first item published then
  /// finds the whole batch (it acquires each turn, and each store is a release
  /// that follows the later ones), so it takes the batch with one claim instead
  /// of chasing the writer slot by slot.
  void publish_batch(std::uint64_t pos, std::size_t count) noexcept {
    if (count == 0) return;
    Slot* const slots = slots_.data();
    auto at = positions().cursor(positions().advance(pos, count - 1));
    for (std::size_t i = count; i-- > 0; at.step_back()) {
      // Release: the item's construction happens-before a popper that reads this turn.
      slots[at.index].turn.store(2 * at.lap + 1, std::memory_order_release);
    }
  }

  /// Gives up the `count` batch positions from `pos` on, which a batch push
  /// claimed but whose items never came (the construction of the first threw):
  /// waits until each slot is free for its lap (its previous popper is a store
  /// away, see try_push_batch()), then gives them all back if no later push has
  /// claimed a position, else publishes each as a hole. As abandon() does for one.
  void abandon_from(std::uint64_t pos, std::size_t count) noexcept {
    std::uint64_t end = pos;
    for (std::size_t i = 0; i < count; ++i, end = positions().next(end)) {
      wait_for_turn(slots_.slot_at(end), 2 * positions().lap(end));
    }
    std::uint64_t claimed_end = end;
    // seq_cst like every tail_ RMW; the slots are already free, as abandon() requires.
    if (tail_.compare_exchange_strong(claimed_end, pos, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      rollbacks_.fetch_add(count, std::memory_order_seq_cst);  // before settling: see abandon()
      unsettled_.fetch_sub(count, std::memory_order_release);
      return;
    }
    for (std::uint64_t p = pos; p != end; p = positions().next(p)) {
      // Release: pairs with the acquire load of the turn by whoever skips the hole.
      slots_.slot_at(p).turn.store((2 * positions().lap(p) + 1) | kHoleBit,
                                   std::memory_order_release);
    }
  }

  const RingPositions& positions() const noexcept { return slots_.positions(); }

  // Pushers write tail_, poppers write head_: one line each, and the read-only
  // fields on a third (the slot array's, whose high watermark has a fourth), so
  // neither side's writes invalidate the other's reads.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  // Written by whoever moves head_ past a position without popping an item
  // (see claim_skip()), just before it moves head_: on head_'s line.
  std::atomic<std::uint64_t> skips_claimed_{0};
  Slots slots_;
  // Written rarely: by pushes whose construction may throw.
  // Claimed (or about to be claimed) positions that hold no item: every hole
  // ever published, plus the pushes in flight whose construction may throw.
  alignas(kCacheLine) std::atomic<std::uint64_t> unsettled_{0};
  std::atomic<std::uint64_t> rollbacks_{0};  // positions given back (see abandon())
  std::atomic<std::uint64_t> holes_popped_{0};
  // Written only by evicting pushes.
  alignas(kCacheLine) std::atomic<std::uint64_t> evictions_{0};
  // Not kEvicting: evicting pushes between their announcement and their claim
  // of the oldest item (see close()).
  std::atomic<std::uint32_t> evictions_in_flight_{0};
};
BQ_PADDED_END

}  // namespace bq::detail
