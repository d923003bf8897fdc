// API additions of issue 13, part 4: emplace_for / emplace_until; push_until,
// pop_until and emplace_until take any clock's time point (converted to the queue's
// clock, and never returning before that clock reaches the deadline, as
// std::condition_variable::wait_until); the QueuePolicy concept, checked on good and
// bad policies; PushResult::cancelled's name.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::AllPolicies;
using bq_test::Clock;
using bq_test::ms_since;
using bq_test::small_config;
using bq_test::Watchdog;

using bq_test::Ptr;

/// A user-defined clock that runs at half the speed of steady_clock: a deadline 50ms
/// away on it is 100ms away in steady time, so a queue that judged the deadline by
/// its own clock alone would return early.
struct HalfSpeedClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<HalfSpeedClock, duration>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    return time_point(std::chrono::duration_cast<duration>(Clock::now().time_since_epoch()) / 2);
  }
};
static_assert(HalfSpeedClock::is_steady);

// The concept: the built-in policies and the test suite's own are policies.
static_assert(bq::QueuePolicy<bq::DropOldest>);
static_assert(bq::QueuePolicy<bq::DropNewest>);
static_assert(bq::QueuePolicy<bq::Block>);
static_assert(bq::QueuePolicy<bq::BlockThen<bq::DropOldest>>);
static_assert(bq::QueuePolicy<bq::Dynamic>);
static_assert(bq::QueuePolicy<bq_test::CountingDropNewest>);
static_assert(bq::QueuePolicy<bq_test::EvictNoTraits>);
static_assert(bq::QueuePolicy<bq_test::StubbornWait>);

// ...and these are not (each would fail at the static_assert in BoundedQueue).
struct NoOnFull {};
struct ReturnsBool {
  bool on_full(bool) const noexcept { return true; }
};
struct NonConstOnFull {
  bq::FullAction on_full(bool) noexcept { return bq::FullAction::drop_newest; }
};
struct NoArgument {
  bq::FullAction on_full() const noexcept { return bq::FullAction::drop_newest; }
};
struct RuntimeMayEvict {
  static inline bool may_evict = false;  // not a constant: the queue cannot use it
  bq::FullAction on_full(bool) const noexcept { return bq::FullAction::drop_newest; }
};
struct ConstexprMayEvict {
  static constexpr bool may_evict = false;
  bq::FullAction on_full(bool) const noexcept { return bq::FullAction::drop_newest; }
};
static_assert(!bq::QueuePolicy<NoOnFull>);
static_assert(!bq::QueuePolicy<ReturnsBool>);
static_assert(!bq::QueuePolicy<NonConstOnFull>);
static_assert(!bq::QueuePolicy<NoArgument>);
static_assert(!bq::QueuePolicy<RuntimeMayEvict>);
static_assert(bq::QueuePolicy<ConstexprMayEvict>);
static_assert(!bq::QueuePolicy<int>);
static_assert(!bq::QueuePolicy<bq::Block&>);

// Policies that are policies by the concept but answer what they may not.
struct AnswersNoFullAction {
  static constexpr bool may_evict = false;
  bq::FullAction on_full(bool) const noexcept { return static_cast<bq::FullAction>(42); }
};
struct EvictsDespiteMayEvictFalse {
  static constexpr bool may_evict = false;
  bq::FullAction on_full(bool) const noexcept { return bq::FullAction::evict_oldest; }
};

/// Every push form on a full queue of `Policy` throws std::logic_error whose
/// message contains `why`, leaves the item with the caller, and counts nothing.
template <class Policy, class Concurrency>
void check_every_push_throws(const std::string& why) {
  bq::BoundedQueue<Ptr, Policy, Concurrency> q{small_config(1, 5ms)};
  REQUIRE(q.push(std::make_unique<int>(1)) == bq::PushResult::pushed);
  Ptr item = std::make_unique<int>(2);
  CHECK_THROWS_WITH(q.push(std::move(item)), Catch::Contains(why));
  CHECK(item);
  CHECK_THROWS_WITH(q.push_for(std::move(item), 5ms), Catch::Contains(why));
  CHECK(item);
  CHECK_THROWS_WITH(q.emplace(std::make_unique<int>(3)), Catch::Contains(why));
  std::vector<Ptr> items;
  items.push_back(std::move(item));
  CHECK_THROWS_WITH(q.push_range(std::move(items)), Catch::Contains(why));
  CHECK(items.front());
  const bq::QueueMetrics metrics = q.metrics();
  CHECK(metrics.pushed == 1);
  CHECK(metrics.size == 1);
  CHECK(metrics.dropped_newest + metrics.dropped_oldest + metrics.timed_out == 0);
  auto first = q.try_pop();
  REQUIRE(first);
  CHECK(**first == 1);
}

}  // namespace

