// Bad input at the edges: capacity 0 and absurd capacities, bad configs, timeouts of zero,
// negative and maximal values in every representation, time points in the past and at the
// ends of the clock, pushing after close, and destroying a queue (after a clean shutdown,
// which is allowed, and while a thread waits in it, which debug builds turn into an abort).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <bq/bounded_queue.hpp>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

// The death test forks; ThreadSanitizer does not support threads in a forked child.
#if defined(__SANITIZE_THREAD__)
#define BQ_EDGES_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BQ_EDGES_TSAN 1
#endif
#endif
#if defined(__unix__) && !defined(BQ_EDGES_TSAN)
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#define BQ_EDGES_CAN_FORK 1
#endif

namespace {

using namespace std::chrono_literals;
using bq::PushResult;
using Clock = std::chrono::steady_clock;

/// Closes `q` after `delay` from another thread (joins on destruction).
template <class Q>
class CloseSoon {
 public:
  CloseSoon(Q& q, std::chrono::milliseconds delay)
      : thread_([&q, delay] {
          std::this_thread::sleep_for(delay);
          q.close();
        }) {}
  CloseSoon(const CloseSoon&) = delete;
  CloseSoon& operator=(const CloseSoon&) = delete;
  ~CloseSoon() { thread_.join(); }

 private:
  std::thread thread_;
};

std::string what_of(const std::exception& e) { return e.what(); }

using FloatMilliseconds = std::chrono::duration<float, std::milli>;
using Int32Days = std::chrono::duration<std::int32_t, std::ratio<86400>>;

}  // namespace

TEST_CASE("capacity 0 is rejected with invalid_argument naming the value", "[edges][capacity]") {
  try {
    bq::BoundedQueue<int, bq::DropOldest> q(0);
    FAIL("capacity 0 was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(what_of(e), Catch::Contains("0"));
  }
  bq::QueueConfig config;
  config.capacity = 0;
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Block>(config)), bq::ConfigError);
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Block>(config)), std::invalid_argument);  // its base
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::DropNewest, bq::Spsc>(0)), std::invalid_argument);
}

TEST_CASE("absurd capacities are rejected with length_error naming the value",
          "[edges][capacity]") {
  for (std::size_t capacity :
       {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() / 2,
        std::size_t{1} << 62, (std::size_t{1} << 40) + 1,
        std::numeric_limits<std::size_t>::max() / 16 + 1}) {
    INFO("capacity " << capacity);
    try {
      bq::BoundedQueue<std::uint64_t, bq::DropOldest> q(capacity);
      FAIL("accepted");
    } catch (const std::length_error& e) {
      CHECK_THAT(what_of(e), Catch::Contains(std::to_string(capacity)));
    }
    CHECK_THROWS_AS((bq::BoundedQueue<std::uint64_t, bq::DropNewest, bq::Spsc>(capacity)),
                    std::length_error);
    // Through a config, and for an element type whose constructor counts: nothing was built.
    bq::QueueConfig config;
    config.capacity = capacity;
    CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Dynamic>(config)), std::length_error);
    bq_test::Lifetimes::reset();
    CHECK_THROWS_AS((bq::BoundedQueue<bq_test::Tracked, bq::Block>(config)), std::length_error);
    CHECK(bq_test::Lifetimes::constructed() == 0);
  }
}

TEST_CASE("a capacity the machine cannot allocate is a length_error, not a crash",
          "[edges][capacity]") {
  // 2^40 slots pass the static limit but need terabytes. Only where the kernel refuses
  // such a request outright (overcommit mode 0 or 2), and not under a sanitizer, whose
  // allocator aborts on huge requests instead of throwing.
  std::ifstream overcommit("/proc/sys/vm/overcommit_memory");
  int mode = -1;
  overcommit >> mode;
  if (BQ_TEST_SANITIZED || (mode != 0 && mode != 2)) {
    WARN("skipped: overcommit mode " << mode << ", sanitized " << BQ_TEST_SANITIZED);
    return;
  }
  struct Big {
    char bytes[4096];
  };
  CHECK_THROWS_AS((bq::BoundedQueue<Big, bq::DropOldest>(std::size_t{1} << 40)), std::length_error);
}

