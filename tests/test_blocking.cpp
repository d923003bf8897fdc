// Blocking waits park the thread: a consumer blocked on an empty queue, or a
// producer blocked on a full Block queue, for a second uses near-zero CPU. Each
// blocked thread measures its own CPU time with getrusage(RUSAGE_THREAD), or
// GetThreadTimes on Windows; the bound (100 ms of CPU per second blocked) is generous,
// so only spinning or yielding in a loop can break it, not a slow machine. Several
// waits run at once to keep the test short; each is checked on its own.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX  // No min and max macros (MinGW's libstdc++ defines it already).
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <sys/resource.h>
#endif

#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>
#if BQ_HAS_STOP_TOKEN
#include <stop_token>
#endif

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::Clock;
using bq_test::small_config;

constexpr double kMaxCpuMs = 100.0;
constexpr double kBlockedMs = 1000.0;

/// Returns the CPU time (user + system) the calling thread has used, in milliseconds.
double thread_cpu_ms() {
#if defined(_WIN32)
  FILETIME created{}, exited{}, kernel{}, user{};
  if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) {
    return std::numeric_limits<double>::quiet_NaN();  // Fails the CPU bound.
  }
  const auto ms = [](const FILETIME& ft) {  // In units of 100 ns.
    const auto ticks =
        (static_cast<unsigned long long>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
    return static_cast<double>(ticks) / 10'000.0;
  };
  return ms(kernel) + ms(user);
#else
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  const auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec) / 1000.0;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
#endif
}

struct Measurement {
  std::string what;
  double cpu_ms = -1.0;
  double wall_ms = -1.0;
  bool outcome_ok = false;  // The call ended the way this wait should end.
};

/// Runs each wait in its own thread, measuring that thread's CPU and wall time.
/// `after_start` runs in the calling thread once every waiter has started its clock.
std::vector<Measurement> measure(
    std::vector<std::pair<std::string, std::function<bool()>>> waits,
    const std::function<void()>& after_start = [] {}) {
  std::vector<Measurement> results(waits.size());
  std::vector<std::thread> threads;
  std::atomic<std::size_t> started{0};
  for (std::size_t i = 0; i < waits.size(); ++i) {
    threads.emplace_back([&, i] {
      Measurement& m = results[i];
      m.what = waits[i].first;
      const double cpu_before = thread_cpu_ms();
      const auto start = Clock::now();
      started.fetch_add(1);
      m.outcome_ok = waits[i].second();
      m.wall_ms = bq_test::ms_since(start);
      m.cpu_ms = thread_cpu_ms() - cpu_before;
    });
  }
  // Every waiter has read its start time: a close() after a second finds each of them
  // blocked for at least that second.
  while (started.load() < waits.size()) std::this_thread::sleep_for(1ms);
  after_start();
  for (auto& thread : threads) thread.join();
  return results;
}

void check(const std::vector<Measurement>& results) {
  for (const Measurement& m : results) {
    INFO(m.what << ": " << m.cpu_ms << " ms CPU in " << m.wall_ms << " ms");
    CHECK(m.outcome_ok);
    CHECK(m.wall_ms >= kBlockedMs);  // It really was blocked the whole second...
    CHECK(m.cpu_ms < kMaxCpuMs);     // ...and used almost no CPU meanwhile.
  }
}

}  // namespace

TEST_CASE("a consumer blocked for a second on an empty queue uses under 100 ms of CPU",
          "[blocking][slow][timing]") {
  bq::BoundedQueue<int, bq::Block> mpmc_timed{4};
  bq::BoundedQueue<int, bq::Block> mpmc_untimed{4};
  bq::BoundedQueue<int, bq::DropOldest> mpmc_until{4};
  bq::BoundedQueue<int, bq::Block, bq::Spsc> spsc_timed{4};
  bq::BoundedQueue<int, bq::Block, bq::Spsc> spsc_untimed{4};
  const auto results = measure(
      {{"mpmc pop_for(1s)", [&] { return !mpmc_timed.pop_for(1s).has_value(); }},
       {"mpmc pop_until(now + 1s)",
        [&] { return !mpmc_until.pop_until(Clock::now() + 1s).has_value(); }},
       {"spsc pop_for(1s)", [&] { return !spsc_timed.pop_for(1s).has_value(); }},
       // pop() waits until close(), which comes after a second.
       {"mpmc pop() until close", [&] { return mpmc_untimed.pop() == std::optional<int>(); }},
       {"spsc pop() until close", [&] { return spsc_untimed.pop() == std::optional<int>(); }}},
      [&] {
        std::this_thread::sleep_for(1s + 50ms);
        mpmc_untimed.close();
        spsc_untimed.close();
      });
  check(results);
}

