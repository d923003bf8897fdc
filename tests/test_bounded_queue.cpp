// Basic BoundedQueue API: construction and its errors, FIFO order, capacity
// (including 1 and capacities that are not powers of two), try_push/try_pop,
// emplace, copies, and the compile-time contract (types, noexcept, not copyable).
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::Lifetimes;
using bq_test::Tracked;

using IntQueue = bq::BoundedQueue<int, bq::DropOldest>;

// The compile-time contract of the frozen API.
static_assert(std::is_same_v<IntQueue::value_type, int>);
static_assert(std::is_same_v<IntQueue::policy_type, bq::DropOldest>);
static_assert(std::is_same_v<IntQueue::clock, std::chrono::steady_clock>);
static_assert(std::is_same_v<IntQueue::EvictionHandler, std::function<void(int&&)>>);
static_assert(!std::is_copy_constructible_v<IntQueue> && !std::is_copy_assignable_v<IntQueue>,
              "a queue is not copyable");
static_assert(!std::is_move_constructible_v<IntQueue> && !std::is_move_assignable_v<IntQueue>,
              "a queue is not movable");
static_assert(!std::is_convertible_v<std::size_t, IntQueue>,
              "the capacity constructor is explicit");
static_assert(!std::is_convertible_v<bq::QueueConfig, IntQueue>,
              "the config constructor is explicit");
static_assert(
    std::is_same_v<bq::BoundedQueue<int, bq::Block>, bq::BoundedQueue<int, bq::Block, bq::Mpmc>>,
    "Mpmc is the default concurrency");
static_assert(noexcept(std::declval<IntQueue&>().close()));
static_assert(noexcept(std::declval<const IntQueue&>().is_closed()));
static_assert(noexcept(std::declval<const IntQueue&>().size()));
static_assert(noexcept(std::declval<const IntQueue&>().capacity()));
static_assert(noexcept(std::declval<const IntQueue&>().empty()));
static_assert(noexcept(std::declval<const IntQueue&>().metrics()));
static_assert(noexcept(std::declval<IntQueue&>().reset_high_watermark()));
static_assert(noexcept(std::declval<const IntQueue&>().config()));
static_assert(noexcept(std::declval<const IntQueue&>().policy()));
static_assert(std::is_same_v<decltype(std::declval<IntQueue&>().push(1)), bq::PushResult>);
static_assert(std::is_same_v<decltype(std::declval<IntQueue&>().try_push(1)), bool>);
static_assert(std::is_same_v<decltype(std::declval<IntQueue&>().try_pop()), std::optional<int>>);
static_assert(
    std::is_same_v<decltype(std::declval<IntQueue&>().force_push(1)), bq::ForcePushResult<int>>);

}  // namespace

TEST_CASE("a new queue is empty, open, and reports its capacity and default config", "[queue]") {
  IntQueue q{5};
  CHECK(q.capacity() == 5);
  CHECK(q.size() == 0);
  CHECK(q.empty());
  CHECK_FALSE(q.is_closed());
  CHECK(q.config().capacity == 5);
  CHECK(q.config().block_timeout == 1000ms);
  CHECK(q.config().policy == bq::OverflowPolicy::drop_oldest);
  CHECK_FALSE(q.try_pop().has_value());

  bq::QueueMetrics expected;
  expected.capacity = 5;
  CHECK(q.metrics() == expected);
}

