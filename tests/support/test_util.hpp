// Small helpers shared by the core tests: the list of policies that template tests
// run over, user-written custom policies, a watchdog that turns a hang into a
// clear failure, and knobs for sanitizer builds.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include <bq/bounded_queue.hpp>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define BQ_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || \
    __has_feature(memory_sanitizer)
#define BQ_TEST_SANITIZED 1
#endif
#endif
#ifndef BQ_TEST_SANITIZED
#define BQ_TEST_SANITIZED 0
#endif

namespace bq_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A user-written policy: refuses the new item like DropNewest, counts how often the
/// queue was full, and remembers the capacity of the config it was built from.
class CountingDropNewest {
 public:
  static constexpr bool may_evict = false;
  CountingDropNewest() = default;
  explicit CountingDropNewest(const bq::QueueConfig& config) : capacity_seen_(config.capacity) {}
  bq::FullAction on_full(bool /*deadline_passed*/) const noexcept {
    calls.fetch_add(1, std::memory_order_relaxed);
    return bq::FullAction::drop_newest;
  }
  std::size_t capacity_seen() const noexcept { return capacity_seen_; }

  static inline std::atomic<long> calls{0};

 private:
  std::size_t capacity_seen_ = 0;
};

/// A user-written policy with no may_evict member (the queue must assume it may
/// evict) that evicts the oldest item.
struct EvictNoTraits {
  bq::FullAction on_full(bool /*deadline_passed*/) const noexcept {
    return bq::FullAction::evict_oldest;
  }
};

/// A user-written policy that always answers `wait`, even once the deadline passed:
/// the queue treats that as `time_out`, so it behaves like Block.
struct StubbornWait {
  static constexpr bool may_evict = false;
  bq::FullAction on_full(bool /*deadline_passed*/) const noexcept { return bq::FullAction::wait; }
};

/// Every built-in policy plus user-written ones: template tests run over this list.
using AllPolicies = std::tuple<bq::DropOldest, bq::DropNewest, bq::Block,
                               bq::BlockThen<bq::DropOldest>, bq::BlockThen<bq::DropNewest>,
                               bq::Dynamic, CountingDropNewest, EvictNoTraits, StubbornWait>;

/// A (Policy, Concurrency) pair, for template tests that run over both modes.
template <class Policy, class Concurrency>
struct PolicyMode {
  using policy = Policy;
  using concurrency = Concurrency;
};

/// What a push into a full queue does under Policy, once any wait has ended.
enum class WhenFull { evicts_oldest, drops_newest, times_out };

template <class Policy>
constexpr WhenFull when_full() {
  if constexpr (std::is_same_v<Policy, bq::DropOldest> || std::is_same_v<Policy, bq::Dynamic> ||
                std::is_same_v<Policy, bq::BlockThen<bq::DropOldest>> ||
                std::is_same_v<Policy, EvictNoTraits>) {
    return WhenFull::evicts_oldest;  // Dynamic: a default QueueConfig says drop_oldest.
  } else if constexpr (std::is_same_v<Policy, bq::DropNewest> ||
                       std::is_same_v<Policy, bq::BlockThen<bq::DropNewest>> ||
                       std::is_same_v<Policy, CountingDropNewest>) {
    return WhenFull::drops_newest;
  } else {
    return WhenFull::times_out;
  }
}

/// True if a push into a full queue waits (up to its deadline) under Policy.
template <class Policy>
constexpr bool waits_when_full() {
  return std::is_same_v<Policy, bq::Block> || std::is_same_v<Policy, StubbornWait> ||
         std::is_same_v<Policy, bq::BlockThen<bq::DropOldest>> ||
         std::is_same_v<Policy, bq::BlockThen<bq::DropNewest>>;
}

