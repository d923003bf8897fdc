// BoundedQueue: a fixed-capacity, thread-safe FIFO with an overflow policy.
//
// What it guarantees
// - Capacity: size() never exceeds capacity(), under any interleaving. The
//   storage is allocated once, in the constructor; no push or pop allocates.
// - Order: FIFO per producer; with one producer and one consumer, strict FIFO.
// - Overflow: when full, a push does what its Policy says (see policy.hpp):
//   evict the oldest, refuse the newest, or wait up to a timeout. Every item is
//   delivered by a pop, handed to the eviction handler (or back to a
//   force_push caller), left with the caller of a push that did not queue it
//   (an rvalue argument is then left unmoved), or destroyed with the queue.
//   Each of these is counted in metrics().
// - Waiting: pop(), pop_for(), push() and push_for() under a waiting policy
//   spin briefly, then sleep in the kernel; a push or pop that finds nobody
//   asleep makes no system call. Timeouts never return early.
// - Shutdown: close() makes every later push return `closed` (a push already
//   waiting returns `closed` too and keeps its item); pops drain what is left,
//   then return nullopt at once. Every sleeping thread wakes promptly.
//   close_and_discard() closes and removes what is left at once (to the
//   eviction handler, else destroyed; counted as `discarded`); clear() removes
//   it without closing.
// - Cancelling: where the standard library has std::stop_token
//   (BQ_HAS_STOP_TOKEN), pop(), pop_for(), pop_until(), push(), push_for() and
//   push_until() take one: a stop request ends their wait promptly (nullopt, or
//   PushResult::cancelled with the item left with the caller, unmoved). A token
//   only cancels waiting: an item or a free slot that is there is still taken.
// - Results: every pop, try_push, try_emplace, force_push and every push taking
//   a stop token is [[nodiscard]]: ignoring them loses an item or a refusal that
//   nothing else records. push(), emplace(), push_for() and push_until() are not:
//   each refusal they return is also counted in metrics() (dropped_newest,
//   timed_out, rejected_closed), and with a policy that never refuses (DropOldest)
//   their result only says `closed`, so fire-and-forget callers would need a
//   (void) on every push for nothing. Check their result where the item matters:
//   when a push did not queue it, the item is still the caller's.
// - Exceptions: if constructing, copying or moving an item into the queue
//   throws, the exception propagates and nothing is queued or counted (if
//   another push claimed a later slot meanwhile, the thrower's slot stays a
//   "hole", holding no item but taking capacity, until a pop passes it); if the
//   move out of the queue in a pop throws, that item is destroyed, counted as
//   popped, and the exception propagates. The queue stays usable either way
//   (the basic guarantee). T's destructor must not throw.
// - Batches: try_push_range()/push_range() and the pop_into() family move many
//   items with one claim of their positions (one CAS, or one index store for
//   Spsc, per batch where there is room); the policy applies to the items of
//   a push_range() that do not fit, as to single pushes. try_push_range() and
//   the batch pops are [[nodiscard]]; push_range() is not, as push() is not.
//   A batch push whose construction throws keeps the items before the thrower
//   queued; a batch pop whose output throws loses only that item.
// - Concurrency: Mpmc (default) allows any number of pushing and popping
//   threads; Spsc allows one of each at a time and needs no read-modify-write
//   (which is faster depends on the machine: see docs/bench). With a policy
//   that may evict, a Spsc queue's producer takes the oldest item with one CAS
//   per eviction, and its consumer claims each item with one CAS.
// - Destruction: destroying a queue while another thread is inside one of its
//   members is undefined; debug builds assert that no thread is waiting.
//
// The engine is in detail/: mpmc_ring.hpp and spsc_ring.hpp (the lock-free
// rings), parking_ring.hpp (waking and waiting around the ring), event_count.hpp
// (parking), wait.hpp and clock_deadline.hpp (deadlines and spinning), stop.hpp
// (cancelling a wait), queue_counters.hpp (the counters behind metrics()).
#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "detail/clock_deadline.hpp"
#include "detail/mpmc_ring.hpp"
#include "detail/parking_ring.hpp"
#include "detail/queue_counters.hpp"
#include "detail/spsc_ring.hpp"
#include "detail/stop.hpp"  // BQ_HAS_STOP_TOKEN: whether the waits take a std::stop_token
#include "detail/wait.hpp"
#include "metrics.hpp"
#include "policy.hpp"
#include "queue_config.hpp"

