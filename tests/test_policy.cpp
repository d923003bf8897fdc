// Overflow policies: what a push into a full queue does under each built-in policy
// and under user-written ones, the eviction handler, force_push, the "rvalue left
// unmoved" rule, and the metrics counter each outcome increments.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
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

using bq_test::make;
using bq_test::Ptr;
template <class Policy>
using PtrQueue = bq::BoundedQueue<Ptr, Policy>;

/// Pops everything and returns the values in order.
template <class Queue>
std::vector<int> drain(Queue& q) {
  std::vector<int> values;
  while (auto item = q.try_pop()) values.push_back(**item);
  return values;
}

/// Records what an eviction handler received, and in which thread.
struct EvictionLog {
  std::vector<int> values;
  std::vector<std::thread::id> threads;
  auto handler() {
    return [this](Ptr&& item) {
      values.push_back(*item);
      threads.push_back(std::this_thread::get_id());
    };
  }
};

/// A config whose block timeout is short for waiting policies and an hour for the
/// others: a non-waiting policy that wrongly waited would be caught by CloseAfter.
template <class Policy>
bq::QueueConfig config_for(std::size_t capacity) {
  return small_config(capacity, bq_test::waits_when_full<Policy>() ? 20ms : 1h);
}

}  // namespace

TEST_CASE("accepted() is true exactly for pushed and replaced_oldest", "[policy]") {
  STATIC_REQUIRE(bq::accepted(bq::PushResult::pushed));
  STATIC_REQUIRE(bq::accepted(bq::PushResult::replaced_oldest));
  STATIC_REQUIRE_FALSE(bq::accepted(bq::PushResult::dropped_newest));
  STATIC_REQUIRE_FALSE(bq::accepted(bq::PushResult::timed_out));
  STATIC_REQUIRE_FALSE(bq::accepted(bq::PushResult::closed));
  CHECK(bq::to_string(bq::PushResult::replaced_oldest) == "replaced_oldest");
  CHECK(bq::to_string(bq::PushResult::closed) == "closed");
}

TEMPLATE_LIST_TEST_CASE("below capacity every policy queues every push in FIFO order", "[policy]",
                        AllPolicies) {
  PtrQueue<TestType> q{config_for<TestType>(4)};
  CHECK(q.push(make(1)) == bq::PushResult::pushed);
  CHECK(q.emplace(new int(2)) == bq::PushResult::pushed);
  CHECK(q.push_for(make(3), 1h) == bq::PushResult::pushed);
  CHECK(q.push_until(make(4), Clock::now() + 1h) == bq::PushResult::pushed);
  CHECK(q.size() == 4);
  CHECK(drain(q) == std::vector<int>{1, 2, 3, 4});
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 4);
  CHECK(m.popped == 4);
  CHECK(m.dropped() == 0);
}