TEST_CASE("bad configs are rejected before anything is allocated", "[edges][config]") {
  bq::QueueConfig config;
  config.block_timeout = -1ms;
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Block>(config)), bq::ConfigError);
  config = {};
  config.policy = static_cast<bq::OverflowPolicy>(42);
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Dynamic>(config)), bq::ConfigError);
}

TEMPLATE_TEST_CASE("zero, negative and past timeouts never wait, even on a long default",
                   "[edges][timeouts][policy]", bq::Block, bq::BlockThen<bq::DropNewest>) {
  // The default block timeout is an hour: had any call below waited, the watchdog fires.
  bq_test::Watchdog watchdog("zero/negative/past timeouts", std::chrono::seconds(120));
  bq::BoundedQueue<int, TestType> q(bq_test::small_config(1, std::chrono::hours(1)));
  REQUIRE(q.push(1) == PushResult::pushed);
  const PushResult full =
      std::is_same_v<TestType, bq::Block> ? PushResult::timed_out : PushResult::dropped_newest;
  CHECK(q.push_for(2, 0ms) == full);
  CHECK(q.push_for(2, -1ms) == full);
  CHECK(q.push_for(2, std::chrono::nanoseconds::min()) == full);
  CHECK(q.push_for(2, std::chrono::hours::min()) == full);
  CHECK(q.push_for(2, std::chrono::duration<double>(-1e300)) == full);
  CHECK(q.push_for(2, -std::chrono::duration<double>::max()) == full);
  CHECK(q.push_for(2, std::chrono::duration<double>(-INFINITY)) == full);
  CHECK(q.push_until(2, Clock::now()) == full);
  CHECK(q.push_until(2, Clock::now() - 1h) == full);
  CHECK(q.push_until(2, Clock::time_point::min()) == full);
  CHECK(q.push_until(2, std::chrono::time_point<Clock, std::chrono::seconds>::min()) == full);
  CHECK(q.push_until(2, std::chrono::time_point<Clock, std::chrono::duration<double>>(
                            std::chrono::duration<double>(-1e300))) == full);
  CHECK(q.metrics().size == 1);

  CHECK(q.try_pop() == 1);
  CHECK_FALSE(q.pop_for(0ms).has_value());
  CHECK_FALSE(q.pop_for(-1h).has_value());
  CHECK_FALSE(q.pop_for(std::chrono::nanoseconds::min()).has_value());
  CHECK_FALSE(q.pop_for(std::chrono::duration<double>(-INFINITY)).has_value());
  CHECK_FALSE(q.pop_until(Clock::now()).has_value());
  CHECK_FALSE(q.pop_until(Clock::time_point::min()).has_value());
  CHECK_FALSE(q.pop_until(std::chrono::time_point<Clock, std::chrono::hours>::min()).has_value());
}

TEST_CASE("a NaN timeout or time point never waits (and is not undefined behaviour)",
          "[edges][timeouts]") {
  // NaN compares false with everything; a conversion of it to the clock's integer ticks is
  // undefined (UBSan reports it). It must be treated like zero: return at once.
  bq_test::Watchdog watchdog("NaN timeouts", std::chrono::seconds(120));
  const std::chrono::duration<double> nan_seconds(std::nan(""));
  const std::chrono::time_point<Clock, std::chrono::duration<double>> nan_time(nan_seconds);
  bq::BoundedQueue<int, bq::Block> q(bq_test::small_config(1, std::chrono::hours(1)));
  REQUIRE(q.push(1) == PushResult::pushed);
  CHECK(q.push_for(2, nan_seconds) == PushResult::timed_out);
  CHECK(q.push_until(2, nan_time) == PushResult::timed_out);
  CHECK(q.try_pop() == 1);
  CHECK_FALSE(q.pop_for(nan_seconds).has_value());
  CHECK_FALSE(q.pop_until(nan_time).has_value());
}

