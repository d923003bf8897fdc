// close_and_discard() and clear(): every queued item is removed at once, to the
// eviction handler (oldest first) if there is one, else destroyed; the count is
// returned and kept in metrics().discarded; close_and_discard() also closes, so
// consumers get nullopt at once; clear() leaves the queue open. A pop racing with
// a discard gets an item (counted popped) or nullopt, never both, and at quiescence
// pushed == popped + dropped_oldest + discarded + size. Both modes, every policy.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::AllPolicies;
using bq_test::Clock;
using bq_test::ms_since;
using bq_test::small_config;
using bq_test::Watchdog;

using bq_test::kPromptMs;

/// Every policy in both concurrency modes, as (Policy, Concurrency) pairs.
template <class Policy, class Concurrency>
using Case = bq_test::PolicyMode<Policy, Concurrency>;
using Cases = std::tuple<Case<bq::DropOldest, bq::Mpmc>, Case<bq::DropNewest, bq::Mpmc>,
                         Case<bq::Block, bq::Mpmc>, Case<bq::BlockThen<bq::DropOldest>, bq::Mpmc>,
                         Case<bq::Dynamic, bq::Mpmc>, Case<bq_test::StubbornWait, bq::Mpmc>,
                         Case<bq::DropOldest, bq::Spsc>, Case<bq::DropNewest, bq::Spsc>,
                         Case<bq::Block, bq::Spsc>, Case<bq::BlockThen<bq::DropNewest>, bq::Spsc>>;

template <class C>
using QueueOf = bq::BoundedQueue<int, typename C::policy, typename C::concurrency>;

void check_balanced(const bq::QueueMetrics& m) {
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.discarded + m.size);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("close_and_discard hands every queued item to the handler, oldest first",
                        "[discard][close][timing]", Cases) {
  std::vector<int> handed;
  QueueOf<TestType> q{small_config(4, 1h), [&](int&& item) { handed.push_back(item); }};
  for (int i = 1; i <= 3; ++i) REQUIRE(q.push(i) == bq::PushResult::pushed);
  auto first = q.try_pop();
  REQUIRE(first);
  CHECK(*first == 1);

  CHECK(q.close_and_discard() == 2);
  CHECK(handed == std::vector<int>{2, 3});
  CHECK(q.is_closed());
  CHECK(q.empty());
  const auto start = Clock::now();
  CHECK_FALSE(q.pop().has_value());  // closed and empty: at once
  CHECK_FALSE(q.try_pop().has_value());
  CHECK(ms_since(start) < kPromptMs);
  CHECK(q.push(9) == bq::PushResult::closed);
  CHECK(q.close_and_discard() == 0);  // idempotent

  const auto m = q.metrics();
  CHECK(m.discarded == 2);
  CHECK(m.popped == 1);
  CHECK(m.pushed == 3);
  CHECK(m.dropped() == 0);  // a discard is not a loss to a full queue
  CHECK(m.rejected_closed == 1);
  check_balanced(m);
}

TEMPLATE_LIST_TEST_CASE("clear removes every queued item and leaves the queue open", "[discard]",
                        Cases) {
  std::vector<int> handed;
  QueueOf<TestType> q{small_config(3, 1h), [&](int&& item) { handed.push_back(item); }};
  CHECK(q.clear() == 0);
  for (int i = 1; i <= 3; ++i) REQUIRE(q.push(i) == bq::PushResult::pushed);
  CHECK(q.clear() == 3);
  CHECK(handed == std::vector<int>{1, 2, 3});
  CHECK(q.empty());
  CHECK_FALSE(q.is_closed());
  CHECK_FALSE(q.try_pop().has_value());

  // Still a queue: full capacity again, FIFO from the next item on.
  for (int i = 4; i <= 6; ++i) REQUIRE(q.push(i) == bq::PushResult::pushed);
  auto item = q.try_pop();
  REQUIRE(item);
  CHECK(*item == 4);
  const auto m = q.metrics();
  CHECK(m.discarded == 3);
  CHECK(m.pushed == 6);
  CHECK(m.popped == 1);
  CHECK(m.size == 2);
  check_balanced(m);
}

