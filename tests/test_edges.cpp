// Bad input at the edges: capacity 0, absurd capacities and ones the machine cannot
// allocate, NaN timeouts, destroying a queue (after a clean shutdown, which is allowed, and
// while a thread waits in it, which debug builds turn into an abort). Zero, negative and
// huge timeouts of every representation are tested in test_timeouts.cpp, pushing after close
// in test_close.cpp, the high watermark's bounds in test_metrics_core.cpp.
#include <catch2/catch.hpp>

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

std::string what_of(const std::exception& e) { return e.what(); }

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

TEST_CASE("a NaN timeout or time point times out like a zero one (and is not undefined behaviour)",
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

TEST_CASE("a queue may be destroyed once close() has woken every waiter and they returned",
          "[edges][close][lifetime][timing]") {
  bq_test::Watchdog watchdog("destroy after shutdown", std::chrono::seconds(120));
  auto q = std::make_unique<bq::BoundedQueue<int, bq::Block>>(1);
  REQUIRE(q->push(1) == PushResult::pushed);
  PushResult pushed = PushResult::pushed;
  std::thread pusher([&] { pushed = q->push_for(2, 1h); });
  auto empty = std::make_unique<bq::BoundedQueue<int, bq::Block>>(1);
  std::optional<int> popped = 0;
  std::thread popper([&] { popped = empty->pop(); });
  std::this_thread::sleep_for(10ms);
  q->close();
  empty->close();
  pusher.join();
  popper.join();
  CHECK(pushed == PushResult::closed);  // each returned because close() woke it
  CHECK_FALSE(popped.has_value());
  q.reset();      // no thread is inside: allowed
  empty.reset();  // (and debug builds' waiter check stays quiet)
}

#if defined(BQ_EDGES_CAN_FORK) && !defined(NDEBUG)
TEST_CASE("destroying a queue while a thread waits in it aborts in debug builds",
          "[edges][lifetime][debug][timing]") {
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