TEST_CASE("a zero block_timeout makes push() of a blocking policy return at once",
          "[edges][timeouts]") {
  bq_test::Watchdog watchdog("zero block_timeout", std::chrono::seconds(120));
  bq::BoundedQueue<int, bq::Block> q(bq_test::small_config(1, 0ms));
  REQUIRE(q.push(1) == PushResult::pushed);
  CHECK(q.push(2) == PushResult::timed_out);
  CHECK(q.emplace(2) == PushResult::timed_out);
  CHECK(q.metrics().timed_out == 2);
}

TEMPLATE_TEST_CASE("maximal timeouts of any representation wait instead of overflowing",
                   "[edges][timeouts]", std::chrono::nanoseconds, std::chrono::microseconds,
                   std::chrono::milliseconds, std::chrono::seconds, std::chrono::hours,
                   std::chrono::duration<double>, FloatMilliseconds, Int32Days) {
  // An overflowing deadline lands in the past and returns at once (timed_out / nullopt);
  // a correct one waits until close() (closed / nullopt after close).
  bq_test::Watchdog watchdog("maximal timeouts", std::chrono::seconds(120));
  const auto forever = TestType::max();
  {
    bq::BoundedQueue<int, bq::Block> q(1);
    REQUIRE(q.push(1) == PushResult::pushed);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK(q.push_for(2, forever) == PushResult::closed);
  }
  {
    bq::BoundedQueue<int, bq::Block> q(1);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK_FALSE(q.pop_for(forever).has_value());
    CHECK(q.is_closed());
  }
  {
    // A push that waits long but finds room when a pop makes it.
    bq::BoundedQueue<int, bq::Block> q(1);
    REQUIRE(q.push(1) == PushResult::pushed);
    std::thread popper([&] {
      std::this_thread::sleep_for(30ms);
      (void)q.try_pop();
    });
    CHECK(q.push_for(2, forever) == PushResult::pushed);
    popper.join();
  }
  if constexpr (std::is_floating_point_v<typename TestType::rep>) {
    bq::BoundedQueue<int, bq::Block> q(1);
    REQUIRE(q.push(1) == PushResult::pushed);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK(q.push_for(2, TestType(std::numeric_limits<typename TestType::rep>::infinity())) ==
          PushResult::closed);
  }
}

TEST_CASE("time points at the far end of the clock wait instead of overflowing",
          "[edges][timeouts]") {
  bq_test::Watchdog watchdog("far time points", std::chrono::seconds(120));
  {
    bq::BoundedQueue<int, bq::Block> q(1);
    REQUIRE(q.push(1) == PushResult::pushed);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK(q.push_until(2, Clock::time_point::max()) == PushResult::closed);
  }
  {
    bq::BoundedQueue<int, bq::Block> q(1);
    REQUIRE(q.push(1) == PushResult::pushed);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK(q.push_until(2, std::chrono::time_point<Clock, std::chrono::hours>::max()) ==
          PushResult::closed);
  }
  {
    bq::BoundedQueue<int, bq::Block> q(1);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK_FALSE(q.pop_until(std::chrono::time_point<Clock, std::chrono::duration<double>>::max())
                    .has_value());
  }
  {
    bq::QueueConfig config;
    config.capacity = 1;
    config.block_timeout = std::chrono::milliseconds::max();
    bq::BoundedQueue<int, bq::Block> q(config);
    REQUIRE(q.push(1) == PushResult::pushed);
    CloseSoon<decltype(q)> closer(q, 30ms);
    CHECK(q.push(2) == PushResult::closed);  // the config's "forever" did not overflow
  }
}