TEMPLATE_LIST_TEST_CASE("a push into a full queue does what the policy says and counts it",
                        "[policy][timing]", AllPolicies) {
  EvictionLog log;
  PtrQueue<TestType> q{config_for<TestType>(3), log.handler()};
  CloseAfter guard{q, 5s};  // A non-waiting policy that waits for its hour fails, not hangs.
  for (int i = 0; i < 3; ++i) REQUIRE(q.push(make(i)) == bq::PushResult::pushed);

  Ptr item = make(3);
  const auto start = Clock::now();
  const bq::PushResult result = q.push(std::move(item));
  const double waited_ms = ms_since(start);
  const bq::QueueMetrics m = q.metrics();

  REQUIRE(result == bq_test::full_result<TestType>());
  if constexpr (bq_test::waits_when_full<TestType>()) {
    CHECK(waited_ms >= 20.0);  // push() waits config().block_timeout first.
  }
  switch (bq_test::when_full<TestType>()) {
    case bq_test::WhenFull::evicts_oldest:
      CHECK(item == nullptr);  // Queued: moved from.
      CHECK(log.values == std::vector<int>{0});
      CHECK(m.pushed == 4);
      CHECK(m.dropped_oldest == 1);
      CHECK(m.dropped_newest + m.timed_out == 0);
      CHECK(drain(q) == std::vector<int>{1, 2, 3});
      break;
    case bq_test::WhenFull::drops_newest:
      REQUIRE(item != nullptr);  // Not queued: the caller keeps it.
      CHECK(*item == 3);
      CHECK(log.values.empty());
      CHECK(m.pushed == 3);
      CHECK(m.dropped_newest == 1);
      CHECK(m.dropped_oldest + m.timed_out == 0);
      CHECK(drain(q) == std::vector<int>{0, 1, 2});
      break;
    case bq_test::WhenFull::times_out:
      REQUIRE(item != nullptr);
      CHECK(*item == 3);
      CHECK(log.values.empty());
      CHECK(m.pushed == 3);
      CHECK(m.timed_out == 1);
      CHECK(m.dropped_oldest + m.dropped_newest == 0);
      CHECK(drain(q) == std::vector<int>{0, 1, 2});
      break;
  }
  CHECK(m.rejected_closed == 0);
  CHECK(m.dropped() == 1);
}

TEMPLATE_LIST_TEST_CASE("push_for and push_until use their own timeout instead of the config's",
                        "[policy][timing]", AllPolicies) {
  // The config's timeout is an hour for every policy: only the per-call one may apply.
  PtrQueue<TestType> q{small_config(2, 1h)};
  CloseAfter guard{q, 5s};
  REQUIRE(q.push(make(0)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);

  Ptr item = make(2);
  auto start = Clock::now();
  CHECK(q.push_for(std::move(item), 30ms) == bq_test::full_result<TestType>());
  if constexpr (bq_test::waits_when_full<TestType>()) CHECK(ms_since(start) >= 30.0);

  Ptr other = make(3);
  start = Clock::now();
  const auto deadline = start + 30ms;
  CHECK(q.push_until(std::move(other), deadline) == bq_test::full_result<TestType>());
  if constexpr (bq_test::waits_when_full<TestType>()) CHECK(Clock::now() >= deadline);

  if constexpr (bq_test::when_full<TestType>() == bq_test::WhenFull::evicts_oldest) {
    CHECK(drain(q) == std::vector<int>{2, 3});
  } else {
    CHECK(item != nullptr);
    CHECK(other != nullptr);
    CHECK(drain(q) == std::vector<int>{0, 1});
  }
}

TEMPLATE_LIST_TEST_CASE("emplace into a full queue applies the policy like push", "[policy]",
                        AllPolicies) {
  bq::BoundedQueue<std::pair<int, int>, TestType> q{config_for<TestType>(1)};
  CloseAfter guard{q, 5s};
  REQUIRE(q.emplace(1, 1) == bq::PushResult::pushed);
  CHECK(q.emplace(2, 2) == bq_test::full_result<TestType>());
  const auto head = q.try_pop();
  REQUIRE(head.has_value());
  const bool evicts = bq_test::when_full<TestType>() == bq_test::WhenFull::evicts_oldest;
  CHECK(head->first == (evicts ? 2 : 1));
}

TEMPLATE_LIST_TEST_CASE(
    "try_push into a full queue refuses instead of waiting or evicting, whatever the policy",
    "[policy]", AllPolicies) {
  EvictionLog log;
  PtrQueue<TestType> q{small_config(2, 1h), log.handler()};
  CloseAfter guard{q, 5s};
  REQUIRE(q.try_push(make(0)));
  REQUIRE(q.try_push(make(1)));
  const bq::QueueMetrics before = q.metrics();
  Ptr item = make(2);
  CHECK_FALSE(q.try_push(std::move(item)));
  CHECK_FALSE(q.try_emplace(nullptr));
  REQUIRE(item != nullptr);
  CHECK(*item == 2);
  CHECK(log.values.empty());
  CHECK(q.metrics() == before);  // A failed try_push is not a drop: nothing is counted.
  CHECK_FALSE(q.is_closed());    // CloseAfter did not have to fire.
  CHECK(drain(q) == std::vector<int>{0, 1});
}

TEMPLATE_LIST_TEST_CASE("force_push evicts the oldest whatever the policy and returns it",
                        "[policy]", AllPolicies) {
  EvictionLog log;
  PtrQueue<TestType> q{config_for<TestType>(3), log.handler()};
  CloseAfter guard{q, 5s};

  bq::ForcePushResult<Ptr> first = q.force_push(make(0));
  CHECK(first.result == bq::PushResult::pushed);
  CHECK_FALSE(first.evicted.has_value());
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);

  bq::ForcePushResult<Ptr> forced = q.force_push(make(3));
  CHECK(forced.result == bq::PushResult::replaced_oldest);
  REQUIRE(forced.evicted.has_value());
  REQUIRE(*forced.evicted != nullptr);
  CHECK(**forced.evicted == 0);
  CHECK(log.values.empty());  // Returned to the caller, not passed to the handler.

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 4);
  CHECK(m.dropped_oldest == 1);
  CHECK(m.dropped_newest + m.timed_out + m.rejected_closed == 0);
  CHECK(drain(q) == std::vector<int>{1, 2, 3});

  // force_push(const T&), for a copyable T.
  bq::BoundedQueue<int, TestType> ints{config_for<TestType>(1)};
  const int value = 7;
  CHECK(ints.force_push(value).result == bq::PushResult::pushed);
  const bq::ForcePushResult<int> again = ints.force_push(value + 1);
  CHECK(again.result == bq::PushResult::replaced_oldest);
  CHECK(again.evicted == std::optional<int>(7));
  CHECK(ints.try_pop() == std::optional<int>(8));
}