namespace bq {

/// Concurrency tag: any number of threads may push and pop at once (the default).
struct Mpmc {};
/// Concurrency tag: at most one thread pushes and one thread pops at a time.
struct Spsc {};

/// What force_push() did, and the item it evicted, if any.
template <class T>
struct ForcePushResult {
  PushResult result;         ///< `pushed`, `replaced_oldest` or `closed`.
  std::optional<T> evicted;  ///< The evicted oldest item (with `replaced_oldest`).
};

BQ_PADDED_BEGIN  // alignas padding keeps the rarely written counters apart
template <class T, class Policy, class Concurrency = Mpmc>
class BoundedQueue {
  static_assert(std::is_same_v<Concurrency, Mpmc> || std::is_same_v<Concurrency, Spsc>,
                "bq: Concurrency must be bq::Mpmc or bq::Spsc");
  static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                "bq: T must be a non-const object type");
  static_assert(std::is_move_constructible_v<T>,
                "bq: T must be move-constructible (pop moves it out)");
  static_assert(std::is_nothrow_destructible_v<T>, "bq: T's destructor must not throw");
  static_assert(QueuePolicy<Policy>,
                "bq: Policy must have `FullAction on_full(bool deadline_passed) const` (see "
                "policy.hpp); check yours where you define it: static_assert(bq::QueuePolicy<P>)");

  // Whether the ring can evict: the MPMC ring always can; the SPSC ring only when
  // built for a policy that may (which costs its popper a CAS per pop).
  static constexpr bool kRingMayEvict =
      std::is_same_v<Concurrency, Mpmc> || detail::policy_may_evict<Policy>();
  using Ring = std::conditional_t<std::is_same_v<Concurrency, Spsc>,
                                  detail::SpscRing<T, detail::policy_may_evict<Policy>()>,
                                  detail::MpmcRing<T, detail::policy_may_evict<Policy>()>>;
  using Parking = detail::ParkingRing<T, Ring>;
  using RingStatus = detail::RingStatus;
  using Deadline = detail::Deadline;
  using NoStop = detail::NoStop;

 public:
  using value_type = T;
  using policy_type = Policy;
  using concurrency_type = Concurrency;
  using clock = std::chrono::steady_clock;
  /// Receives each evicted item, in the pushing thread, outside any internal
  /// lock, after the push that evicted it has queued its own item (so if the
  /// handler throws, that push's item is queued and the exception propagates).
  using EvictionHandler = std::function<void(T&&)>;

  /// Creates a queue of `capacity` items (any value >= 1) with the other
  /// settings of a default QueueConfig. Throws std::invalid_argument for 0 and
  /// std::length_error for a capacity that cannot be allocated.
  explicit BoundedQueue(std::size_t capacity, EvictionHandler on_evict = {})
      : BoundedQueue(with_capacity(capacity), std::move(on_evict)) {}

  /// Creates a queue configured by `config` (validated first: throws ConfigError).
  explicit BoundedQueue(const QueueConfig& config, EvictionHandler on_evict = {})
      : config_(validated(config)),
        policy_(detail::make_policy<Policy>(config_)),
        on_evict_(std::move(on_evict)),
        ring_(config_.capacity) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  /// Destroys the items still queued. No thread may be inside a member.
  ~BoundedQueue() {
    assert(!ring_.has_waiters() && "bq: BoundedQueue destroyed while threads are waiting in it");
  }

  /// Pushes a copy of `item`, applying the policy when full (a blocking policy
  /// waits up to config().block_timeout). Thread-safe.
  BQ_ALWAYS_INLINE PushResult push(const T& item) { return emplace(item); }
  /// Pushes `item`, applying the policy when full; `item` is moved from only if queued.
  BQ_ALWAYS_INLINE PushResult push(T&& item) { return emplace(std::move(item)); }

  /// Constructs an item in place from `args`, applying the policy when full;
  /// `args` are used only if the item is queued.
  template <class... Args>
  BQ_ALWAYS_INLINE PushResult emplace(Args&&... args) {
    return push_with_policy(constructor(std::forward<Args>(args)...),
                            Deadline::after_first_wait(config_.block_timeout), NoStop{});
  }

  /// Like push(), but a blocking policy waits at most `timeout`; zero or negative never waits.
  template <class Rep, class Period>
  PushResult push_for(T&& item, std::chrono::duration<Rep, Period> timeout) {
    return push_with_policy(constructor(std::move(item)), detail::deadline_in(timeout), NoStop{});
  }
  template <class Rep, class Period>
  PushResult push_for(const T& item, std::chrono::duration<Rep, Period> timeout) {
    return push_with_policy(constructor(item), detail::deadline_in(timeout), NoStop{});
  }

  /// Like push(), but a blocking policy waits until `deadline` at the latest, on
  /// any clock (a wait never ends before that clock reaches the deadline).
  template <class C, class Duration>
  PushResult push_until(T&& item, std::chrono::time_point<C, Duration> deadline) {
    return push_with_policy(constructor(std::move(item)), detail::deadline_at(deadline), NoStop{});
  }
  template <class C, class Duration>
  PushResult push_until(const T& item, std::chrono::time_point<C, Duration> deadline) {
    return push_with_policy(constructor(item), detail::deadline_at(deadline), NoStop{});
  }