TEST_CASE("close_and_discard without a handler destroys every item exactly once",
          "[discard][lifetime]") {
  bq_test::Lifetimes::reset();
  {
    bq::BoundedQueue<bq_test::Tracked, bq::DropOldest> q{5};
    for (int i = 0; i < 8; ++i) REQUIRE(bq::accepted(q.emplace()));
    CHECK(bq_test::Lifetimes::live() == 5);
    CHECK(q.close_and_discard() == 5);
    CHECK(bq_test::Lifetimes::live() == 0);
    const auto m = q.metrics();
    CHECK(m.discarded == 5);
    CHECK(m.dropped_oldest == 3);
    check_balanced(m);
  }
  CHECK(bq_test::Lifetimes::constructed() == bq_test::Lifetimes::destroyed());
  CHECK(bq_test::Lifetimes::bad_destroys() == 0);
}

TEST_CASE("a throwing eviction handler stops a discard; the rest stay queued and counted",
          "[discard][exceptions]") {
  int calls = 0;
  bq::BoundedQueue<int, bq::Block> q{4, [&](int&& item) {
                                       ++calls;
                                       if (item == 2) throw std::runtime_error("handler");
                                     }};
  for (int i = 1; i <= 4; ++i) REQUIRE(q.push(i) == bq::PushResult::pushed);
  CHECK_THROWS_AS(q.close_and_discard(), std::runtime_error);
  CHECK(calls == 2);
  CHECK(q.is_closed());
  CHECK(q.metrics().discarded == 2);  // 1, and 2 whose handler threw
  auto left = q.pop();
  REQUIRE(left);
  CHECK(*left == 3);
  CHECK(q.close_and_discard() == 1);
  check_balanced(q.metrics());
}

TEMPLATE_LIST_TEST_CASE("close_and_discard wakes a waiting consumer with nullopt",
                        "[discard][close][timing]", Cases) {
  QueueOf<TestType> q{small_config(2, 1h)};
  Watchdog watchdog("close_and_discard wakes a consumer");
  std::atomic<bool> started{false};
  std::optional<int> result = -1;
  Clock::time_point returned{};
  std::thread consumer([&] {
    started = true;
    result = q.pop();
    returned = Clock::now();
  });
  while (!started) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);
  const auto requested = Clock::now();
  // On a Spsc queue a discard is a pop, and the waiting consumer is the one popper, so
  // there only close() may come from here; Mpmc allows a discard from any thread.
  if constexpr (std::is_same_v<typename TestType::concurrency, bq::Mpmc>) {
    CHECK(q.close_and_discard() == 0);
  } else {
    q.close();
  }
  consumer.join();
  CHECK_FALSE(result.has_value());
  CHECK(std::chrono::duration<double, std::milli>(returned - requested).count() < kPromptMs);
}

TEMPLATE_LIST_TEST_CASE("clear makes room for a pusher waiting on a full queue",
                        "[discard][timing]", Cases) {
  if constexpr (bq_test::waits_when_full<typename TestType::policy>()) {
    QueueOf<TestType> q{small_config(2, 1h)};
    Watchdog watchdog("clear wakes a pusher");
    REQUIRE(q.push(1) == bq::PushResult::pushed);
    REQUIRE(q.push(2) == bq::PushResult::pushed);
    std::atomic<bool> started{false};
    bq::PushResult result = bq::PushResult::closed;
    std::thread pusher([&] {
      started = true;
      result = q.push(3);
    });
    while (!started) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(100ms);
    CHECK(q.clear() == 2);  // this thread is the only popper, also on Spsc
    pusher.join();
    CHECK(result == bq::PushResult::pushed);
    auto item = q.try_pop();
    REQUIRE(item);
    CHECK(*item == 3);
    check_balanced(q.metrics());
  }
}

