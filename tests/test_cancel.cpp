// Cancellable waits (std::stop_token, where the standard library has it): pop(),
// pop_for(), pop_until(), push(), push_for() and push_until() with a token return
// nullopt / `cancelled` promptly when a stop is requested while they wait; a stop
// requested before the call only keeps them from waiting; a token never stopped
// changes nothing. A cancelled push keeps its item unmoved and counts nowhere. No
// waiter stays registered: later pushes, pops and close() behave, and debug builds
// assert at destruction that nobody waits. Both concurrency modes, every policy.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#if BQ_HAS_STOP_TOKEN

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
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

using bq_test::kPromptMs;
using bq_test::make;
using bq_test::Ptr;

/// Waits until `flag` is set, then long enough for its thread to be asleep in the queue.
void let_it_block(const std::atomic<bool>& flag) {
  while (!flag.load()) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);
}

/// The pop forms that take a stop token, by index.
constexpr int kPopForms = 4;
template <class Q>
std::optional<Ptr> pop_form(Q& q, int form, const std::stop_token& stop) {
  switch (form) {
    case 0: return q.pop(stop);
    case 1: return q.pop_for(1h, stop);
    case 2: return q.pop_until(Clock::now() + 1h, stop);
    default: return q.pop_until(std::chrono::system_clock::now() + 1h, stop);
  }
}

/// The push forms that take a stop token, by index (push() waits up to block_timeout).
constexpr int kPushForms = 4;
template <class Q>
bq::PushResult push_form(Q& q, int form, Ptr& item, const std::stop_token& stop) {
  switch (form) {
    case 0: return q.push(std::move(item), stop);
    case 1: return q.push_for(std::move(item), 1h, stop);
    case 2: return q.push_until(std::move(item), Clock::now() + 1h, stop);
    default: return q.push_until(std::move(item), std::chrono::system_clock::now() + 1h, stop);
  }
}

template <class Concurrency>
using BlockQueue = bq::BoundedQueue<Ptr, bq::Block, Concurrency>;

}  // namespace

using Modes = std::tuple<bq::Mpmc, bq::Spsc>;

TEMPLATE_LIST_TEST_CASE("a stop requested during a pop's wait returns nullopt promptly",
                        "[cancel][timing]", Modes) {
  for (int form = 0; form < kPopForms; ++form) {
    INFO("pop form " << form);
    BlockQueue<TestType> q{small_config(2, 1h)};
    Watchdog watchdog("stop during pop");
    std::stop_source source;
    std::atomic<bool> started{false};
    std::optional<Ptr> result = make(-1);
    Clock::time_point returned{};
    std::thread popper([&] {
      started = true;
      result = pop_form(q, form, source.get_token());
      returned = Clock::now();
    });
    let_it_block(started);
    const auto requested = Clock::now();
    CHECK(source.request_stop());
    popper.join();
    CHECK_FALSE(result.has_value());
    CHECK(std::chrono::duration<double, std::milli>(returned - requested).count() < kPromptMs);

    // Nothing stale: the queue works, and the cancelled popper took nothing.
    REQUIRE(q.push(make(7)) == bq::PushResult::pushed);
    auto item = q.pop_for(1h, std::stop_token{});
    REQUIRE(item);
    CHECK(**item == 7);
    const auto m = q.metrics();
    CHECK(m.pushed == 1);
    CHECK(m.popped == 1);
  }
}

TEMPLATE_LIST_TEST_CASE("a stop requested before a pop keeps it from waiting, not from taking",
                        "[cancel][timing]", Modes) {
  BlockQueue<TestType> q{small_config(2, 1h)};
  std::stop_source source;
  source.request_stop();
  for (int form = 0; form < kPopForms; ++form) {
    INFO("pop form " << form);
    const auto start = Clock::now();
    CHECK_FALSE(pop_form(q, form, source.get_token()).has_value());
    CHECK(ms_since(start) < kPromptMs);
    REQUIRE(q.push(make(form)) == bq::PushResult::pushed);
    auto item = pop_form(q, form, source.get_token());
    REQUIRE(item);
    CHECK(**item == form);
  }
  CHECK(q.metrics().popped == kPopForms);
}

