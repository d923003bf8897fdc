// Lifetime-counting item types for bq tests.
//
// Every type here reports to one process-wide set of counters (bq_test::Lifetimes):
// constructions, destructions, live instances (and their peak), live *values* (live
// instances that were not moved from, and their peak: what actually holds an item's
// resources), copies, moves, and objects constructed at a misaligned address or
// destroyed twice. Tests reset the
// counters at their start and check them at their end: "every item constructed is
// destroyed exactly once" is `constructed() == destroyed()` and `bad_destroys() == 0`.
//
// Fault injection: `Lifetimes::fail_nth_copy_or_move(n)` makes the n-th copy or
// move construction from now (of any type here) throw bq_test::InjectedFault
// before it touches its source, so the source keeps its value. 0 disarms it.
//
//   Tracked       default-constructible, copyable, movable; the move constructor is
//                 not noexcept (it may throw by fault injection)
//   NoDefault     a Tracked without a default constructor
//   MoveOnly      a Tracked that cannot be copied
//   OverAligned   alignas(64); checks its own address whenever it is constructed
//   Large         about 4 KiB of payload that can be checked for corruption
//
// Counters are atomics, so the types may be used from many threads; the test
// checks them once the threads are joined. Catch2 v2 assertions are not
// thread-safe: do not REQUIRE inside worker threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace bq_test {

/// Thrown by a tracked type's copy or move constructor when fault injection fires.
class InjectedFault : public std::runtime_error {
 public:
  InjectedFault() : std::runtime_error("bq_test: injected copy/move fault") {}
};

/// The process-wide lifetime counters shared by every type in this header.
class Lifetimes {
 public:
  /// Zeroes every counter and disarms fault injection. Call with no tracked object alive.
  static void reset() noexcept {
    constructed_ = 0;
    destroyed_ = 0;
    live_ = 0;
    peak_live_ = 0;
    live_values_ = 0;
    peak_live_values_ = 0;
    copies_ = 0;
    moves_ = 0;
    misaligned_ = 0;
    bad_destroys_ = 0;
    faults_thrown_ = 0;
    fail_countdown_ = 0;
  }

  static long long constructed() noexcept { return constructed_.load(); }
  static long long destroyed() noexcept { return destroyed_.load(); }
  /// Returns constructed() - destroyed().
  static long long live() noexcept { return live_.load(); }
  /// Returns the largest live() since the last reset() or reset_peak().
  static long long peak_live() noexcept { return peak_live_.load(); }
  /// Returns the live instances that hold a value (were not moved from).
  static long long live_values() noexcept { return live_values_.load(); }
  /// Returns the largest live_values() since the last reset() or reset_peak().
  static long long peak_live_values() noexcept { return peak_live_values_.load(); }
  /// Sets both peaks to the current counts.
  static void reset_peak() noexcept {
    peak_live_ = live_.load();
    peak_live_values_ = live_values_.load();
  }
  static long long copies() noexcept { return copies_.load(); }
  static long long moves() noexcept { return moves_.load(); }
  /// Returns how many objects were constructed at an address not aligned for their type.
  static long long misaligned() noexcept { return misaligned_.load(); }
  /// Returns how many destructor calls found an object that was not alive (double destroy).
  static long long bad_destroys() noexcept { return bad_destroys_.load(); }
  static long long faults_thrown() noexcept { return faults_thrown_.load(); }

  /// Makes the n-th copy or move construction from now throw InjectedFault; 0 disarms.
  static void fail_nth_copy_or_move(long long n) noexcept { fail_countdown_ = n; }
  /// Returns true while an armed fault has not fired yet.
  static bool fault_armed() noexcept { return fail_countdown_.load() > 0; }