/// The PushResult a push into a full queue returns under Policy.
template <class Policy>
constexpr bq::PushResult full_result() {
  switch (when_full<Policy>()) {
    case WhenFull::evicts_oldest: return bq::PushResult::replaced_oldest;
    case WhenFull::drops_newest: return bq::PushResult::dropped_newest;
    case WhenFull::times_out: break;
  }
  return bq::PushResult::timed_out;
}

/// A config with the given capacity and a short block timeout, so tests of waiting
/// policies stay fast.
inline bq::QueueConfig small_config(std::size_t capacity,
                                    std::chrono::milliseconds block_timeout = 20ms) {
  bq::QueueConfig config;
  config.capacity = capacity;
  config.block_timeout = block_timeout;
  return config;
}

/// Releases `count` threads together, round after round (like std::barrier's
/// arrive_and_wait(); one round is std::latch's). Not std::latch or std::barrier:
/// libstdc++ 12 waits on them with std::atomic::wait, which loses wake-ups where it has
/// no futex (MinGW: a test's starting latch hung the main thread, under wine, about
/// once in 2000 runs). The generation tells a thread woken for its own round from a
/// spurious wake-up and from the next round's arrivals.
class RoundBarrier {
 public:
  explicit RoundBarrier(std::size_t count) : count_(count) {}
  RoundBarrier(const RoundBarrier&) = delete;
  RoundBarrier& operator=(const RoundBarrier&) = delete;

  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  const std::size_t count_;
  std::size_t arrived_ = 0;
  std::uint64_t generation_ = 0;
};

/// Calls std::abort with a message if not destroyed (or disarmed) within `limit`:
/// a lost wake-up then fails the run loudly instead of hanging it.
class Watchdog {
 public:
  explicit Watchdog(std::string what, std::chrono::seconds limit = std::chrono::seconds(60))
      : what_(std::move(what)), thread_([this, limit] { run(limit); }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
      std::fprintf(stderr,
                   "bq_test watchdog: '%s' still running after %llds (deadlock or lost wake-up?)\n",
                   what_.c_str(), static_cast<long long>(limit.count()));
      std::abort();
    }
  }

  std::string what_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Closes `queue` after `delay` unless destroyed first: a push or pop that wrongly
/// waits forever then returns `closed`/nullopt and the test's checks fail.
template <class Queue>
class CloseAfter {
 public:
  CloseAfter(Queue& queue, std::chrono::milliseconds delay)
      : thread_([this, &queue, delay] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, delay, [this] { return done_; })) queue.close();
        }) {}
  CloseAfter(const CloseAfter&) = delete;
  CloseAfter& operator=(const CloseAfter&) = delete;
  ~CloseAfter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Multiplier for stress-test sizes: env BQ_STRESS_SCALE (default 1), divided by 4
/// under sanitizers (never below 1 item per thread).
inline double stress_scale() {
  double scale = 1.0;
  if (const char* env = std::getenv("BQ_STRESS_SCALE")) {
    const double parsed = std::atof(env);
    if (parsed > 0.0) scale = parsed;
  }
  return BQ_TEST_SANITIZED ? scale / 4.0 : scale;
}

/// Returns `n * stress_scale()`, at least 1.
inline std::uint64_t scaled(std::uint64_t n) {
  const auto value = static_cast<std::uint64_t>(static_cast<double>(n) * stress_scale());
  return value == 0 ? 1 : value;
}

/// Milliseconds elapsed since `start`, as a double.
inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// How long a thread woken by close(), a stop request or a discard may take to return on a
/// loaded machine. Generous on purpose: the bound only catches a wait that was never ended.
inline constexpr double kPromptMs = 2000.0;

/// A move-only item, for the tests that check an item is (or is not) moved from.
using Ptr = std::unique_ptr<int>;
inline Ptr make(int value) { return std::make_unique<int>(value); }

/// A well-mixed 64-bit hash (splitmix64 finalizer): checksums of hashes catch
/// swapped or duplicated items that plain sums would miss.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace bq_test