TEMPLATE_TEST_CASE("after close every push fails, keeps its item and is counted",
                   "[edges][close][policy]", bq::DropOldest, bq::DropNewest, bq::Block,
                   bq::BlockThen<bq::DropOldest>) {
  using Ptr = std::unique_ptr<int>;
  bq::BoundedQueue<Ptr, TestType> q(bq_test::small_config(2, 1h));
  REQUIRE(q.push(std::make_unique<int>(1)) == PushResult::pushed);
  q.close();
  q.close();  // idempotent
  CHECK(q.is_closed());

  Ptr item = std::make_unique<int>(2);
  CHECK(q.push(std::move(item)) == PushResult::closed);
  CHECK(q.emplace(std::move(item)) == PushResult::closed);
  CHECK(q.push_for(std::move(item), 1h) == PushResult::closed);
  CHECK(q.push_for(std::move(item), 0ms) == PushResult::closed);
  CHECK(q.push_until(std::move(item), Clock::time_point::max()) == PushResult::closed);
  CHECK_FALSE(q.try_push(std::move(item)));
  CHECK_FALSE(q.try_emplace(std::move(item)));
  auto forced = q.force_push(std::move(item));
  CHECK(forced.result == PushResult::closed);
  CHECK_FALSE(forced.evicted.has_value());
  REQUIRE(item != nullptr);  // never moved from
  CHECK(*item == 2);

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.rejected_closed == 6);  // try_push/try_emplace count nothing
  CHECK(m.pushed == 1);
  CHECK(m.dropped() == 0);
  // Pops drain what is left, then report closed-and-empty at once, every time.
  auto first = q.pop();
  REQUIRE(first);
  CHECK(**first == 1);
  CHECK_FALSE(q.pop().has_value());
  CHECK_FALSE(q.pop_for(1h).has_value());
  CHECK_FALSE(q.pop_until(Clock::time_point::max()).has_value());
  CHECK_FALSE(q.try_pop().has_value());
  CHECK(q.empty());
}

TEST_CASE("close wakes a push waiting with an endless timeout; it keeps its item",
          "[edges][close][wait]") {
  bq_test::Watchdog watchdog("close wakes pushers", std::chrono::seconds(120));
  bq::BoundedQueue<std::unique_ptr<int>, bq::Block> q(1);
  REQUIRE(q.push(std::make_unique<int>(1)) == PushResult::pushed);
  auto item = std::make_unique<int>(2);
  CloseSoon<decltype(q)> closer(q, 30ms);
  CHECK(q.push_for(std::move(item), std::chrono::hours::max()) == PushResult::closed);
  REQUIRE(item != nullptr);
  CHECK(*item == 2);
  CHECK(q.metrics().rejected_closed == 1);
}

TEMPLATE_TEST_CASE("positions wrap around many laps at tiny and odd capacities",
                   "[edges][capacity]", bq::DropOldest, bq::DropNewest) {
  for (std::size_t capacity : {1U, 2U, 3U, 5U, 7U}) {
    bq::BoundedQueue<std::uint64_t, TestType> q(capacity);
    std::uint64_t next_in = 0;
    std::uint64_t next_out = 0;
    for (int round = 0; round < 20000; ++round) {
      const auto burst = static_cast<std::uint64_t>(round % static_cast<int>(capacity) + 1);
      for (std::uint64_t i = 0; i < burst; ++i) REQUIRE(q.try_push(next_in++));
      for (std::uint64_t i = 0; i < burst; ++i) REQUIRE(q.try_pop() == next_out++);
    }
    CHECK_FALSE(q.try_pop().has_value());
    const bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == next_in);
    CHECK(m.popped == next_out);
    CHECK(m.high_watermark == capacity);
  }
}

TEST_CASE("a queue may be destroyed once close() has woken every waiter and they returned",
          "[edges][close][lifetime]") {
  bq_test::Watchdog watchdog("destroy after shutdown", std::chrono::seconds(120));
  auto q = std::make_unique<bq::BoundedQueue<int, bq::Block>>(1);
  REQUIRE(q->push(1) == PushResult::pushed);
  std::atomic<int> returned{0};
  std::thread pusher([&] {
    (void)q->push_for(2, 1h);
    ++returned;
  });
  auto empty = std::make_unique<bq::BoundedQueue<int, bq::Block>>(1);
  std::thread popper([&] {
    (void)empty->pop();
    ++returned;
  });
  std::this_thread::sleep_for(10ms);
  q->close();
  empty->close();
  pusher.join();
  popper.join();
  CHECK(returned == 2);
  q.reset();      // no thread is inside: allowed
  empty.reset();  // (and debug builds' waiter check stays quiet)
}