  /// Constructs an item in place like emplace(), but a blocking policy waits at most `timeout`.
  template <class Rep, class Period, class... Args>
  PushResult emplace_for(std::chrono::duration<Rep, Period> timeout, Args&&... args) {
    return push_with_policy(constructor(std::forward<Args>(args)...), detail::deadline_in(timeout),
                            NoStop{});
  }

  /// Constructs an item in place like emplace(), but a blocking policy waits
  /// until `deadline` (any clock) at the latest.
  template <class C, class Duration, class... Args>
  PushResult emplace_until(std::chrono::time_point<C, Duration> deadline, Args&&... args) {
    return push_with_policy(constructor(std::forward<Args>(args)...), detail::deadline_at(deadline),
                            NoStop{});
  }

#if BQ_HAS_STOP_TOKEN
  /// Like push(), but a stop request on `stop` ends the wait of a blocking
  /// policy: the push returns `cancelled` and `item` is unmoved (not counted as
  /// a drop). A stop requested before the call only keeps it from waiting.
  [[nodiscard]] PushResult push(T&& item, const std::stop_token& stop) {
    return push_with_policy(constructor(std::move(item)),
                            Deadline::after_first_wait(config_.block_timeout), stop);
  }
  [[nodiscard]] PushResult push(const T& item, const std::stop_token& stop) {
    return push_with_policy(constructor(item), Deadline::after_first_wait(config_.block_timeout),
                            stop);
  }

  /// Like push_for(), but cancellable by `stop` as push(item, stop) is.
  template <class Rep, class Period>
  [[nodiscard]] PushResult push_for(T&& item, std::chrono::duration<Rep, Period> timeout,
                                    const std::stop_token& stop) {
    return push_with_policy(constructor(std::move(item)), detail::deadline_in(timeout), stop);
  }
  template <class Rep, class Period>
  [[nodiscard]] PushResult push_for(const T& item, std::chrono::duration<Rep, Period> timeout,
                                    const std::stop_token& stop) {
    return push_with_policy(constructor(item), detail::deadline_in(timeout), stop);
  }

  /// Like push_until(), but cancellable by `stop` as push(item, stop) is.
  template <class C, class Duration>
  [[nodiscard]] PushResult push_until(T&& item, std::chrono::time_point<C, Duration> deadline,
                                      const std::stop_token& stop) {
    return push_with_policy(constructor(std::move(item)), detail::deadline_at(deadline), stop);
  }
  template <class C, class Duration>
  [[nodiscard]] PushResult push_until(const T& item, std::chrono::time_point<C, Duration> deadline,
                                      const std::stop_token& stop) {
    return push_with_policy(constructor(item), detail::deadline_at(deadline), stop);
  }
#endif

  /// Pushes `item` only if there is room now: never waits, never evicts.
  /// Returns false if full or closed (then `item` is unmoved and nothing is counted).
  [[nodiscard]] BQ_ALWAYS_INLINE bool try_push(T&& item) { return try_emplace(std::move(item)); }
  [[nodiscard]] BQ_ALWAYS_INLINE bool try_push(const T& item) { return try_emplace(item); }

  /// Constructs an item in place only if there is room now; see try_push().
  template <class... Args>
  [[nodiscard]] BQ_ALWAYS_INLINE bool try_emplace(Args&&... args) {
    auto construct = constructor(std::forward<Args>(args)...);
    return ring_.push_once(construct) == RingStatus::ok;
  }

  /// Pushes the longest prefix of `range` that fits now, in order, claiming its
  /// slots together; returns how many items that is. Never waits, never evicts,
  /// counts nothing for the rest (like try_push). `range`: anything std::begin and
  /// std::end accept with forward iterators (a container, an array, a view over
  /// move iterators). An rvalue range's elements are moved from, an lvalue
  /// range's copied; the elements after the prefix are not touched. If an item's
  /// construction throws, the items before it stay queued and the exception
  /// propagates. Thread-safe.
  template <class R>
  [[nodiscard]] std::size_t try_push_range(R&& range) {
    return push_range_with(std::forward<R>(range), false);
  }

  /// Pushes every element of `range` (as try_push_range() takes it), in order,
  /// applying the policy to those that do not fit: DropOldest queues them all,
  /// evicting the oldest (the batch's own first items too, if it is larger than
  /// the capacity); DropNewest queues what fits and counts the rest as
  /// dropped_newest; Block waits up to config().block_timeout in all for room
  /// and counts what is left then as timed_out. After close(), the rest are
  /// counted as rejected_closed. Returns how many items were queued; the
  /// elements not queued are not touched. Exceptions as for try_push_range().
  template <class R>
  std::size_t push_range(R&& range) {
    return push_range_with(std::forward<R>(range), true);
  }