  // Called by the tracked types.
  static void on_construct() noexcept {
    constructed_.fetch_add(1, std::memory_order_relaxed);
    add_one_raising_peak(live_, peak_live_);
  }
  static void on_destroy() noexcept {
    destroyed_.fetch_add(1, std::memory_order_relaxed);
    live_.fetch_sub(1, std::memory_order_relaxed);
  }
  static void on_value_gained() noexcept { add_one_raising_peak(live_values_, peak_live_values_); }
  static void on_value_lost() noexcept { live_values_.fetch_sub(1, std::memory_order_relaxed); }
  static void on_copy() noexcept { copies_.fetch_add(1, std::memory_order_relaxed); }
  static void on_move() noexcept { moves_.fetch_add(1, std::memory_order_relaxed); }
  static void on_misaligned() noexcept { misaligned_.fetch_add(1, std::memory_order_relaxed); }
  static void on_bad_destroy() noexcept { bad_destroys_.fetch_add(1, std::memory_order_relaxed); }

  /// Throws InjectedFault if this is the copy/move the armed fault is waiting for.
  static void before_copy_or_move() {
    long long left = fail_countdown_.load(std::memory_order_relaxed);
    while (left > 0) {
      if (fail_countdown_.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
        if (left == 1) {
          faults_thrown_.fetch_add(1, std::memory_order_relaxed);
          throw InjectedFault();
        }
        return;
      }
    }
  }

 private:
  /// Increments `counter` and raises `peak` to its new value if higher.
  static void add_one_raising_peak(std::atomic<long long>& counter,
                                   std::atomic<long long>& peak) noexcept {
    const long long now = counter.fetch_add(1, std::memory_order_relaxed) + 1;
    long long seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }

  static inline std::atomic<long long> constructed_{0};
  static inline std::atomic<long long> destroyed_{0};
  static inline std::atomic<long long> live_{0};
  static inline std::atomic<long long> peak_live_{0};
  static inline std::atomic<long long> live_values_{0};
  static inline std::atomic<long long> peak_live_values_{0};
  static inline std::atomic<long long> copies_{0};
  static inline std::atomic<long long> moves_{0};
  static inline std::atomic<long long> misaligned_{0};
  static inline std::atomic<long long> bad_destroys_{0};
  static inline std::atomic<long long> faults_thrown_{0};
  static inline std::atomic<long long> fail_countdown_{0};
};

/// A counted item carrying a 64-bit value. Copy and move constructors may throw
/// InjectedFault (see Lifetimes::fail_nth_copy_or_move); assignments never throw.
class Tracked {
 public:
  Tracked() noexcept : Tracked(0) {}
  explicit Tracked(std::uint64_t value) noexcept : value_(value) {
    Lifetimes::on_construct();
    Lifetimes::on_value_gained();
  }

  Tracked(const Tracked& other) : value_(other.value_) {
    Lifetimes::before_copy_or_move();  // Throws before anything is counted or changed.
    moved_from_ = other.moved_from_;
    Lifetimes::on_construct();
    if (!moved_from_) Lifetimes::on_value_gained();
    Lifetimes::on_copy();
  }

  // Deliberately not noexcept: bq must accept types whose move may throw.
  Tracked(Tracked&& other) noexcept(false) : value_(other.value_) {
    Lifetimes::before_copy_or_move();  // Throws before the source is marked moved-from.
    moved_from_ = other.moved_from_;
    other.moved_from_ = true;  // The value (if any) moves along: live_values is unchanged.
    Lifetimes::on_construct();
    Lifetimes::on_move();
  }

  Tracked& operator=(const Tracked& other) noexcept {
    if (this == &other) return *this;
    if (!moved_from_) Lifetimes::on_value_lost();
    if (!other.moved_from_) Lifetimes::on_value_gained();
    value_ = other.value_;
    moved_from_ = other.moved_from_;
    return *this;
  }

  Tracked& operator=(Tracked&& other) noexcept {
    if (this == &other) return *this;
    if (!moved_from_) Lifetimes::on_value_lost();  // Ours is dropped; other's moves here.
    value_ = other.value_;
    moved_from_ = other.moved_from_;
    other.moved_from_ = true;
    return *this;
  }

  ~Tracked() {
    if (magic_ != kAlive) Lifetimes::on_bad_destroy();
    magic_ = kDead;
    if (!moved_from_) Lifetimes::on_value_lost();
    Lifetimes::on_destroy();
  }

