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
#pragma once

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
template <class T>
class MpmcRing {
 public:
  explicit MpmcRing(std::size_t capacity) : slots_(capacity, 0) {}  // turn 0: free for lap 0

  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  ~MpmcRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire) & ~kClosedBit;
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    slots_.destroy_items(head, tail, [](const Slot& slot, std::uint64_t) {
      return (slot.turn.load(std::memory_order_acquire) & kHoleBit) == 0;  // a hole holds none
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
  /// in one step: claims the push position, then the oldest position, which is
  /// the same slot one lap earlier, so no other thread can take the room made.
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
  /// case of the proof above). An evicting push never evicts into our range: it
  /// evicts its own position's previous lap. So each slot is waited for, briefly,
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
      // seq_cst, tail_ then head_ as in claim_and_publish(): when this finds the
      // ring full, it was full when head_ was read. head_ only grows, so a stale
      // value only under-counts the room; a stale pos fails the CAS below.
      const std::uint64_t head = head_.load(std::memory_order_seq_cst);
      const auto queued =
          static_cast<std::int64_t>(positions().count(pos) - positions().count(head));
      const std::int64_t room = static_cast<std::int64_t>(capacity()) - queued;
      if (room <= 0) break;  // full (above capacity: an evicting push is claiming the oldest)
      claimed = std::min(n, static_cast<std::size_t>(room));
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
    // One sample per batch (relaxed, as a statistic may): the pushes counted
    // are done, and head_ read after them only lowers the size implied.
    high_watermark().sample(positions().count(pos) + claimed,
                            positions().count(head_.load(std::memory_order_relaxed)));
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
  void close() noexcept { tail_.fetch_or(kClosedBit, std::memory_order_seq_cst); }

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
    return queued <= static_cast<std::int64_t>(capacity() - items);
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
    const std::uint64_t in_ring = tail - std::min(tail, head);
    const std::uint64_t holes_in_ring = not_pushed - std::min(not_pushed, holes_popped);
    c.size = std::min<std::uint64_t>(in_ring - std::min(in_ring, holes_in_ring), capacity());
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
      const std::uint64_t turn = slot.turn.load(std::memory_order_acquire) & ~kHoleBit;
      const std::uint64_t free_turn = 2 * positions().lap(pos);
      if (turn > free_turn) {
        pos = tail_.load(std::memory_order_relaxed);  // another pusher took pos
        continue;
      }
      const bool full = turn < free_turn;
      if (full) {
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
      }
      // seq_cst: this CAS is the full barrier of the EventCount protocol that
      // orders "tail moved" before the caller's check for sleeping poppers.
      if (!tail_.compare_exchange_weak(pos, positions().next(pos), std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        continue;
      }
      if (kEvictWhenFull && full) {
        // pos owns this slot for its lap, but the slot still holds the oldest
        // item (same index, previous lap) unless a popper takes it first.
        if (claim_oldest(pos)) {
          replace(slot, pos, construct, evict);
          return RingStatus::ok;
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
  void claim_skip() noexcept { skips_claimed_.fetch_add(1, std::memory_order_relaxed); }
  void unclaim_skip() noexcept { skips_claimed_.fetch_sub(1, std::memory_order_relaxed); }

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

  /// Feeds the high watermark after the push of `pos`: on its stride (see
  /// HighWatermark), and whenever the next slot still holds an unpopped item,
  /// which is when this push may have filled the ring. That slot is usually
  /// on the line just written, so the check costs a load and a compare.
  BQ_ALWAYS_INLINE void sample_size(std::uint64_t pos) noexcept {
    const std::uint64_t next = positions().next(pos);
    const std::uint64_t next_turn =
        slots_.slot_at(next).turn.load(std::memory_order_relaxed) & ~kHoleBit;
    if (high_watermark().should_sample(positions().index(pos)) ||
        next_turn < 2 * positions().lap(next)) {
      high_watermark().sample(positions().count(pos) + 1,
                              positions().count(head_.load(std::memory_order_relaxed)));
    }
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
    const std::uint64_t free_turn = 2 * positions().lap(pos);
    // The oldest item's pusher may (rarely) still be writing it.
    wait_for_turn(slot, free_turn - 1);
    if (slot.turn.load(std::memory_order_relaxed) & kHoleBit) {
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
  Slots slots_;
  // Written rarely: by pushes whose construction may throw.
  // Claimed (or about to be claimed) positions that hold no item: every hole
  // ever published, plus the pushes in flight whose construction may throw.
  alignas(kCacheLine) std::atomic<std::uint64_t> unsettled_{0};
  std::atomic<std::uint64_t> rollbacks_{0};  // positions given back (see abandon())
  std::atomic<std::uint64_t> holes_popped_{0};
  // Written only by evicting pushes and pops of holes.
  alignas(kCacheLine) std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> skips_claimed_{0};
};
BQ_PADDED_END

}  // namespace bq::detail