TEMPLATE_TEST_CASE(
    "a policy whose answer is not one it may give makes the push throw, naming it, and keeps "
    "the item",
    "[api][policy]", bq::Mpmc, bq::Spsc) {
  Watchdog watchdog("a policy answering what it may not");
  check_every_push_throws<AnswersNoFullAction, TestType>(
      "bq: the policy's on_full returned FullAction 42, which is none of evict_oldest, "
      "drop_newest, wait and time_out");
  check_every_push_throws<EvictsDespiteMayEvictFalse, TestType>(
      "bq: the policy's on_full returned evict_oldest, but its may_evict is false");
}

TEST_CASE("PushResult::cancelled has a name and is not accepted", "[api][policy]") {
  STATIC_REQUIRE(bq::to_string(bq::PushResult::cancelled) == "cancelled");
  STATIC_REQUIRE_FALSE(bq::accepted(bq::PushResult::cancelled));
}

TEMPLATE_LIST_TEST_CASE("emplace_for and emplace_until apply the policy when full",
                        "[api][policy][timing]", AllPolicies) {
  bq::BoundedQueue<Ptr, TestType> q{small_config(1, 1h)};
  CHECK(q.emplace_for(1h, new int(1)) == bq::PushResult::pushed);
  Ptr spare = std::make_unique<int>(2);
  const auto expected = bq_test::full_result<TestType>();
  const auto result = q.emplace_for(5ms, std::move(spare));
  CHECK(result == expected);
  CHECK(bq::accepted(result) == !spare);  // args are used only if the item is queued
  if (!spare) spare = std::make_unique<int>(3);
  const auto start = std::chrono::system_clock::now();
  const auto until = q.emplace_until(start + 5ms, std::move(spare));
  CHECK(until == expected);
  if (expected == bq::PushResult::timed_out) {
    CHECK(std::chrono::system_clock::now() >= start + 5ms);
    CHECK(spare);
  }
  CHECK(q.emplace_until(Clock::now() + 5ms, std::make_unique<int>(4)) == expected);
  auto item = q.try_pop();
  REQUIRE(item);
  CHECK(q.emplace_until(HalfSpeedClock::now() + 1h, new int(5)) == bq::PushResult::pushed);
}

TEMPLATE_TEST_CASE("pop_until with another clock never returns before that clock's deadline",
                   "[api][timing]", bq::Mpmc, bq::Spsc) {
  bq::BoundedQueue<int, bq::Block, TestType> q{small_config(2, 1h)};

  const auto system_deadline = std::chrono::system_clock::now() + 30ms;
  CHECK_FALSE(q.pop_until(system_deadline).has_value());
  CHECK(std::chrono::system_clock::now() >= system_deadline);

  const auto start = Clock::now();
  const auto half_deadline = HalfSpeedClock::now() + 25ms;  // 50ms of steady time
  CHECK_FALSE(q.pop_until(half_deadline).has_value());
  CHECK(HalfSpeedClock::now() >= half_deadline);
  CHECK(ms_since(start) >= 50.0);

  // Passed and extreme deadlines: at once, and never.
  CHECK_FALSE(q.pop_until(std::chrono::system_clock::now() - 1h).has_value());
  CHECK_FALSE(q.pop_until(std::chrono::system_clock::time_point::min()).has_value());
  CHECK_FALSE(q.pop_until(HalfSpeedClock::time_point::min()).has_value());
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  auto item = q.pop_until(std::chrono::system_clock::time_point::max());
  REQUIRE(item);
  CHECK(*item == 1);
  {
    Watchdog watchdog("pop_until(system_clock max)");
    bq_test::CloseAfter<decltype(q)> closer(q, 100ms);
    CHECK_FALSE(q.pop_until(std::chrono::system_clock::time_point::max()).has_value());
  }
}

TEMPLATE_TEST_CASE("pop_until with another clock returns an item pushed meanwhile", "[api][timing]",
                   bq::Mpmc, bq::Spsc) {
  bq::BoundedQueue<int, bq::Block, TestType> q{small_config(2, 1h)};
  Watchdog watchdog("pop_until with system_clock");
  std::thread pusher([&] {
    std::this_thread::sleep_for(20ms);
    (void)q.push(7);
  });
  auto item = q.pop_until(std::chrono::system_clock::now() + 1h);
  pusher.join();
  REQUIRE(item);
  CHECK(*item == 7);
}