TEMPLATE_LIST_TEST_CASE("a waiting push succeeds with pushed when room appears during the wait",
                        "[policy][timing]", AllPolicies) {
  if constexpr (!bq_test::waits_when_full<TestType>()) {
    SUCCEED("this policy never waits");
  } else {
    EvictionLog log;
    PtrQueue<TestType> q{small_config(1, 10s), log.handler()};
    REQUIRE(q.push(make(0)) == bq::PushResult::pushed);
    std::thread consumer([&q] {
      std::this_thread::sleep_for(50ms);
      (void)q.try_pop();
    });
    Ptr item = make(1);
    const auto start = Clock::now();
    const bq::PushResult result = q.push(std::move(item));
    const double waited_ms = ms_since(start);
    consumer.join();
    CHECK(result == bq::PushResult::pushed);
    CHECK(waited_ms < 5000.0);  // Woken by the pop, not by the 10 s timeout.
    CHECK(item == nullptr);
    CHECK(log.values.empty());
    CHECK(drain(q) == std::vector<int>{1});
    CHECK(q.metrics().dropped() == 0);
  }
}

TEMPLATE_TEST_CASE("a waiting push takes a single freed slot of a large full queue",
                   "[policy][timing]", bq::Mpmc, bq::Spsc) {
  // A pusher that found the queue full first waits briefly for room for a
  // batch (see wait_for_room); that must never turn into waiting for more
  // than the one slot a consumer freed.
  constexpr std::size_t kCapacity = 1024;
  bq::BoundedQueue<std::uint64_t, bq::Block, TestType> q{small_config(kCapacity, 10s)};
  for (std::uint64_t i = 0; i < kCapacity; ++i) REQUIRE(q.try_push(i));
  std::thread consumer([&q] {
    std::this_thread::sleep_for(50ms);
    CHECK(q.try_pop() == std::optional<std::uint64_t>(0));
  });
  const auto start = Clock::now();
  const bq::PushResult result = q.push(kCapacity);
  const double waited_ms = ms_since(start);
  consumer.join();
  CHECK(result == bq::PushResult::pushed);
  CHECK(waited_ms < 5000.0);  // Took the one slot, not the 10 s timeout.
  CHECK(q.size() == kCapacity);
  CHECK(q.metrics().timed_out == 0);
}