TEMPLATE_LIST_TEST_CASE("a pop with a token never stopped waits for an item or close",
                        "[cancel][timing]", Modes) {
  BlockQueue<TestType> q{small_config(2, 1h)};
  Watchdog watchdog("pop with an unstopped token");
  std::stop_source source;
  std::atomic<bool> started{false};
  std::vector<int> got;
  std::thread popper([&] {
    started = true;
    while (auto item = q.pop(source.get_token())) got.push_back(**item);
  });
  let_it_block(started);
  REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
  REQUIRE(q.push(make(2)) == bq::PushResult::pushed);
  std::this_thread::sleep_for(20ms);
  q.close();  // the only way out: the token is never stopped
  popper.join();
  CHECK(got == std::vector<int>{1, 2});
  CHECK_FALSE(source.stop_requested());
}

TEMPLATE_LIST_TEST_CASE(
    "a stop requested during a push's wait returns cancelled and leaves the item unmoved",
    "[cancel][timing]", AllPolicies) {
  if constexpr (bq_test::waits_when_full<TestType>()) {
    for (int form = 0; form < kPushForms; ++form) {
      INFO("push form " << form);
      bq::BoundedQueue<Ptr, TestType> q{small_config(1, 1h)};
      REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
      Watchdog watchdog("stop during push");
      std::stop_source source;
      std::atomic<bool> started{false};
      Ptr item = make(2);
      bq::PushResult result = bq::PushResult::pushed;
      Clock::time_point returned{};
      std::thread pusher([&] {
        started = true;
        result = push_form(q, form, item, source.get_token());
        returned = Clock::now();
      });
      let_it_block(started);
      const auto requested = Clock::now();
      source.request_stop();
      pusher.join();
      CHECK(result == bq::PushResult::cancelled);
      CHECK(std::chrono::duration<double, std::milli>(returned - requested).count() < kPromptMs);
      REQUIRE(item);  // unmoved
      CHECK(*item == 2);
      const auto m = q.metrics();
      CHECK(m.pushed == 1);
      CHECK(m.dropped() == 0);
      CHECK(m.timed_out == 0);
      CHECK(m.rejected_closed == 0);
      CHECK(m.discarded == 0);

      // Nothing stale: room made by a pop is there for the next push.
      auto first = q.try_pop();
      REQUIRE(first);
      CHECK(**first == 1);
      CHECK(q.push(std::move(item), std::stop_token{}) == bq::PushResult::pushed);
      CHECK(q.size() == 1);
    }
  } else {
    // A policy that never waits applies as without a token, stopped or not.
    bq::BoundedQueue<Ptr, TestType> q{small_config(1, 1h)};
    REQUIRE(q.push(make(1)) == bq::PushResult::pushed);
    std::stop_source source;
    source.request_stop();
    Ptr item = make(2);
    const bq::PushResult result = q.push(std::move(item), source.get_token());
    CHECK(result == bq_test::full_result<TestType>());
    CHECK(bq::accepted(result) == !item);
  }
}

TEMPLATE_LIST_TEST_CASE("a stop requested before a push keeps it from waiting, not from pushing",
                        "[cancel][timing]", Modes) {
  BlockQueue<TestType> q{small_config(1, 1h)};
  std::stop_source source;
  source.request_stop();
  Ptr item = make(1);
  CHECK(q.push(std::move(item), source.get_token()) == bq::PushResult::pushed);
  CHECK_FALSE(item);
  for (int form = 0; form < kPushForms; ++form) {
    INFO("push form " << form);
    Ptr other = make(2);
    const auto start = Clock::now();
    CHECK(push_form(q, form, other, source.get_token()) == bq::PushResult::cancelled);
    CHECK(ms_since(start) < kPromptMs);
    CHECK(other);
  }
  // A zero timeout has passed at once: the policy answers, not the token.
  Ptr late = make(3);
  CHECK(q.push_for(std::move(late), 0ms, source.get_token()) == bq::PushResult::timed_out);
  CHECK(late);
  CHECK(q.metrics().timed_out == 1);
  CHECK(q.metrics().dropped() == 1);
}

