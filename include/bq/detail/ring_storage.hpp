// Position arithmetic and the slot array (SlotArray) shared by the MPMC and SPSC rings.
//
// A position names one push (or pop) in the queue's history. It is packed as
// (lap << index_bits) | index, where index < capacity is the slot and lap counts
// trips round the ring, so any capacity works without a division on the fast
// path: stepping to the next position is an increment plus one compare.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cache_line.hpp"

namespace bq::detail {

class RingPositions {
 public:
  explicit RingPositions(std::size_t capacity)
      : capacity_(capacity),
        index_bits_(static_cast<unsigned>(std::bit_width(capacity - 1))),
        index_mask_((std::uint64_t{1} << index_bits_) - 1) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t index(std::uint64_t pos) const noexcept {
    return static_cast<std::size_t>(pos & index_mask_);
  }
  [[nodiscard]] std::uint64_t lap(std::uint64_t pos) const noexcept { return pos >> index_bits_; }
  [[nodiscard]] std::uint64_t next(std::uint64_t pos) const noexcept {
    return index(pos) + 1 == capacity_ ? (pos | index_mask_) + 1 : pos + 1;
  }
  /// Returns the position `steps` (at most capacity()) after `pos`: one add and one
  /// compare, for the batch operations that claim several positions at once.
  [[nodiscard]] std::uint64_t advance(std::uint64_t pos, std::size_t steps) const noexcept {
    const std::size_t index = this->index(pos) + steps;
    if (index < capacity_) return pos + steps;
    return ((pos | index_mask_) + 1) + (index - capacity_);
  }
  /// A position's slot index and lap, stepped one position at a time with an
  /// increment and a compare instead of index()'s and lap()'s mask and shift:
  /// what the batch operations walk their slots with. Kept in a local, it stays
  /// in registers, where a ring's own fields are reloaded after every store that
  /// may alias them, such as an item's move into a caller's std::uint64_t*
  /// (the instructions per item this saved: docs/benchmarks.md, "Batches").
  struct Cursor {
    std::size_t index;
    std::uint64_t lap;
    std::size_t capacity;
    void step() noexcept {
      if (++index == capacity) {
        index = 0;
        ++lap;
      }
    }
    void step_back() noexcept {
      if (index == 0) {
        index = capacity;
        --lap;
      }
      --index;
    }
  };
  [[nodiscard]] Cursor cursor(std::uint64_t pos) const noexcept {
    return Cursor{index(pos), lap(pos), capacity_};
  }
  /// Returns the distance between a position and the same slot's position one lap later.
  [[nodiscard]] std::uint64_t lap_step() const noexcept { return index_mask_ + 1; }
  /// Returns how many positions precede `pos` (the number of pushes or pops it stands for).
  [[nodiscard]] std::uint64_t count(std::uint64_t pos) const noexcept {
    return lap(pos) * capacity_ + index(pos);
  }