TEST_CASE("drop_oldest passes each evicted item to the handler in order, in the pushing thread",
          "[policy][evict]") {
  EvictionLog log;
  PtrQueue<bq::DropOldest> q{3, log.handler()};
  for (int i = 0; i < 10; ++i) {
    const bq::PushResult expected =
        i < 3 ? bq::PushResult::pushed : bq::PushResult::replaced_oldest;
    REQUIRE(q.push(make(i)) == expected);
  }
  CHECK(log.values == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  for (const auto& id : log.threads) CHECK(id == std::this_thread::get_id());

  // From another pushing thread, the handler runs in that thread.
  std::thread::id pusher_id;
  std::thread pusher([&] {
    pusher_id = std::this_thread::get_id();
    (void)q.push(make(10));
  });
  pusher.join();
  REQUIRE(log.threads.size() == 8);
  CHECK(log.threads.back() == pusher_id);
  CHECK(log.values.back() == 7);
  CHECK(drain(q) == std::vector<int>{8, 9, 10});
  CHECK(q.metrics().dropped_oldest == 8);
}

TEST_CASE("without a handler evicted items are destroyed and counted", "[policy][evict]") {
  std::weak_ptr<int> watch;
  {
    bq::BoundedQueue<std::shared_ptr<int>, bq::DropOldest> q{1};
    auto first = std::make_shared<int>(1);
    watch = first;
    REQUIRE(q.push(std::move(first)) == bq::PushResult::pushed);
    CHECK(q.push(std::make_shared<int>(2)) == bq::PushResult::replaced_oldest);
    CHECK(watch.expired());
    CHECK(q.metrics().dropped_oldest == 1);
  }
}

TEST_CASE("the eviction handler runs outside any lock: other threads can pop meanwhile",
          "[policy][evict]") {
  // While the handler runs, another thread pops from the same queue. If the handler
  // were called under a lock, that pop could not finish and the wait below times out.
  std::mutex mutex;
  std::condition_variable cv;
  bool popped = false;
  std::optional<int> popped_value;
  bool handler_saw_pop = false;

  std::unique_ptr<bq::BoundedQueue<int, bq::DropOldest>> q;
  q = std::make_unique<bq::BoundedQueue<int, bq::DropOldest>>(2, [&](int&&) {
    std::thread popper([&] {
      auto item = q->try_pop();
      std::lock_guard<std::mutex> lock(mutex);
      popped_value = item;
      popped = true;
      cv.notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(mutex);
      handler_saw_pop = cv.wait_for(lock, 5s, [&] { return popped; });
    }
    popper.join();
  });
  REQUIRE(q->push(1) == bq::PushResult::pushed);
  REQUIRE(q->push(2) == bq::PushResult::pushed);
  CHECK(q->push(3) == bq::PushResult::replaced_oldest);
  CHECK(handler_saw_pop);
  CHECK(popped_value == std::optional<int>(2));
  CHECK(q->try_pop() == std::optional<int>(3));
  const bq::QueueMetrics m = q->metrics();
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
}

// The eviction is atomic with the push (the oldest item's slot is reused in the same step),
// so the handler can only run after the push has queued its item.
TEST_CASE("a throwing eviction handler propagates from a push that has queued its item",
          "[policy][evict]") {
  int calls = 0;
  PtrQueue<bq::DropOldest> q{2, [&calls](Ptr&& evicted) {
                               ++calls;
                               CHECK(*evicted == 1);
                               throw std::runtime_error("handler failed");
                             }};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);
  Ptr item = make(3);
  CHECK_THROWS_WITH(q.push(std::move(item)), "handler failed");
  CHECK(calls == 1);
  CHECK(item == nullptr);  // Queued: moved into the queue.
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.dropped_oldest == 1);  // The oldest left the queue and reached the handler.
  CHECK(m.pushed == 3);
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  // The queue stays usable and holds the two newest items.
  CHECK(drain(q) == std::vector<int>{2, 3});
}

