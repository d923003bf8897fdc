// The Spsc concurrency tag: the same API and semantics as Mpmc (policies, results,
// metrics, close), with one pushing and one popping thread at a time. Strict FIFO
// under a one-producer/one-consumer stress for every policy and small capacities.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::AllPolicies;
using bq_test::Clock;
using bq_test::CloseAfter;
using bq_test::ms_since;
using bq_test::small_config;
using bq_test::Watchdog;

using bq_test::make;
using bq_test::Ptr;
template <class Policy>
using SpscQueue = bq::BoundedQueue<Ptr, Policy, bq::Spsc>;

template <class Queue>
std::vector<int> drain(Queue& q) {
  std::vector<int> values;
  while (auto item = q.try_pop()) values.push_back(**item);
  return values;
}

template <class Policy>
bq::QueueConfig config_for(std::size_t capacity) {
  return small_config(capacity, bq_test::waits_when_full<Policy>() ? 20ms : 1h);
}

template <class Policy>
constexpr bool evicts() {
  return bq_test::when_full<Policy>() == bq_test::WhenFull::evicts_oldest;
}

}  // namespace

static_assert(!std::is_same_v<bq::BoundedQueue<int, bq::Block, bq::Spsc>,
                              bq::BoundedQueue<int, bq::Block, bq::Mpmc>>);

TEMPLATE_LIST_TEST_CASE("a spsc queue applies every policy like an mpmc one",
                        "[spsc][policy][timing]", AllPolicies) {
  std::vector<int> evicted;
  SpscQueue<TestType> q{config_for<TestType>(3), [&](Ptr&& item) { evicted.push_back(*item); }};
  CloseAfter guard{q, 5s};
  for (int i = 0; i < 3; ++i) REQUIRE(q.push(make(i)) == bq::PushResult::pushed);
  CHECK(q.size() == 3);

  Ptr item = make(3);
  CHECK_FALSE(q.try_push(std::move(item)));  // Never waits or evicts.
  REQUIRE(item != nullptr);
  const auto start = Clock::now();
  CHECK(q.push(std::move(item)) == bq_test::full_result<TestType>());
  if constexpr (bq_test::waits_when_full<TestType>()) CHECK(ms_since(start) >= 20.0);

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.dropped() == 1);
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  if constexpr (evicts<TestType>()) {
    CHECK(item == nullptr);
    CHECK(evicted == std::vector<int>{0});
    CHECK(m.dropped_oldest == 1);
    CHECK(drain(q) == std::vector<int>{1, 2, 3});

    // force_push exists where the policy may evict, and returns the evicted item.
    for (int i = 10; i < 13; ++i) REQUIRE(q.push(make(i)) == bq::PushResult::pushed);
    bq::ForcePushResult<Ptr> forced = q.force_push(make(13));
    CHECK(forced.result == bq::PushResult::replaced_oldest);
    REQUIRE(forced.evicted.has_value());
    CHECK(**forced.evicted == 10);
    CHECK(drain(q) == std::vector<int>{11, 12, 13});
  } else {
    REQUIRE(item != nullptr);  // Not queued: the caller keeps it.
    CHECK(*item == 3);
    CHECK(evicted.empty());
    CHECK(drain(q) == std::vector<int>{0, 1, 2});
  }
  CHECK_FALSE(q.is_closed());
}

TEMPLATE_LIST_TEST_CASE("a spsc queue closes like an mpmc one", "[spsc][close][timing]",
                        AllPolicies) {
  SpscQueue<TestType> q{config_for<TestType>(4)};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);
  q.close();
  q.close();
  CHECK(q.is_closed());
  Ptr item = make(3);
  CHECK(q.push(std::move(item)) == bq::PushResult::closed);
  CHECK(q.push_for(std::move(item), 1h) == bq::PushResult::closed);
  CHECK_FALSE(q.try_push(std::move(item)));
  CHECK(item != nullptr);
  const auto start = Clock::now();
  CHECK(**q.pop() == 1);
  CHECK(**q.pop_for(1h) == 2);
  CHECK_FALSE(q.pop().has_value());
  CHECK_FALSE(q.pop_for(1h).has_value());
  CHECK(ms_since(start) < 2000.0);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.rejected_closed == 2);
  CHECK(m.pushed == 2);
  CHECK(m.popped == 2);
}