TEMPLATE_LIST_TEST_CASE(
    "a push with a token never stopped times out, is closed or pushes as before",
    "[cancel][timing]", Modes) {
  BlockQueue<TestType> q{small_config(1, 20ms)};
  std::stop_source source;
  REQUIRE(q.push(make(1), source.get_token()) == bq::PushResult::pushed);
  Ptr item = make(2);
  const auto start = Clock::now();
  CHECK(q.push(std::move(item), source.get_token()) == bq::PushResult::timed_out);
  CHECK(ms_since(start) >= 20.0);  // a timeout never returns early
  CHECK(item);
  CHECK(q.push_for(std::move(item), 5ms, source.get_token()) == bq::PushResult::timed_out);
  CHECK(q.metrics().timed_out == 2);

  Watchdog watchdog("push with an unstopped token");
  std::atomic<bool> started{false};
  bq::PushResult result = bq::PushResult::pushed;
  std::thread pusher([&] {
    started = true;
    result = q.push_for(std::move(item), 1h, source.get_token());
  });
  let_it_block(started);
  q.close();
  pusher.join();
  CHECK(result == bq::PushResult::closed);
  CHECK(item);
}

TEMPLATE_LIST_TEST_CASE("a std::jthread consumer stops when the jthread is destroyed", "[cancel]",
                        Modes) {
  BlockQueue<TestType> q{small_config(4, 1h)};
  Watchdog watchdog("jthread consumer");
  std::atomic<int> consumed{0};
  {
    std::jthread consumer([&](std::stop_token stop) {
      while (auto item = q.pop(stop)) consumed += **item;
    });
    for (int i = 1; i <= 100; ++i) REQUIRE(q.push(make(i)) == bq::PushResult::pushed);
    while (!q.empty()) std::this_thread::sleep_for(1ms);
  }  // ~jthread: request_stop(), then join: the consumer's pop must return
  CHECK(consumed == 5050);
  CHECK_FALSE(q.is_closed());
  CHECK(q.metrics().popped == 100);
}