TEMPLATE_TEST_CASE("push_until with another clock times out once that clock's deadline passed",
                   "[api][timing]", bq::Mpmc, bq::Spsc) {
  bq::BoundedQueue<int, bq::Block, TestType> q{small_config(1, 1h)};
  REQUIRE(q.push(1) == bq::PushResult::pushed);

  const auto system_deadline = std::chrono::system_clock::now() + 30ms;
  CHECK(q.push_until(2, system_deadline) == bq::PushResult::timed_out);
  CHECK(std::chrono::system_clock::now() >= system_deadline);

  const auto start = Clock::now();
  const auto half_deadline = HalfSpeedClock::now() + 25ms;
  int item = 3;
  CHECK(q.push_until(std::move(item), half_deadline) == bq::PushResult::timed_out);
  CHECK(HalfSpeedClock::now() >= half_deadline);
  CHECK(ms_since(start) >= 50.0);
  // One timed_out per push, however many sleeps the other clock took.
  CHECK(q.metrics().timed_out == 2);

  CHECK(q.push_until(4, std::chrono::system_clock::time_point::min()) == bq::PushResult::timed_out);
  {
    Watchdog watchdog("push_until(system_clock max)");
    bq_test::CloseAfter<decltype(q)> closer(q, 100ms);
    CHECK(q.push_until(5, std::chrono::system_clock::time_point::max()) == bq::PushResult::closed);
  }
}

// The conversion behind those deadlines: up to the clock's unit, saturating, and for a
// clock counting in floating point, to nearest (rounding "up" there added a whole unit to
// any rounding error: 1001ms became 2.001 s, and a deadline ran a second late).
TEST_CASE("a deadline converts to its clock's unit rounding up, saturating, never a unit late",
          "[api][timing]") {
  using bq::detail::saturating_ceil;
  using DoubleSeconds = std::chrono::duration<double>;
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  CHECK(saturating_ceil<seconds>(1001ms) == 2s);
  CHECK(saturating_ceil<seconds>(-1001ms) == -1s);
  CHECK(saturating_ceil<nanoseconds>(seconds::max()) == nanoseconds::max());
  CHECK(saturating_ceil<nanoseconds>(seconds::min()) == nanoseconds::min());
  CHECK(saturating_ceil<nanoseconds>(DoubleSeconds(std::numeric_limits<double>::quiet_NaN())) ==
        nanoseconds::min());
  CHECK(saturating_ceil<DoubleSeconds>(1001ms).count() == Approx(1.001));
  CHECK(saturating_ceil<std::chrono::duration<double, std::ratio<3600>>>(115s).count() ==
        Approx(115.0 / 3600));
}

/// A pop_until on an empty queue and a push_until on a full one, each given
/// `deadline`, both last until the queue is closed 100ms later.
template <class Kind, class TimePoint>
void check_waits_until_closed(TimePoint deadline) {
  Watchdog watchdog("a far deadline");
  bq::BoundedQueue<int, bq::Block, Kind> empty{small_config(1, 1h)};
  {
    const auto start = Clock::now();
    bq_test::CloseAfter<decltype(empty)> closer(empty, 100ms);
    CHECK_FALSE(empty.pop_until(deadline).has_value());
    CHECK(ms_since(start) >= 90.0);
  }
  bq::BoundedQueue<int, bq::Block, Kind> full{small_config(1, 1h)};
  REQUIRE(full.push(1) == bq::PushResult::pushed);
  const auto start = Clock::now();
  bq_test::CloseAfter<decltype(full)> closer(full, 100ms);
  CHECK(full.push_until(2, deadline) == bq::PushResult::closed);
  CHECK(ms_since(start) >= 90.0);
}

// A time point in a coarser unit than its clock's (seconds or hours on system_clock,
// whose unit is finer) may lie beyond the range of the clock's own unit: such a
// deadline is "never", not an overflow that reads as "passed".
TEMPLATE_TEST_CASE("a far deadline on another clock in a coarse unit waits instead of overflowing",
                   "[api][timing]", bq::Mpmc, bq::Spsc) {
  using std::chrono::hours;
  using std::chrono::seconds;
  using std::chrono::system_clock;
  using std::chrono::time_point;
  check_waits_until_closed<TestType>(time_point<system_clock, seconds>::max());
  check_waits_until_closed<TestType>(time_point<system_clock, hours>::max());
  check_waits_until_closed<TestType>(std::chrono::time_point_cast<seconds>(system_clock::now()) +
                                     hours(24 * 365 * 300));

  // ...and as far in the past: passed at once.
  bq::BoundedQueue<int, bq::Block, TestType> q{small_config(1, 1h)};
  CHECK_FALSE(q.pop_until(time_point<system_clock, hours>::min()).has_value());
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  CHECK(q.push_until(2, time_point<system_clock, hours>::min()) == bq::PushResult::timed_out);
}

TEST_CASE("a BlockThen<DropOldest> push_until with another clock evicts only after its deadline",
          "[api][timing]") {
  bq::BoundedQueue<int, bq::BlockThen<bq::DropOldest>> q{small_config(1, 1h)};
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  const auto deadline = HalfSpeedClock::now() + 20ms;
  CHECK(q.push_until(2, deadline) == bq::PushResult::replaced_oldest);
  CHECK(HalfSpeedClock::now() >= deadline);
  CHECK(q.metrics().dropped_oldest == 1);
  auto item = q.try_pop();
  REQUIRE(item);
  CHECK(*item == 2);
}