TEMPLATE_TEST_CASE("items come out in the order they went in, across many wrap-arounds", "[queue]",
                   bq::DropNewest, bq::DropOldest) {
  // Capacities 1, powers of two and not, and larger ones.
  const std::size_t capacity = GENERATE(1u, 2u, 3u, 5u, 7u, 8u, 100u, 1000u);
  CAPTURE(capacity);
  bq::BoundedQueue<std::uint64_t, TestType> q{capacity};
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  // Batches of every length from 1 to capacity, so head and tail meet every slot in every
  // state; thousands of laps around the small rings.
  const std::size_t rounds = capacity <= 8 ? 20000 : 2 * capacity;
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::size_t batch = 1 + round % capacity;
    for (std::size_t i = 0; i < batch; ++i) REQUIRE(q.push(next_in++) == bq::PushResult::pushed);
    REQUIRE(q.size() == batch);
    for (std::size_t i = 0; i < batch; ++i) {
      std::optional<std::uint64_t> item = q.try_pop();
      REQUIRE(item.has_value());
      REQUIRE(*item == next_out++);
    }
    REQUIRE(q.empty());
  }
  CHECK_FALSE(q.try_pop().has_value());
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == next_in);
  CHECK(m.popped == next_out);
  CHECK(m.dropped() == 0);
  CHECK(m.high_watermark == capacity);
}

TEST_CASE("size tracks pushes and pops and stops at capacity", "[queue]") {
  const std::size_t capacity = GENERATE(1u, 3u, 7u);
  bq::BoundedQueue<int, bq::DropNewest> q{capacity};
  for (std::size_t i = 0; i < capacity; ++i) {
    CHECK(q.size() == i);
    REQUIRE(q.push(static_cast<int>(i)) == bq::PushResult::pushed);
  }
  CHECK(q.size() == capacity);
  CHECK_FALSE(q.empty());
  CHECK(q.push(99) == bq::PushResult::dropped_newest);
  CHECK(q.size() == capacity);
  for (std::size_t i = capacity; i > 0; --i) {
    REQUIRE(q.try_pop().has_value());
    CHECK(q.size() == i - 1);
  }
  CHECK(q.empty());
}

TEST_CASE("a queue of capacity 1 alternates between empty and full", "[queue]") {
  bq::BoundedQueue<std::string, bq::DropOldest> q{1};
  CHECK(q.push("a") == bq::PushResult::pushed);
  CHECK(q.push("b") == bq::PushResult::replaced_oldest);
  CHECK(q.push("c") == bq::PushResult::replaced_oldest);
  CHECK(q.size() == 1);
  CHECK(q.try_pop() == std::optional<std::string>("c"));
  CHECK(q.empty());
  CHECK(q.metrics().dropped_oldest == 2);
}

TEST_CASE("try_push refuses when full without evicting, counts nothing, and keeps the item",
          "[queue]") {
  // DropOldest would evict on push(); try_push must never evict.
  bq::BoundedQueue<std::unique_ptr<int>, bq::DropOldest> q{2};
  REQUIRE(q.try_push(std::make_unique<int>(1)));
  REQUIRE(q.try_push(std::make_unique<int>(2)));
  auto item = std::make_unique<int>(3);
  CHECK_FALSE(q.try_push(std::move(item)));
  REQUIRE(item != nullptr);  // The caller still owns it.
  CHECK(*item == 3);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 2);
  CHECK(m.dropped() == 0);
  CHECK(m.rejected_closed == 0);
  CHECK(*q.try_pop().value() == 1);  // Nothing was evicted.
  CHECK(q.try_push(std::move(item)));
  CHECK(item == nullptr);
  CHECK(*q.try_pop().value() == 2);
  CHECK(*q.try_pop().value() == 3);
}

TEST_CASE("try_emplace constructs in place only when there is room", "[queue]") {
  bq::BoundedQueue<std::pair<int, std::string>, bq::DropOldest> q{1};
  CHECK(q.try_emplace(1, "one"));
  CHECK_FALSE(q.try_emplace(2, "two"));
  CHECK(q.size() == 1);
  CHECK(q.metrics().pushed == 1);
  const auto item = q.try_pop();
  REQUIRE(item.has_value());
  CHECK(item->first == 1);
  CHECK(item->second == "one");
}