 private:
  std::size_t capacity_;
  unsigned index_bits_;
  std::uint64_t index_mask_;
};

/// Returns `capacity` if slots of `slot_size` bytes can be allocated for it; throws
/// std::invalid_argument for 0 and std::length_error for what cannot be allocated.
inline std::size_t checked_capacity(std::size_t capacity, std::size_t slot_size) {
  if (capacity == 0) {
    throw_or_abort(std::invalid_argument("bq: capacity 0 is invalid; capacity must be at least 1"));
  }
  // 2^40 slots keeps lap counters far from overflow and is beyond any real memory.
  constexpr std::size_t kMaxSlots = std::size_t{1} << 40;
  if (capacity > kMaxSlots || capacity > std::numeric_limits<std::size_t>::max() / slot_size) {
    throw_or_abort(std::length_error("bq: capacity " + std::to_string(capacity) +
                                     " is too large; at most " + std::to_string(kMaxSlots) +
                                     " slots and the memory they need can be allocated"));
  }
  return capacity;
}

/// Allocates `capacity` (already checked) default-initialized slots, turning an
/// allocation failure into a std::length_error that names the capacity.
template <class Slot>
std::unique_ptr<Slot[]> allocate_slots(std::size_t capacity) {
  BQ_TRY { return std::unique_ptr<Slot[]>(new Slot[capacity]); }
  BQ_CATCH(const std::bad_alloc&) {
    throw_or_abort(std::length_error("bq: capacity " + std::to_string(capacity) + " needs " +
                                     std::to_string(capacity * sizeof(Slot)) +
                                     " bytes, which could not be allocated"));
  }
}

/// A snapshot of a ring's counters (see the rings' counts()).
struct RingCounts {
  std::uint64_t pushed = 0;   ///< Items pushed (positions claimed, minus abandoned ones).
  std::uint64_t popped = 0;   ///< Items popped (never ahead of the truth).
  std::uint64_t evicted = 0;  ///< Items evicted (never ahead of the truth).
  std::uint64_t size = 0;     ///< Items in the ring, at most the capacity.
};

/// The largest size a ring has held, kept without a shared write per push: a
/// push samples the size when its slot index is a multiple of a stride (1
/// below capacity 128, so exact there; at most capacity/64 above) and when it
/// may have filled the ring (so reaching capacity is missed only if a pop
/// makes room before that push checks). Each ring says how its pushes learn
/// the size (relaxed loads, as a statistic may).
class HighWatermark {
 public:
  explicit HighWatermark(std::size_t capacity)
      : stride_mask_(std::bit_floor(std::max<std::size_t>(1, capacity / 64)) - 1) {}

  [[nodiscard]] bool should_sample(std::size_t slot_index) const noexcept {
    return (slot_index & stride_mask_) == 0;
  }
  /// Records the size implied by a push count and a pop count read after it
  /// (pops may have overtaken: then the size is unknown and nothing is recorded).
  void sample(std::uint64_t pushes, std::uint64_t pops) noexcept {
    if (pushes > pops) raise_to(pushes - pops);
  }
  /// Raises the mark to `size` (a size the ring held) and returns the new mark.
  /// Const: a reader that learnt of a size also raises the mark, so a later read
  /// can never report less (see BoundedQueue::metrics()). Always inlined: every
  /// push that finds the ring full calls it, and the mark then usually stands at
  /// capacity already, a load and a compare; as a call it cost a failed try_push
  /// about 1 ns (bench try_push_full, 2.1 -> 3.3 ns).
  BQ_ALWAYS_INLINE std::uint64_t raise_to(std::uint64_t size) const noexcept {
    std::uint64_t seen = value_.load(std::memory_order_relaxed);
    while (size > seen && !value_.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
    }
    return std::max(size, seen);
  }
  void reset_to(std::uint64_t size) noexcept { value_.store(size, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::size_t stride_mask_;
  mutable std::atomic<std::uint64_t> value_{0};
};

/// Raw, suitably aligned storage for one T, constructed and destroyed by the ring.
template <class T>
struct Storage {
  alignas(T) unsigned char bytes[sizeof(T)];
  T* get() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
};

BQ_PADDED_BEGIN  // alignas padding keeps the high watermark off the read-only line
/// The slots both rings keep their items in, with what goes with them: the
/// position arithmetic and the high watermark. Each slot carries a turn, which
/// says whose move it is (the rings define the values, see their file comments).
/// Allocating, finding a slot and destroying what is left are the same in both
/// rings; claiming and publishing are theirs.
template <class T, class Turn>
class SlotArray {
 public:
  struct Slot {
    std::atomic<Turn> turn;
    Storage<T> storage;
  };

  /// Allocates `capacity` slots (see checked_capacity()), each with turn
  /// `free_turn`, the turn that makes it free for its push of lap 0.
  SlotArray(std::size_t capacity, Turn free_turn)
      : positions_(checked_capacity(capacity, sizeof(Slot))),
        slots_(allocate_slots<Slot>(capacity)) {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].turn.store(free_turn, std::memory_order_relaxed);
    }
  }