TEST_CASE("drop_newest refuses the new item, keeps the queue unchanged, and does not wait",
          "[policy]") {
  PtrQueue<bq::DropNewest> q{small_config(2, 1h)};
  CloseAfter guard{q, 5s};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);
  for (int i = 0; i < 3; ++i) {
    Ptr item = make(10 + i);
    CHECK(q.push(std::move(item)) == bq::PushResult::dropped_newest);
    CHECK(item != nullptr);
  }
  CHECK(q.metrics().dropped_newest == 3);
  CHECK(q.metrics().dropped() == 3);
  CHECK(drain(q) == std::vector<int>{1, 2});
}

TEST_CASE("block waits up to the config's block_timeout, then times out and keeps the item",
          "[policy][timing]") {
  PtrQueue<bq::Block> q{small_config(1, 50ms)};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  Ptr item = make(2);
  const auto start = Clock::now();
  CHECK(q.push(std::move(item)) == bq::PushResult::timed_out);
  const double waited = ms_since(start);
  CHECK(waited >= 50.0);
  CHECK(waited < 2000.0);
  CHECK(item != nullptr);
  CHECK(q.metrics().timed_out == 1);
  CHECK(q.metrics().dropped() == 1);
  CHECK(drain(q) == std::vector<int>{1});
}

TEST_CASE("block_then<drop_oldest> waits the timeout, then evicts the oldest to the handler",
          "[policy][timing]") {
  EvictionLog log;
  PtrQueue<bq::BlockThen<bq::DropOldest>> q{small_config(2, 40ms), log.handler()};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);
  auto start = Clock::now();
  CHECK(q.push(make(3)) == bq::PushResult::replaced_oldest);
  CHECK(ms_since(start) >= 40.0);
  CHECK(log.values == std::vector<int>{1});
  start = Clock::now();
  CHECK(q.push_for(make(4), 0ms) == bq::PushResult::replaced_oldest);  // Zero: evicts at once.
  CHECK(ms_since(start) < 2000.0);
  CHECK(log.values == std::vector<int>{1, 2});
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.dropped_oldest == 2);
  CHECK(m.timed_out == 0);
  CHECK(drain(q) == std::vector<int>{3, 4});
}

TEST_CASE("block_then<drop_newest> waits the timeout, then refuses the item as dropped_newest",
          "[policy][timing]") {
  PtrQueue<bq::BlockThen<bq::DropNewest>> q{small_config(1, 40ms)};
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  Ptr item = make(2);
  const auto start = Clock::now();
  CHECK(q.push(std::move(item)) == bq::PushResult::dropped_newest);
  CHECK(ms_since(start) >= 40.0);
  CHECK(item != nullptr);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.dropped_newest == 1);
  CHECK(m.timed_out == 0);
  CHECK(drain(q) == std::vector<int>{1});
}