TEST_CASE("emplace constructs the item from its arguments", "[queue]") {
  bq::BoundedQueue<std::pair<int, std::string>, bq::DropNewest> q{2};
  CHECK(q.emplace(7, "seven") == bq::PushResult::pushed);
  CHECK(q.emplace(8, std::string(3, 'x')) == bq::PushResult::pushed);
  CHECK(q.emplace(9, "nine") == bq::PushResult::dropped_newest);
  CHECK(q.try_pop() == std::optional<std::pair<int, std::string>>({7, "seven"}));
  CHECK(q.try_pop() == std::optional<std::pair<int, std::string>>({8, "xxx"}));
}

TEST_CASE("push(const T&) copies and leaves the argument untouched", "[queue]") {
  Lifetimes::reset();
  {
    bq::BoundedQueue<Tracked, bq::DropNewest> q{3};
    const Tracked original{42};
    CHECK(q.push(original) == bq::PushResult::pushed);
    CHECK(q.push_for(original, 1ms) == bq::PushResult::pushed);
    CHECK(q.try_push(original));
    CHECK(Lifetimes::copies() == 3);
    CHECK(original.value() == 42);
    CHECK_FALSE(original.moved_from());
    for (int i = 0; i < 3; ++i) {
      const auto item = q.try_pop();
      REQUIRE(item.has_value());
      CHECK(item->value() == 42);
      CHECK_FALSE(item->moved_from());
    }
  }
  CHECK(Lifetimes::live() == 0);
}

TEST_CASE("pop, pop_for and pop_until return the queued items, oldest first", "[queue]") {
  bq::BoundedQueue<int, bq::Block> q{4};
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  REQUIRE(q.push(2) == bq::PushResult::pushed);
  REQUIRE(q.push(3) == bq::PushResult::pushed);
  CHECK(q.pop() == std::optional<int>(1));
  CHECK(q.pop_for(1h) == std::optional<int>(2));
  CHECK(q.pop_until(bq_test::Clock::now() + 1h) == std::optional<int>(3));
  CHECK(q.empty());
}

TEST_CASE("the config constructor validates the config and keeps it", "[queue][config]") {
  bq::QueueConfig config;
  config.capacity = 3;
  config.policy = bq::OverflowPolicy::drop_newest;
  config.block_timeout = 250ms;

  bq::BoundedQueue<int, bq::Dynamic> q{config};
  CHECK(q.capacity() == 3);
  CHECK(q.config() == config);
  CHECK(q.policy().policy() == bq::OverflowPolicy::drop_newest);
  CHECK(q.metrics().capacity == 3);

  SECTION("a negative block timeout is rejected with a ConfigError naming it") {
    config.block_timeout = -5ms;
    try {
      bq::BoundedQueue<int, bq::Block> bad{config};
      FAIL("a negative block_timeout was accepted");
    } catch (const bq::ConfigError& e) {
      CHECK_THAT(e.what(), Catch::Contains("-5"));
    }
  }
  SECTION("monitor-only fields are the monitor's to check: the queue accepts them") {
    config.warn_utilization = 1.5;
    config.monitor_interval = 0ms;
    const bq::BoundedQueue<int, bq::DropOldest> unmonitored{config};
    // Kept as given, for a monitor to reject (test_monitor.cpp).
    CHECK(unmonitored.config() == config);
  }
  SECTION("the capacity constructor builds the same config with that capacity") {
    bq::BoundedQueue<int, bq::Dynamic> by_capacity{3};
    bq::QueueConfig expected;
    expected.capacity = 3;
    CHECK(by_capacity.config() == expected);
  }
}

TEST_CASE("a queue holds strings and other types that own heap memory", "[queue]") {
  bq::BoundedQueue<std::string, bq::DropOldest> q{3};
  const std::string long_text(1000, 'z');
  CHECK(q.push(long_text) == bq::PushResult::pushed);
  CHECK(q.push(std::string("short")) == bq::PushResult::pushed);
  CHECK(q.try_pop() == std::optional<std::string>(long_text));
  CHECK(q.try_pop() == std::optional<std::string>("short"));
  CHECK_FALSE(q.try_pop().has_value());
}