TEST_CASE("pops racing with close_and_discard get each item once: popped or discarded",
          "[discard][close][stress]") {
  const int rounds = static_cast<int>(bq_test::scaled(200));
  for (int round = 0; round < rounds; ++round) {
    constexpr int kConsumers = 3;
    const int items = 64 + round % 64;
    std::vector<int> handed;
    bq::BoundedQueue<int, bq::Block> q{small_config(256, 1h),
                                       [&](int&& item) { handed.push_back(item); }};
    for (int i = 0; i < items; ++i) REQUIRE(q.push(i) == bq::PushResult::pushed);
    Watchdog watchdog("pops racing with close_and_discard");
    std::vector<std::vector<int>> got(kConsumers);
    std::atomic<int> ready{0};
    std::vector<std::thread> consumers;
    for (int c = 0; c < kConsumers; ++c) {
      consumers.emplace_back([&, c] {
        ++ready;
        while (auto item = q.pop()) got[static_cast<std::size_t>(c)].push_back(*item);
      });
    }
    while (ready < kConsumers) std::this_thread::yield();
    const std::size_t discarded = q.close_and_discard();
    for (auto& t : consumers) t.join();
    CHECK(discarded == handed.size());
    std::vector<int> seen(static_cast<std::size_t>(items), 0);
    std::size_t popped = 0;
    for (int i : handed) ++seen[static_cast<std::size_t>(i)];
    for (const auto& list : got) {
      popped += list.size();
      for (int i : list) ++seen[static_cast<std::size_t>(i)];
    }
    int wrong = 0;
    for (int count : seen) wrong += count != 1;
    INFO("round " << round);
    REQUIRE(wrong == 0);
    const auto m = q.metrics();
    CHECK(m.popped == popped);
    CHECK(m.discarded == discarded);
    CHECK(m.size == 0);
    check_balanced(m);
  }
}

TEMPLATE_TEST_CASE("clear racing with pushes, pops and evictions keeps every count balanced",
                   "[discard][stress]", bq::DropOldest, bq::DropNewest, bq::Block) {
  constexpr int kProducers = 3;
  const auto per_producer = static_cast<std::uint64_t>(bq_test::scaled(20000));
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> handed_discards{0};
  thread_local bool tl_discarding = false;
  bq::BoundedQueue<std::uint64_t, TestType> q{small_config(16, 1ms), [&](std::uint64_t&&) {
                                                (tl_discarding ? handed_discards : evicted)++;
                                              }};
  Watchdog watchdog("clear racing");
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> popped{0};
  std::atomic<bool> producers_done{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&] {
      for (std::uint64_t i = 0; i < per_producer; ++i) accepted += bq::accepted(q.push(i));
    });
  }
  std::thread consumer([&] {
    while (auto item = q.pop()) ++popped;
  });
  std::uint64_t cleared = 0;
  std::thread clearer([&] {
    tl_discarding = true;
    while (!producers_done) {
      cleared += q.clear();
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  producers_done = true;
  clearer.join();
  q.close();
  consumer.join();
  const auto m = q.metrics();
  CHECK(m.pushed == accepted);
  CHECK(m.popped == popped);
  CHECK(m.discarded == cleared);
  CHECK(handed_discards == cleared);
  CHECK(m.dropped_oldest == evicted);
  CHECK(m.size == 0);
  check_balanced(m);
}

TEST_CASE("metrics taken while discards run never go back and stay balanced at the end",
          "[discard][metrics][stress]") {
  bq::BoundedQueue<int, bq::DropOldest> q{64};
  Watchdog watchdog("metrics during discards");
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < static_cast<int>(bq_test::scaled(200000)); ++i) (void)q.push(i);
    done = true;
  });
  std::thread clearer([&] {
    while (!done) (void)q.clear();
  });
  bq::QueueMetrics last{};
  bool monotonic = true;
  bool ahead = false;
  while (!done) {
    const auto m = q.metrics();
    monotonic = monotonic && m.pushed >= last.pushed && m.popped >= last.popped &&
                m.discarded >= last.discarded && m.dropped_oldest >= last.dropped_oldest;
    ahead = ahead || m.popped + m.dropped_oldest + m.discarded > m.pushed;
    last = m;
  }
  producer.join();
  clearer.join();
  CHECK(monotonic);
  CHECK_FALSE(ahead);
  CHECK(last.popped == 0);  // nothing popped: discards never show up as pops
  const auto m = q.metrics();
  CHECK(m.popped == 0);
  check_balanced(m);
}