  [[nodiscard]] const RingPositions& positions() const noexcept { return positions_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return positions_.capacity(); }
  Slot& slot_at(std::uint64_t pos) const noexcept { return slots_[positions_.index(pos)]; }
  /// The slots themselves: `data()[cursor.index]` is a RingPositions::Cursor's slot.
  [[nodiscard]] Slot* data() const noexcept { return slots_.get(); }
  /// The slot of the position `steps` (below capacity()) after `pos`.
  Slot& slot_ahead(std::uint64_t pos, std::size_t steps) const noexcept {
    std::size_t index = positions_.index(pos) + steps;
    if (index >= capacity()) index -= capacity();
    return slots_[index];
  }

  [[nodiscard]] HighWatermark& high_watermark() noexcept { return high_watermark_; }
  [[nodiscard]] const HighWatermark& high_watermark() const noexcept { return high_watermark_; }

  /// For a ring's destructor: destroys the item of every position in [from, to)
  /// for which `holds_item(slot, pos)` is true (the ring says which hold none).
  template <class HoldsItem>
  void destroy_items(std::uint64_t from, std::uint64_t to, HoldsItem&& holds_item) noexcept {
    for (std::uint64_t pos = from; pos != to; pos = positions_.next(pos)) {
      Slot& slot = slot_at(pos);
      if (holds_item(slot, pos)) slot.storage.get()->~T();
    }
  }

  /// Releases a popped slot to the next lap's pusher on scope exit, also when
  /// the consumer throws: destroys its item (unless it held none), then stores
  /// `next_turn`. The release store pairs with the pusher's acquire load of the
  /// turn: the item's destruction happens-before the slot is reused.
  struct Release {
    Slot& slot;
    Turn next_turn;
    bool holds_item = true;  // false for a hole (MpmcRing): nothing to destroy
    ~Release() {
      if (holds_item) slot.storage.get()->~T();
      slot.turn.store(next_turn, std::memory_order_release);
    }
  };

 private:
  // Read-only once constructed: every push and pop reads them.
  alignas(kCacheLine) const RingPositions positions_;
  const std::unique_ptr<Slot[]> slots_;
  // Written rarely (when the size reaches a new high), on a line of its own so
  // that its writes leave the line every push and pop reads alone.
  alignas(kCacheLine) HighWatermark high_watermark_{positions_.capacity()};
};
BQ_PADDED_END

/// Calls `construct(void*)` to placement-construct an item in `storage`; if
/// that throws, calls `undo()` (which gives the slot back) and rethrows.
template <class T, class Construct, class Undo>
BQ_ALWAYS_INLINE void construct_in(Storage<T>& storage, Construct&& construct, Undo&& undo) {
  if constexpr (std::is_nothrow_invocable_v<Construct, void*>) {
    construct(static_cast<void*>(storage.bytes));
  } else {
    BQ_TRY { construct(static_cast<void*>(storage.bytes)); }
    BQ_CATCH(...) {
      undo();
      BQ_RETHROW;
    }
  }
}

/// Hands the item in `storage` to `evict(T&)`, then destroys it, also if evict throws
/// (then `undo()` runs before the exception propagates).
template <class T, class Evict, class Undo>
void evict_from(Storage<T>& storage, Evict& evict, Undo&& undo) {
  struct Destroy {
    Storage<T>& storage;
    ~Destroy() { storage.get()->~T(); }
  };
  BQ_TRY {
    Destroy destroy{storage};
    evict(*storage.get());
  }
  BQ_CATCH(...) {
    undo();
    BQ_RETHROW;
  }
}

/// Calls `step()` up to `count` times, in order, until it returns false (it found
/// nothing to do), going on past steps that throw; then rethrows the first
/// exception. A batch pop uses it to release every position it takes (each item
/// moved out, or destroyed if its move throws).
template <class Step>
BQ_ALWAYS_INLINE void for_each_then_rethrow(std::size_t count, Step&& step) {
#ifdef BQ_NO_EXCEPTIONS_MODE
  for (std::size_t i = 0; i < count && step(); ++i) {
  }
#else
  if constexpr (std::is_nothrow_invocable_v<Step&>) {
    for (std::size_t i = 0; i < count && step(); ++i) {
    }
  } else {
    std::exception_ptr first;
    for (std::size_t i = 0; i < count; ++i) {
      try {
        if (!step()) break;
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }
#endif
}

}  // namespace bq::detail