TEMPLATE_LIST_TEST_CASE("a std::jthread producer blocked on a full queue stops when destroyed",
                        "[cancel][timing]", Modes) {
  BlockQueue<TestType> q{small_config(2, 1h)};
  Watchdog watchdog("jthread producer");
  std::atomic<int> cancelled{0};
  std::atomic<int> pushed{0};
  {
    std::jthread producer([&](std::stop_token stop) {
      for (int i = 0;; ++i) {
        Ptr item = make(i);
        const auto result = q.push(std::move(item), stop);
        if (result == bq::PushResult::cancelled) {
          if (item) ++cancelled;
          return;
        }
        ++pushed;
      }
    });
    while (q.size() < 2) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(cancelled == 1);
  CHECK(pushed == 2);
  CHECK(q.metrics().pushed == 2);
  CHECK(q.metrics().dropped() == 0);
}

TEMPLATE_LIST_TEST_CASE("stop requests racing with waits lose no wake-up and no item",
                        "[cancel][stress]", Modes) {
  // One popper and one pusher at a time (Spsc), each with a token stopped at once or
  // soon; a Watchdog turns a lost wake-up into a failure. Every item pushed is popped
  // or still queued.
  const int rounds = static_cast<int>(bq_test::scaled(300));
  BlockQueue<TestType> q{small_config(1, 1h)};
  Watchdog watchdog("stop races");
  std::uint64_t popped = 0;
  std::uint64_t pushed = 0;
  bool moved_when_cancelled = false;
  for (int round = 0; round < rounds; ++round) {
    std::stop_source pop_stop;
    std::stop_source push_stop;
    std::atomic<bool> go{false};
    std::thread popper([&] {
      while (!go.load()) {
      }
      for (;;) {
        auto item = q.pop(pop_stop.get_token());
        if (!item) return;
        ++popped;
      }
    });
    std::thread pusher([&] {
      while (!go.load()) {
      }
      for (int i = 0;; ++i) {
        Ptr item = make(i);
        const auto result = q.push(std::move(item), push_stop.get_token());
        if (result == bq::PushResult::cancelled) {
          if (!item) moved_when_cancelled = true;
          return;
        }
        ++pushed;
      }
    });
    go = true;
    if (round % 3 != 0) std::this_thread::sleep_for(std::chrono::microseconds(round % 200));
    if (round % 2 == 0) {
      pop_stop.request_stop();
      push_stop.request_stop();
    } else {
      push_stop.request_stop();
      pop_stop.request_stop();
    }
    popper.join();
    pusher.join();
  }
  while (auto item = q.try_pop()) ++popped;
  const auto m = q.metrics();
  CHECK(m.pushed == pushed);
  CHECK(m.popped == popped);
  CHECK(pushed == popped);
  CHECK(m.dropped() == 0);
  CHECK_FALSE(moved_when_cancelled);
}

TEMPLATE_LIST_TEST_CASE("a stop request that wakes a sleeping waiter never leaves it stuck",
                        "[cancel][stress]", Modes) {
  // Each round, a pop on an empty queue or a push on a full one is asleep (well past
  // its spin) when the stop comes, so the stop's own wake-up ends the wait, and the
  // woken thread unregisters that wake-up while the requesting thread may still be
  // finishing it. A Watchdog turns a thread stuck there into a failure.
  const int rounds = static_cast<int>(bq_test::scaled(400));
  BlockQueue<TestType> empty{small_config(1, 1h)};
  BlockQueue<TestType> full{small_config(1, 1h)};
  REQUIRE(full.push(make(0)) == bq::PushResult::pushed);
  Watchdog watchdog("stop wakes sleepers");
  int cancelled = 0;
  for (int round = 0; round < rounds; ++round) {
    std::stop_source stop;
    std::atomic<bool> waiting{false};
    bool ended_by_stop = false;
    std::thread waiter([&] {
      waiting = true;
      if (round % 2 == 0) {
        ended_by_stop = !empty.pop(stop.get_token()).has_value();
      } else {
        Ptr item = make(round);
        ended_by_stop = full.push(std::move(item), stop.get_token()) == bq::PushResult::cancelled &&
                        item != nullptr;
      }
    });
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(2ms);
    stop.request_stop();
    waiter.join();
    cancelled += ended_by_stop ? 1 : 0;
  }
  CHECK(cancelled == rounds);
  CHECK(empty.metrics().popped == 0);
  CHECK(full.metrics().pushed == 1);
}

TEST_CASE("many poppers each cancelled by its own token: each item popped once",
          "[cancel][stress]") {
  constexpr int kPoppers = 6;
  const auto items = static_cast<int>(bq_test::scaled(20000));
  bq::BoundedQueue<int, bq::Block> q{small_config(8, 1h)};
  Watchdog watchdog("many cancelled poppers");
  std::vector<std::stop_source> sources(kPoppers);
  std::vector<std::vector<int>> got(kPoppers);
  std::vector<std::thread> poppers;
  for (int p = 0; p < kPoppers; ++p) {
    poppers.emplace_back([&, p] {
      while (auto item = q.pop(sources[static_cast<std::size_t>(p)].get_token())) {
        got[static_cast<std::size_t>(p)].push_back(*item);
      }
    });
  }
  for (int i = 0; i < items; ++i) {
    if (i == items / 3) sources[0].request_stop();
    if (i == items / 2) sources[1].request_stop();
    REQUIRE(q.push(i) == bq::PushResult::pushed);
  }
  for (int p = 2; p < kPoppers; ++p) sources[static_cast<std::size_t>(p)].request_stop();
  for (auto& t : poppers) t.join();
  std::vector<int> seen(static_cast<std::size_t>(items), 0);
  for (const auto& list : got) {
    for (int i : list) ++seen[static_cast<std::size_t>(i)];
  }
  while (auto item = q.try_pop()) ++seen[static_cast<std::size_t>(*item)];
  int wrong = 0;
  for (int count : seen) wrong += count != 1;
  CHECK(wrong == 0);
  const auto m = q.metrics();
  CHECK(m.pushed == static_cast<std::uint64_t>(items));
  CHECK(m.popped == static_cast<std::uint64_t>(items));
}

#else

TEST_CASE("cancellable waits are not built without std::stop_token", "[cancel]") {
  STATIC_REQUIRE(BQ_HAS_STOP_TOKEN == 0);
}

#endif