TEST_CASE("a producer blocked for a second on a full queue uses under 100 ms of CPU",
          "[blocking][slow][timing]") {
  bq::BoundedQueue<int, bq::Block> mpmc_timed{2};
  bq::BoundedQueue<int, bq::Block> mpmc_config{small_config(2, 1000ms)};
  bq::BoundedQueue<int, bq::BlockThen<bq::DropOldest>> block_then{small_config(2, 1000ms)};
  bq::BoundedQueue<int, bq::Block> mpmc_untimed{small_config(2, 1h)};
  bq::BoundedQueue<int, bq::Block, bq::Spsc> spsc_timed{2};
  for (int i = 0; i < 2; ++i) {
    REQUIRE(mpmc_timed.push(i) == bq::PushResult::pushed);
    REQUIRE(mpmc_config.push(i) == bq::PushResult::pushed);
    REQUIRE(block_then.push(i) == bq::PushResult::pushed);
    REQUIRE(mpmc_untimed.push(i) == bq::PushResult::pushed);
    REQUIRE(spsc_timed.push(i) == bq::PushResult::pushed);
  }
  const auto results = measure(
      {{"mpmc push_for(1s)",
        [&] { return mpmc_timed.push_for(9, 1s) == bq::PushResult::timed_out; }},
       {"mpmc push() with block_timeout 1s",
        [&] { return mpmc_config.push(9) == bq::PushResult::timed_out; }},
       {"block_then<drop_oldest> push() with block_timeout 1s",
        [&] { return block_then.push(9) == bq::PushResult::replaced_oldest; }},
       {"spsc push_for(1s)",
        [&] { return spsc_timed.push_for(9, 1s) == bq::PushResult::timed_out; }},
       // An hour's timeout: only close(), after a second, ends this push.
       {"mpmc push() until close", [&] { return mpmc_untimed.push(9) == bq::PushResult::closed; }}},
      [&] {
        std::this_thread::sleep_for(1s + 50ms);
        mpmc_untimed.close();
      });
  check(results);
}

#if BQ_HAS_STOP_TOKEN
// Where a stop callback cannot be trusted to wake a sleeper (libstdc++ without a
// futex, e.g. MinGW: see detail/stop.hpp), a waiter with a stop token wakes every
// kStopPollInterval to look at its token instead; those wake-ups must stay cheap.
TEST_CASE("a waiter with a stop token blocked for a second uses under 100 ms of CPU",
          "[blocking][slow][timing][cancel]") {
  bq::BoundedQueue<int, bq::Block> mpmc_empty{small_config(2, 1h)};
  bq::BoundedQueue<int, bq::Block, bq::Spsc> spsc_empty{small_config(2, 1h)};
  bq::BoundedQueue<int, bq::Block> mpmc_full{small_config(1, 1h)};
  bq::BoundedQueue<int, bq::Block, bq::Spsc> spsc_full{small_config(1, 1h)};
  REQUIRE(mpmc_full.push(0) == bq::PushResult::pushed);
  REQUIRE(spsc_full.push(0) == bq::PushResult::pushed);
  std::stop_source stop;  // requested after a second: the only thing that ends these waits
  const auto results =
      measure({{"mpmc pop(stop)", [&] { return !mpmc_empty.pop(stop.get_token()).has_value(); }},
               {"spsc pop(stop)", [&] { return !spsc_empty.pop(stop.get_token()).has_value(); }},
               {"mpmc push(item, stop)",
                [&] { return mpmc_full.push(9, stop.get_token()) == bq::PushResult::cancelled; }},
               {"spsc push(item, stop)",
                [&] { return spsc_full.push(9, stop.get_token()) == bq::PushResult::cancelled; }}},
              [&] {
                std::this_thread::sleep_for(1s + 50ms);
                stop.request_stop();
              });
  check(results);
}
#endif