#if defined(BQ_EDGES_CAN_FORK) && !defined(NDEBUG)
TEST_CASE("destroying a queue while a thread waits in it aborts in debug builds",
          "[edges][lifetime][debug]") {
  // In a child process: a thread waits in pop(), the queue is destroyed under it. The
  // debug-build check must abort; exit code 3 means it did not. Retried, since the child
  // cannot see when its thread has gone to sleep.
  int aborted = 0;
  for (int attempt = 0; attempt < 3 && aborted == 0; ++attempt) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Catch2's own SIGABRT handler would report a failure from the child: restore the
      // default, and keep the expected assertion message out of the test log.
      std::signal(SIGABRT, SIG_DFL);
      if (std::freopen("/dev/null", "w", stderr) == nullptr) _exit(4);
      auto* q = new bq::BoundedQueue<int, bq::Block>(1);
      std::thread waiter([q] { (void)q->pop(); });
      waiter.detach();
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
      delete q;  // must abort here
      _exit(3);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) aborted = 1;
  }
  CHECK(aborted == 1);
}
#endif

namespace {

/// The high watermark's bounds (see the test below) for one queue type.
template <class Policy, class Concurrency>
void check_high_watermark_bounds() {
  for (std::size_t capacity : {1U, 7U, 64U, 65U, 100U, 1000U, 4096U}) {
    const std::size_t slack = capacity <= 64 ? 0 : (capacity + 63) / 64;
    bq::BoundedQueue<std::uint32_t, Policy, Concurrency> q(capacity);
    std::uint32_t next = 0;
    // Peaks of many sizes up to and including capacity, from shifting ring positions.
    std::vector<std::size_t> peaks;
    for (std::size_t peak = 1; peak < capacity; peak += peak < 70 ? 1 : 37) peaks.push_back(peak);
    peaks.push_back(capacity);
    for (std::size_t peak : peaks) {
      q.reset_high_watermark();
      for (std::size_t i = 0; i < peak; ++i) REQUIRE(q.try_push(next++));
      while (q.try_pop()) {
      }
      const std::size_t reported = q.metrics().high_watermark;
      INFO("capacity " << capacity << ", true peak " << peak << ", reported " << reported);
      CHECK(reported <= peak);
      CHECK(reported + slack >= peak);
    }
    // Exact once a push found the queue full (here a refused try_push).
    q.reset_high_watermark();
    for (std::size_t i = 0; i < capacity; ++i) REQUIRE(q.try_push(next++));
    CHECK_FALSE(q.try_push(next++));
    while (q.try_pop()) {
    }
    CHECK(q.metrics().high_watermark == capacity);
    // Reset: the watermark becomes the current size.
    for (int i = 0; i < 3 && static_cast<std::size_t>(i) < capacity; ++i) (void)q.try_push(next++);
    q.reset_high_watermark();
    CHECK(q.metrics().high_watermark == std::min<std::size_t>(3, capacity));
  }
}

}  // namespace

TEMPLATE_TEST_CASE(
    "the high watermark is exact up to capacity 64 and above it at most "
    "capacity/64 below the true peak, never above it, in both concurrency modes",
    "[edges][metrics][high_watermark]", bq::DropOldest, bq::DropNewest, bq::Block) {
  SECTION("Mpmc") { check_high_watermark_bounds<TestType, bq::Mpmc>(); }
  // With a policy that never evicts, a Spsc queue has its own ring and its own sampling.
  SECTION("Spsc") { check_high_watermark_bounds<TestType, bq::Spsc>(); }
}