TEST_CASE("close wakes a spsc consumer blocked on an empty queue and a producer on a full one",
          "[spsc][close][timing]") {
  Watchdog watchdog("spsc close wakes");
  bq::BoundedQueue<int, bq::Block, bq::Spsc> empty{2};
  bq::BoundedQueue<Ptr, bq::Block, bq::Spsc> full{small_config(1, 1h)};
  REQUIRE(full.push(make(0)) == bq::PushResult::pushed);
  std::optional<int> popped{-1};
  bq::PushResult pushed = bq::PushResult::pushed;
  bool kept = false;
  std::thread consumer([&] { popped = empty.pop(); });
  std::thread producer([&] {
    Ptr item = make(1);
    pushed = full.push(std::move(item));
    kept = item != nullptr;
  });
  std::this_thread::sleep_for(100ms);
  const auto closed_at = Clock::now();
  empty.close();
  full.close();
  consumer.join();
  producer.join();
  CHECK(ms_since(closed_at) < 2000.0);
  CHECK_FALSE(popped.has_value());
  CHECK(pushed == bq::PushResult::closed);
  CHECK(kept);
}

TEST_CASE("a spsc waiting push succeeds when the consumer makes room", "[spsc][policy][timing]") {
  bq::BoundedQueue<int, bq::Block, bq::Spsc> q{small_config(1, 10s)};
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  std::thread consumer([&] {
    std::this_thread::sleep_for(50ms);
    (void)q.pop();
  });
  const auto start = Clock::now();
  CHECK(q.push(2) == bq::PushResult::pushed);
  CHECK(ms_since(start) < 5000.0);
  consumer.join();
  CHECK(q.try_pop() == std::optional<int>(2));
}

TEMPLATE_LIST_TEST_CASE("one producer and one consumer see strict FIFO under every policy",
                        "[spsc][stress]", AllPolicies) {
  const std::size_t capacity = GENERATE(1u, 2u, 3u, 7u, 64u);
  CAPTURE(capacity);
  const std::uint64_t items = bq_test::scaled(2'000);
  Watchdog watchdog("spsc stress");
  std::vector<std::uint64_t> evicted;  // Written by the producer thread only (the handler).
  evicted.reserve(items);
  bq::BoundedQueue<std::uint64_t, TestType, bq::Spsc> q{
      small_config(capacity, 1ms), [&](std::uint64_t&& value) { evicted.push_back(value); }};

  std::uint64_t refused_retries = 0;
  std::thread producer([&] {
    for (std::uint64_t value = 0; value < items; ++value) {
      // Retry a refused item until it is queued, so the consumer sees every value
      // that was not evicted, in order.
      for (int attempt = 0;; ++attempt) {
        bool queued = false;
        switch ((value + static_cast<std::uint64_t>(attempt)) % 4) {
          case 0: queued = bq::accepted(q.push(value)); break;
          case 1: queued = q.try_push(value); break;
          case 2: queued = bq::accepted(q.emplace(value)); break;
          default: queued = bq::accepted(q.push_for(value, 100us)); break;
        }
        if (queued) break;
        ++refused_retries;
        std::this_thread::yield();
      }
    }
    q.close();
  });

  std::vector<std::uint64_t> popped;
  popped.reserve(items);
  std::thread consumer([&] {
    for (std::uint64_t n = 0;; ++n) {
      std::optional<std::uint64_t> item;
      switch (n % 3) {
        case 0: item = q.pop(); break;
        case 1: item = q.pop_for(1ms); break;
        default: item = q.try_pop(); break;
      }
      if (item) {
        popped.push_back(*item);
      } else if (q.is_closed() && q.empty()) {
        break;
      }
    }
  });
  producer.join();
  consumer.join();

  // Both sequences strictly increasing; together exactly 0..items-1.
  bool popped_increasing = true, evicted_increasing = true;
  for (std::size_t i = 1; i < popped.size(); ++i) popped_increasing &= popped[i - 1] < popped[i];
  for (std::size_t i = 1; i < evicted.size(); ++i) {
    evicted_increasing &= evicted[i - 1] < evicted[i];
  }
  CHECK(popped_increasing);
  CHECK(evicted_increasing);
  CHECK(popped.size() + evicted.size() == items);
  std::vector<bool> seen(items, false);
  bool duplicate = false;
  for (const auto* list : {&popped, &evicted}) {
    for (const std::uint64_t v : *list) {
      if (v >= items || seen[v]) {
        duplicate = true;
      } else {
        seen[v] = true;
      }
    }
  }
  CHECK_FALSE(duplicate);
  if constexpr (!evicts<TestType>()) CHECK(evicted.empty());

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == items);
  CHECK(m.popped == popped.size());
  CHECK(m.dropped_oldest == evicted.size());
  CHECK(m.size == 0);
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  CHECK(m.high_watermark <= capacity);
}