  /// Pushes `item` whatever the policy, evicting the oldest item if full and
  /// returning it in `evicted` instead of passing it to the eviction handler.
  /// Never waits. (Not available for Spsc queues whose policy never evicts.)
  [[nodiscard]] ForcePushResult<T> force_push(T&& item) {
    return force_push_impl(constructor(std::move(item)));
  }
  [[nodiscard]] ForcePushResult<T> force_push(const T& item) {
    return force_push_impl(constructor(item));
  }

  /// Pops the oldest item if there is one now; never waits.
  [[nodiscard]] BQ_ALWAYS_INLINE std::optional<T> try_pop() {
    return pop_until_deadline(Deadline::none(), NoStop{});
  }

  /// Pops the oldest item, waiting for one; returns nullopt once the queue is
  /// closed and empty.
  [[nodiscard]] BQ_ALWAYS_INLINE std::optional<T> pop() {
    return pop_until_deadline(Deadline::at(clock::time_point::max()), NoStop{});
  }

  /// Like pop(), but waits at most `timeout` (nullopt on timeout).
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
    return pop_until_deadline(detail::deadline_in(timeout), NoStop{});
  }

  /// Like pop(), but waits until `deadline` at the latest, on any clock
  /// (nullopt on timeout; never before that clock reaches the deadline).
  template <class C, class Duration>
  [[nodiscard]] std::optional<T> pop_until(std::chrono::time_point<C, Duration> deadline) {
    return pop_until_deadline(detail::deadline_at(deadline), NoStop{});
  }

#if BQ_HAS_STOP_TOKEN
  /// Like pop(), but also returns nullopt promptly once a stop is requested on
  /// `stop` while it waits (works with std::jthread's token). An item already
  /// queued is still returned: a stop requested before the call only keeps it
  /// from waiting.
  [[nodiscard]] std::optional<T> pop(const std::stop_token& stop) {
    return pop_until_deadline(Deadline::at(clock::time_point::max()), stop);
  }

  /// Like pop_for(), but cancellable by `stop` as pop(stop) is.
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout,
                                         const std::stop_token& stop) {
    return pop_until_deadline(detail::deadline_in(timeout), stop);
  }

  /// Like pop_until(), but cancellable by `stop` as pop(stop) is.
  template <class C, class Duration>
  [[nodiscard]] std::optional<T> pop_until(std::chrono::time_point<C, Duration> deadline,
                                           const std::stop_token& stop) {
    return pop_until_deadline(detail::deadline_at(deadline), stop);
  }