  /// Returns the value given at construction (kept by moved-from objects too).
  [[nodiscard]] std::uint64_t value() const noexcept { return value_; }
  /// Returns true if this object's state was moved into another object.
  [[nodiscard]] bool moved_from() const noexcept { return moved_from_; }
  /// Returns true between construction and destruction.
  [[nodiscard]] bool alive() const noexcept { return magic_ == kAlive; }

  friend bool operator==(const Tracked& a, const Tracked& b) noexcept {
    return a.value_ == b.value_;
  }

 private:
  static constexpr std::uint32_t kAlive = 0x7ac6ed00u;
  static constexpr std::uint32_t kDead = 0xdeadbeefu;

  std::uint64_t value_;
  std::uint32_t magic_ = kAlive;
  bool moved_from_ = false;
};

/// A Tracked that has no default constructor.
class NoDefault : public Tracked {
 public:
  NoDefault() = delete;
  explicit NoDefault(std::uint64_t value) noexcept : Tracked(value) {}
};

/// A Tracked that can be moved but not copied.
class MoveOnly : public Tracked {
 public:
  explicit MoveOnly(std::uint64_t value) noexcept : Tracked(value) {}
  MoveOnly(MoveOnly&&) = default;
  MoveOnly& operator=(MoveOnly&&) = default;
  MoveOnly(const MoveOnly&) = delete;
  MoveOnly& operator=(const MoveOnly&) = delete;
  ~MoveOnly() = default;
};

/// A Tracked aligned to 64 bytes that counts every construction at a misaligned address
/// (Lifetimes::misaligned()): a queue must place it in correctly aligned storage.
class alignas(64) OverAligned : public Tracked {
 public:
  explicit OverAligned(std::uint64_t value) noexcept : Tracked(value) { check_alignment(); }
  OverAligned(const OverAligned& other) : Tracked(other) { check_alignment(); }
  OverAligned(OverAligned&& other) noexcept(false) : Tracked(std::move(other)) {
    check_alignment();
  }
  OverAligned& operator=(const OverAligned&) = default;
  OverAligned& operator=(OverAligned&&) = default;
  ~OverAligned() = default;

 private:
  void check_alignment() const noexcept {
    if (reinterpret_cast<std::uintptr_t>(this) % alignof(OverAligned) != 0) {
      Lifetimes::on_misaligned();
    }
  }
};

/// A Tracked with about 4 KiB of payload derived from its value; intact() checks it.
class Large : public Tracked {
 public:
  static constexpr std::size_t kWords = 510;

  explicit Large(std::uint64_t value) noexcept : Tracked(value) {
    for (std::size_t i = 0; i < kWords; ++i) words_[i] = pattern(value, i);
  }
  Large(const Large&) = default;
  Large(Large&&) noexcept(false) = default;
  Large& operator=(const Large&) = default;
  Large& operator=(Large&&) = default;
  ~Large() = default;

  /// Returns true if the payload still matches value().
  [[nodiscard]] bool intact() const noexcept {
    for (std::size_t i = 0; i < kWords; ++i) {
      if (words_[i] != pattern(value(), i)) return false;
    }
    return true;
  }

 private:
  static constexpr std::uint64_t pattern(std::uint64_t value, std::size_t i) noexcept {
    return (value * 0x9e3779b97f4a7c15ull) ^ (static_cast<std::uint64_t>(i) << 17);
  }

  std::array<std::uint64_t, kWords> words_{};
};

static_assert(!std::is_nothrow_move_constructible_v<Tracked>,
              "Tracked's move may throw: it stands for types whose move is not noexcept");
static_assert(!std::is_default_constructible_v<NoDefault>, "NoDefault must have no default ctor");
static_assert(!std::is_copy_constructible_v<MoveOnly>, "MoveOnly must not be copyable");
static_assert(alignof(OverAligned) == 64, "OverAligned is aligned to a cache line");
static_assert(sizeof(Large) >= 4096, "Large is about 4 KiB");

}  // namespace bq_test