TEST_CASE("dynamic does what QueueConfig::policy says", "[policy][config][timing]") {
  const bq::OverflowPolicy chosen = GENERATE(
      bq::OverflowPolicy::drop_oldest, bq::OverflowPolicy::drop_newest, bq::OverflowPolicy::block);
  CAPTURE(bq::to_string(chosen));
  bq::QueueConfig config = small_config(1, 30ms);
  config.policy = chosen;
  EvictionLog log;
  PtrQueue<bq::Dynamic> q{config, log.handler()};
  CHECK(q.policy().policy() == chosen);
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  Ptr item = make(2);
  const auto start = Clock::now();
  const bq::PushResult result = q.push(std::move(item));
  const bq::QueueMetrics m = q.metrics();
  switch (chosen) {
    case bq::OverflowPolicy::drop_oldest:
      CHECK(result == bq::PushResult::replaced_oldest);
      CHECK(log.values == std::vector<int>{1});
      CHECK(m.dropped_oldest == 1);
      CHECK(drain(q) == std::vector<int>{2});
      break;
    case bq::OverflowPolicy::drop_newest:
      CHECK(result == bq::PushResult::dropped_newest);
      CHECK(item != nullptr);
      CHECK(m.dropped_newest == 1);
      CHECK(drain(q) == std::vector<int>{1});
      break;
    case bq::OverflowPolicy::block:
      CHECK(result == bq::PushResult::timed_out);
      CHECK(ms_since(start) >= 30.0);
      CHECK(item != nullptr);
      CHECK(m.timed_out == 1);
      CHECK(drain(q) == std::vector<int>{1});
      break;
  }
}

TEST_CASE("a user-written policy is built from the config and decides what a full push does",
          "[policy][custom]") {
  bq_test::CountingDropNewest::calls = 0;
  bq::BoundedQueue<int, bq_test::CountingDropNewest> q{small_config(2)};
  CHECK(q.policy().capacity_seen() == 2);
  CHECK(q.push(1) == bq::PushResult::pushed);
  CHECK(q.push(2) == bq::PushResult::pushed);
  const long before_full = bq_test::CountingDropNewest::calls;
  CHECK(q.push(3) == bq::PushResult::dropped_newest);
  CHECK(q.push(4) == bq::PushResult::dropped_newest);
  CHECK(bq_test::CountingDropNewest::calls >= before_full + 2);
  CHECK(q.metrics().dropped_newest == 2);
}

TEST_CASE("a user-written policy is consulted only when the queue is full", "[policy][custom]") {
  bq_test::CountingDropNewest::calls = 0;
  bq::BoundedQueue<int, bq_test::CountingDropNewest> q{small_config(2)};
  CHECK(q.push(1) == bq::PushResult::pushed);
  CHECK(q.push(2) == bq::PushResult::pushed);
  CHECK(bq_test::CountingDropNewest::calls == 0);
  CHECK(q.push(3) == bq::PushResult::dropped_newest);
  CHECK(bq_test::CountingDropNewest::calls >= 1);
}

TEST_CASE("a user-written policy that answers wait past its deadline times out",
          "[policy][custom][timing]") {
  bq::BoundedQueue<int, bq_test::StubbornWait> q{small_config(1, 30ms)};
  CloseAfter guard{q, 5s};
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  const auto start = Clock::now();
  CHECK(q.push(2) == bq::PushResult::timed_out);
  CHECK(ms_since(start) >= 30.0);
  CHECK(q.push_for(3, 0ms) == bq::PushResult::timed_out);
  CHECK(q.metrics().timed_out == 2);
}

TEST_CASE("a user-written evicting policy without a may_evict member evicts", "[policy][custom]") {
  EvictionLog log;
  PtrQueue<bq_test::EvictNoTraits> q{2, log.handler()};
  for (int i = 0; i < 5; ++i) (void)q.push(make(i));
  CHECK(log.values == std::vector<int>{0, 1, 2});
  CHECK(drain(q) == std::vector<int>{3, 4});
}