#endif

  /// Pops up to `max` items that are there now, oldest first, into `out` (an
  /// output iterator, e.g. std::back_inserter(vec)), claiming them together;
  /// returns how many. Never waits (like try_pop()). If moving an item into `out`
  /// throws, that item is destroyed (counted as popped, as with pop()), the other
  /// items claimed are still moved into `out`, and the first exception propagates.
  template <class OutputIt>
  [[nodiscard]] std::size_t try_pop_into(OutputIt out, std::size_t max) {
    return pop_range_until(out, max, Deadline::none());
  }

  /// Waits like pop() until at least one item is there (or the queue is closed),
  /// then pops up to `max` into `out` without waiting for more; returns how many,
  /// 0 only once the queue is closed and empty (or for max == 0).
  template <class OutputIt>
  [[nodiscard]] std::size_t pop_into(OutputIt out, std::size_t max) {
    return pop_range_until(out, max, Deadline::at(clock::time_point::max()));
  }

  /// Like pop_into(), but waits at most `timeout` (0 if none came, or closed and empty).
  template <class OutputIt, class Rep, class Period>
  [[nodiscard]] std::size_t pop_into_for(OutputIt out, std::size_t max,
                                         std::chrono::duration<Rep, Period> timeout) {
    return pop_range_until(out, max, detail::deadline_in(timeout));
  }

  /// Like pop_into(), but waits until `deadline` at the latest, on any clock.
  template <class OutputIt, class C, class Duration>
  [[nodiscard]] std::size_t pop_into_until(OutputIt out, std::size_t max,
                                           std::chrono::time_point<C, Duration> deadline) {
    return pop_range_until(out, max, detail::deadline_at(deadline));
  }

  /// Closes the queue: later pushes return `closed`, pops drain the remaining
  /// items, and every waiting thread wakes. Idempotent; thread-safe.
  void close() noexcept { ring_.close(); }

  /// Closes the queue (as close() does) and removes every item still queued, at
  /// once: each goes to the eviction handler if there is one (in this thread,
  /// oldest first), else is destroyed. Returns how many, which metrics() counts
  /// as `discarded`. Pops then return nullopt at once; a pop running meanwhile
  /// gets an item (counted as popped) or nullopt, never both. If the handler
  /// throws, the exception propagates and the items not yet removed stay queued
  /// (pops may still drain them). Thread-safe for Mpmc; on a Spsc queue this is
  /// a pop: call it from the consuming thread, or while no pop runs.
  std::size_t close_and_discard() {
    close();
    return discard_queued(std::numeric_limits<std::size_t>::max());
  }

  /// Removes every queued item as close_and_discard() does, without closing;
  /// returns how many (counted as `discarded`). While pushes run it removes at
  /// most capacity() items (those queued when it began come first), so it always
  /// ends. Thread-safety as for close_and_discard().
  std::size_t clear() { return discard_queued(capacity()); }

  /// Returns true once close() has been called.
  [[nodiscard]] bool is_closed() const noexcept { return ring_.ring().is_closed(); }

  /// Returns the number of queued items: exact when no push or pop is running,
  /// otherwise at most the size at the moment it reads the pop position (it
  /// reads the push position first), so never more than the queue really held.
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(ring_.ring().counts().size);
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.ring().capacity(); }
  /// Returns size() == 0, with the same caveat.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// Returns a snapshot of the counters, without a lock and without slowing
  /// pushes or pops. Safe from any thread at any time.
  [[nodiscard]] QueueMetrics metrics() const noexcept { return counters_.snapshot(ring_.ring()); }

  /// Sets the high watermark to the current size (e.g. after a monitor read it).
  void reset_high_watermark() noexcept { ring_.ring().high_watermark().reset_to(size()); }

  /// Returns the configuration the queue was built with.
  [[nodiscard]] const QueueConfig& config() const noexcept { return config_; }
  /// Returns the overflow policy object.
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }

 private:
  static QueueConfig with_capacity(std::size_t capacity) {
    QueueConfig config;
    config.capacity = capacity;
    return config;
  }

  static const QueueConfig& validated(const QueueConfig& config) {
    validate(config);
    return config;
  }

  /// Returns a callable that placement-constructs a T from `args` (kept by reference).
  template <class... Args>
  static auto constructor(Args&&... args) noexcept {
    return [&args...](void* where) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
      ::new (where) T(std::forward<Args>(args)...);
    };
  }

  /// Returns a callable that placement-constructs a T from `*next`, then steps
  /// `next` on: moved from when kMove and the range yields lvalues, else as the
  /// range yields it (a move iterator's rvalue is moved from either way).
  template <bool kMove, class It>
  static auto range_constructor(It& next) noexcept {
    using Ref = std::iter_reference_t<It>;
    using Arg = std::conditional_t<kMove && std::is_lvalue_reference_v<Ref>,
                                   std::remove_reference_t<Ref>&&, Ref>;
    constexpr bool kNothrow = std::is_nothrow_constructible_v<T, Arg>&& noexcept(
        *std::declval<It&>())&& noexcept(++std::declval<It&>());
    return [&next](void* where) noexcept(kNothrow) {
      ::new (where) T(static_cast<Arg>(*next));
      ++next;
    };
  }

  /// try_push_range() (apply_policy false) and push_range() (true).
  template <class R>
  std::size_t push_range_with(R&& range, bool apply_policy) {
    auto next = std::begin(range);
    const auto last = std::end(range);
    using It = decltype(next);
    static_assert(std::is_same_v<It, std::remove_const_t<decltype(last)>>,
                  "bq: push_range/try_push_range need begin() and end() of the same type");
    // By the iterator category, not std::forward_iterator: C++20 calls a
    // move_iterator an input iterator, yet a view of them can be counted.
    static_assert(std::is_base_of_v<std::forward_iterator_tag,
                                    typename std::iterator_traits<It>::iterator_category>,
                  "bq: push_range/try_push_range need forward iterators (a batch counts its "
                  "items before it claims room for them)");
    auto construct = range_constructor<!std::is_lvalue_reference_v<R>>(next);
    auto left = static_cast<std::size_t>(std::distance(next, last));
    std::size_t queued = 0;
    Deadline deadline = Deadline::after_first_wait(config_.block_timeout);
    while (left > 0) {
      const std::size_t asked = std::min(left, capacity());
      std::size_t pushed = 0;
      const RingStatus status = ring_.push_batch_once(asked, construct, pushed);
      queued += pushed;
      left -= pushed;
      if (pushed == asked) continue;
      if (!apply_policy) break;
      if (status == RingStatus::closed) {
        counters_.add_rejected_closed(left);
        break;
      }
      // Full: what the policy says for the next item (see push_when_full()).
      FullAction action = evicts_at_once() ? FullAction::evict_oldest : ask_policy(false);
      if (action == FullAction::wait) {
        if (!deadline.passed()) {
          if (!Parking::yield_until([&] {
                return ring_.ring().push_may_proceed(std::min(left, ring_.refill_batch()));
              })) {
            ring_.wait_for_room(deadline, NoStop{});
          }
          deadline.start();  // from the first wait on, as push_when_full() does
          continue;
        }
        action = ask_policy(true);
      }
      if constexpr (kRingMayEvict) {  // (ask_policy() asks only a ring that can to evict)
        if (action == FullAction::evict_oldest) {
          // One item, evicting (one claim each, as single pushes: the ring is full).
          --left;
          if (push_evicting_oldest(construct) == PushResult::closed) {  // counted that one
            counters_.add_rejected_closed(left);
            break;
          }
          ++queued;
          continue;
        }
      }
      if (action == FullAction::drop_newest) {
        counters_.add_dropped_newest(left);
      } else {  // time_out, or wait again after the deadline
        counters_.add_timed_out(left);
      }
      break;
    }
    return queued;
  }

  /// The batch pops: one batch attempt; if nothing was there, one pop that waits
  /// like pop() until `deadline`, then one more batch attempt for the rest.
  template <class OutputIt, class Until>
  std::size_t pop_range_until(OutputIt& out, std::size_t max, Until deadline) {
    if (max == 0) return 0;
    std::size_t popped = 0;
    RingStatus status = ring_.pop_batch_once(out, max, popped);
    for (int yields = 0;; ++yields) {
      while (status == RingStatus::skipped)
        status = ring_.pop_batch_once(out, max, popped);  // holes
      if (popped != 0) return popped;
      // Empty and open, for a pop that may wait: yield first (see yield_until()).
      if (status != RingStatus::empty || yields == Parking::kBatchYields || deadline.passed())
        break;
      std::this_thread::yield();
      status = ring_.pop_batch_once(out, max, popped);
    }
    std::optional<T> first = pop_when_empty(status, deadline, NoStop{});
    if (!first) return 0;
    *out = std::move(*first);
    ++out;
    if (max == 1) return 1;
    ring_.pop_batch_once(out, max - 1, popped);
    return 1 + popped;
  }

  /// The fast path of every push: one attempt, inlined into the caller; only a
  /// full queue (or a policy that evicts at once) goes on to the policy.
  template <class Construct, class Until, class Stop>
  BQ_ALWAYS_INLINE PushResult push_with_policy(Construct construct, Until deadline,
                                               const Stop& stop) {
    if (!evicts_at_once()) {
      switch (ring_.push_once(construct)) {
        case RingStatus::ok: return PushResult::pushed;
        case RingStatus::closed: return reject_closed();
        case RingStatus::busy:
        case RingStatus::full:
        case RingStatus::empty:           // (pops only)
        case RingStatus::skipped: break;  // (pops only)
      }
    } else if constexpr (kRingMayEvict) {
      // A policy that evicts at once goes straight to the evicting push, which
      // also handles the not-full case: one pass over the ring instead of two.
      return push_evicting_oldest(construct);
    }
    return push_when_full(construct, deadline, stop);
  }

  /// What a push does once it found the queue full: ask the policy, and wait,
  /// evict, drop or give up as it says. Kept out of line, off the fast path.
  /// A stop request ends a wait with `cancelled` (a push that needs no wait is
  /// not cancelled: the policy applies as without a token).
  template <class Construct, class Until, class Stop>
  BQ_NOINLINE PushResult push_when_full(Construct construct, Until deadline, const Stop& stop) {
    for (;;) {
      // The clock is read only by a policy that asks to wait, and only once
      // a wait did not end in a push: most waits end within the spin.
      FullAction action = ask_policy(false);
      if (action == FullAction::wait) {
        if (!deadline.passed()) {
          if (stop.stop_requested()) return PushResult::cancelled;
          ring_.wait_for_room(deadline, stop);
          switch (ring_.push_once(construct)) {
            case RingStatus::ok: return PushResult::pushed;
            case RingStatus::closed: return reject_closed();
            case RingStatus::busy:
            case RingStatus::full:
            case RingStatus::empty:    // (pops only)
            case RingStatus::skipped:  // (pops only)
              if (stop.stop_requested()) return PushResult::cancelled;
              deadline.start();
              continue;
          }
        }
        action = ask_policy(true);
      }
      switch (action) {
        case FullAction::evict_oldest:
          if constexpr (kRingMayEvict) return push_evicting_oldest(construct);
          [[fallthrough]];  // never: ask_policy() asks only a ring that can to evict
        case FullAction::drop_newest:
          counters_.add_dropped_newest(1);
          return PushResult::dropped_newest;
        case FullAction::wait:  // asked to wait again after the deadline: give up
        case FullAction::time_out: counters_.add_timed_out(1); return PushResult::timed_out;
      }
    }
  }

  /// Returns what the policy says a push into the full queue does. Throws
  /// std::logic_error for an answer it may not give: not a FullAction, or
  /// evict_oldest from a policy whose may_evict is false (an Spsc ring is then
  /// built without evictions). Nothing is queued or counted; the item stays the
  /// caller's.
  FullAction ask_policy(bool deadline_passed) const {
    const FullAction action = policy_.on_full(deadline_passed);
    switch (action) {
      case FullAction::evict_oldest:
        if constexpr (!detail::policy_may_evict<Policy>()) {
          detail::throw_or_abort(std::logic_error(
              "bq: the policy's on_full returned evict_oldest, but its may_evict is false; a "
              "policy that may evict must say so (may_evict = true, or no may_evict)"));
        }
        return action;
      case FullAction::drop_newest:
      case FullAction::wait:
      case FullAction::time_out: return action;
    }
    detail::throw_or_abort(
        std::logic_error("bq: the policy's on_full returned FullAction " +
                         std::to_string(static_cast<std::underlying_type_t<FullAction>>(action)) +
                         ", which is none of evict_oldest, drop_newest, wait and time_out"));
  }

  /// Pushes, evicting the oldest item if full and handing it to the eviction
  /// handler, which runs outside the ring once this push's item is queued.
  template <class Construct>
  BQ_ALWAYS_INLINE PushResult push_evicting_oldest(Construct& construct) requires kRingMayEvict {
    std::optional<T> oldest;
    if (!push_evicting(construct, oldest)) return reject_closed();
    if (!oldest) return PushResult::pushed;
    if (on_evict_) on_evict_(std::move(*oldest));
    return PushResult::replaced_oldest;
  }

  template <class Construct>
  ForcePushResult<T> force_push_impl(Construct construct) {
    static_assert(kRingMayEvict,
                  "bq: force_push on a Spsc queue needs a policy that may evict (its ring is "
                  "built for evictions only then); use Mpmc or an evicting policy");
    ForcePushResult<T> out{PushResult::pushed, std::nullopt};
    if (!push_evicting(construct, out.evicted)) {
      out.result = reject_closed();
    } else if (out.evicted) {
      out.result = PushResult::replaced_oldest;
    }
    return out;
  }

  /// Returns true if the policy evicts as soon as the queue is full, so pushes
  /// can take the evicting path directly. Only built-in policies are known to;
  /// a user policy is asked only when the queue is full, as documented.
  bool evicts_at_once() const noexcept {
    if constexpr (std::is_same_v<Policy, DropOldest>) {
      return true;
    } else if constexpr (std::is_same_v<Policy, Dynamic>) {
      return policy_.policy() == OverflowPolicy::drop_oldest;
    } else {
      return false;
    }
  }

  PushResult reject_closed() noexcept {
    counters_.add_rejected_closed(1);
    return PushResult::closed;
  }

  /// Pushes, evicting the oldest item into `oldest` if full (counted in
  /// dropped_oldest). Returns false if closed. If the push throws after the
  /// eviction, the evicted item goes to the handler before the exception
  /// propagates (it has no other way back). Forced inline, as the rest of a
  /// DropOldest push() is: left to g++, it was inlined into one caller's loop and
  /// called from another's, and the call cost the Spsc push into a full queue
  /// 8.0 -> 9.3-10.3 ns (docs/benchmarks.md, "The bench glue inline").
  template <class Construct>
  BQ_ALWAYS_INLINE bool push_evicting(Construct& construct,
                                      std::optional<T>& oldest) requires kRingMayEvict {
    const auto evict = [&](T& item) noexcept(std::is_nothrow_move_constructible_v<T>) {
      oldest.emplace(std::move(item));
    };
    detail::Backoff backoff;
    for (;;) {
      RingStatus status;
      BQ_TRY { status = ring_.ring().try_push_evicting(construct, evict); }
      BQ_CATCH(...) {
        ring_.wake_a_pusher();  // see ParkingRing::ring_try_push()
        if (oldest && on_evict_) on_evict_(std::move(*oldest));
        BQ_RETHROW;
      }
      switch (status) {
        case RingStatus::ok:
          ring_.wake_a_popper();
          // For MpmcRing, whose eviction does not raise the mark. SpscRing's does, and
          // this repeats it: skipping it made the Spsc producer faster but cut what its
          // consumer delivers under overload (docs/benchmarks.md, "not kept").
          if (oldest) ring_.ring().high_watermark().raise_to(capacity());
          return true;
        case RingStatus::closed: return false;
        case RingStatus::busy:
        case RingStatus::full:
        case RingStatus::empty:                               // (pops only)
        case RingStatus::skipped: backoff.pause(); continue;  // (pops only)
      }
    }
  }

  /// The fast path of every pop: one attempt, inlined into the caller (so a
  /// small item travels in registers); only an empty queue goes on to wait.
  template <class Until, class Stop>
  BQ_ALWAYS_INLINE std::optional<T> pop_until_deadline(Until deadline, const Stop& stop) {
    RingStatus status;
    if constexpr (std::is_trivially_copyable_v<T>) {
      // Copied out through a plain local: GCC builds a returned optional that
      // was emplaced in place with a byte store and then a wider load, which
      // stalls store forwarding (measured: +10 ns per pop).
      detail::Storage<T> copy;
      status = ring_.pop_once([&](T& queued) noexcept { ::new (copy.bytes) T(queued); });
      if (status == RingStatus::ok) return std::optional<T>(*copy.get());
    } else {
      std::optional<T> item;
      status = ring_.pop_one_into(item);
      if (status == RingStatus::ok) return item;
    }
    return pop_when_empty(status, deadline, stop);
  }

  /// What a pop does after an attempt that found no item: retry a busy slot,
  /// report closed, or wait until `deadline` or a stop request. Kept out of line.
  template <class Until, class Stop>
  BQ_NOINLINE std::optional<T> pop_when_empty(RingStatus status, Until deadline, const Stop& stop) {
    detail::Backoff backoff;
    int busy_pauses = 0;
    for (;;) {
      switch (status) {
        case RingStatus::ok: break;  // not reached: the caller returns the item
        case RingStatus::closed: return std::nullopt;
        case RingStatus::skipped: break;  // a hole: the next position may hold an item
        case RingStatus::busy:
          // The oldest position's push has claimed it and is still writing (or
          // about to publish a hole). A pop that may wait waits for it; one whose
          // deadline has passed (try_pop() always) gives up after a bounded spin,
          // since that pusher may have been preempted: the pop then returns
          // nullopt although newer pushes may have returned (the one answer
          // that is not linearizable; README "Guarantees").
          if (++busy_pauses > kBusyPausesBeforeGivingUp &&
              (stop.stop_requested() || deadline.passed())) {
            return std::nullopt;
          }
          backoff.pause();
          break;
        case RingStatus::empty:
          if (stop.stop_requested() || deadline.passed()) return std::nullopt;
          ring_.wait_for_item(deadline, stop);
          break;
        case RingStatus::full: break;  // (pushes only)
      }
      std::optional<T> item;
      status = ring_.pop_one_into(item);
      if (status == RingStatus::ok) return item;
    }
  }

  /// How long a pop that may not wait retries a slot whose push is half-way:
  /// the Backoff's spin (about 4 us on x86), then yields, which let a preempted
  /// writer run if it shares this core. Long enough that a running writer
  /// finishes (it is a construction away); short enough to be "never waits".
  static constexpr int kBusyPausesBeforeGivingUp = 256;

  /// Removes queued items (at most `limit`, counting holes passed) until the
  /// queue is empty, each to the eviction handler or destroyed; returns how
  /// many items it removed. Each removal is a pop (so it wakes a waiting
  /// pusher) counted as a discard instead; see QueueCounters::counts().
  std::size_t discard_queued(std::size_t limit) {
    std::size_t removed = 0;
    detail::Backoff backoff;
    for (std::size_t passed = 0; passed < limit;) {
      std::optional<T> item;
      counters_.claim_discard();
      RingStatus status;
      if (on_evict_) {
        BQ_TRY { status = ring_.pop_one_into(item); }
        BQ_CATCH(...) {
          // Moving the item out threw: the ring destroyed it, and it was discarded.
          counters_.add_discarded();
          BQ_RETHROW;
        }
      } else {
        status = ring_.pop_once([](T&) noexcept {});  // the ring destroys the item
      }
      if (status != RingStatus::ok) counters_.unclaim_discard();
      switch (status) {
        case RingStatus::ok:
          counters_.add_discarded();
          ++removed;
          ++passed;
          if (item) on_evict_(std::move(*item));
          break;
        case RingStatus::skipped: ++passed; break;      // a hole: no item, but a position
        case RingStatus::busy: backoff.pause(); break;  // a running push, writing
        case RingStatus::empty:
        case RingStatus::closed: return removed;
        case RingStatus::full: return removed;  // (pushes only)
      }
    }
    return removed;
  }

  const QueueConfig config_;
  [[no_unique_address]] const Policy policy_;
  const EvictionHandler on_evict_;
  Parking ring_;                    // the ring, and the threads waiting on it
  detail::QueueCounters counters_;  // written only on the overflow and shutdown paths
};
BQ_PADDED_END

}  // namespace bq