TEST_CASE("every push that does not queue leaves its rvalue argument unmoved", "[policy]") {
  SECTION("dropped_newest") {
    PtrQueue<bq::DropNewest> q{1};
    REQUIRE(q.push(make(0)) == bq::PushResult::pushed);
    Ptr a = make(1), b = make(2), c = make(3);
    CHECK(q.push(std::move(a)) == bq::PushResult::dropped_newest);
    CHECK(q.push_for(std::move(b), 1h) == bq::PushResult::dropped_newest);
    CHECK(q.push_until(std::move(c), Clock::now() + 1h) == bq::PushResult::dropped_newest);
    CHECK((a && b && c));
  }
  SECTION("timed_out") {
    PtrQueue<bq::Block> q{small_config(1, 5ms)};
    REQUIRE(q.push(make(0)) == bq::PushResult::pushed);
    Ptr a = make(1), b = make(2), c = make(3);
    CHECK(q.push(std::move(a)) == bq::PushResult::timed_out);
    CHECK(q.push_for(std::move(b), 5ms) == bq::PushResult::timed_out);
    CHECK(q.push_until(std::move(c), Clock::now() + 5ms) == bq::PushResult::timed_out);
    CHECK((a && b && c));
  }
  SECTION("closed") {
    PtrQueue<bq::DropOldest> q{1};
    q.close();
    Ptr a = make(1), b = make(2), c = make(3), d = make(4);
    CHECK(q.push(std::move(a)) == bq::PushResult::closed);
    CHECK(q.push_for(std::move(b), 1h) == bq::PushResult::closed);
    CHECK(q.push_until(std::move(c), Clock::now() + 1h) == bq::PushResult::closed);
    CHECK(q.force_push(std::move(d)).result == bq::PushResult::closed);
    CHECK((a && b && c && d));
  }
  SECTION("try_push on a full queue") {
    PtrQueue<bq::DropOldest> q{1};
    REQUIRE(q.push(make(0)) == bq::PushResult::pushed);
    Ptr a = make(1);
    CHECK_FALSE(q.try_push(std::move(a)));
    CHECK(a != nullptr);
  }
}

TEST_CASE("each push outcome increments exactly its own metrics counter", "[policy][metrics]") {
  bq::QueueConfig config = small_config(2, 1ms);
  config.policy = bq::OverflowPolicy::block;
  bq::BoundedQueue<int, bq::Dynamic> q{config};
  bq::QueueMetrics expected;
  expected.capacity = 2;
  auto check = [&] {
    const bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == expected.pushed);
    CHECK(m.popped == expected.popped);
    CHECK(m.dropped_oldest == expected.dropped_oldest);
    CHECK(m.dropped_newest == expected.dropped_newest);
    CHECK(m.timed_out == expected.timed_out);
    CHECK(m.rejected_closed == expected.rejected_closed);
    CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  };
  REQUIRE(q.push(1) == bq::PushResult::pushed);
  ++expected.pushed;
  check();
  REQUIRE(q.try_push(2));
  ++expected.pushed;
  check();
  REQUIRE_FALSE(q.try_push(3));  // Counts nothing.
  check();
  REQUIRE(q.push(3) == bq::PushResult::timed_out);
  ++expected.timed_out;
  check();
  REQUIRE(q.force_push(4).result == bq::PushResult::replaced_oldest);
  ++expected.pushed;
  ++expected.dropped_oldest;
  check();
  REQUIRE(q.try_pop() == std::optional<int>(2));
  ++expected.popped;
  check();
  q.close();
  REQUIRE(q.push(5) == bq::PushResult::closed);
  REQUIRE(q.emplace(6) == bq::PushResult::closed);
  expected.rejected_closed += 2;
  REQUIRE_FALSE(q.try_push(7));  // A failed try_push counts nothing, closed or not.
  check();
  REQUIRE(q.pop() == std::optional<int>(4));
  ++expected.popped;
  check();
  CHECK(q.metrics().dropped() == expected.dropped_oldest + expected.timed_out);
}

TEST_CASE("a Dynamic queue refuses a config whose policy is not a named OverflowPolicy",
          "[policy][config]") {
  bq::QueueConfig config = small_config(2);
  config.policy = static_cast<bq::OverflowPolicy>(42);
  // Before, it was accepted and behaved as block.
  CHECK_THROWS_AS((bq::BoundedQueue<int, bq::Dynamic>{config}), bq::ConfigError);
  CHECK_THROWS_WITH((bq::BoundedQueue<int, bq::Dynamic>{config}),
                    Catch::Contains("policy 42") && Catch::Contains("drop_newest"));
}
