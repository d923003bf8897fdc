// Fault injection: item types whose copy or move constructor throws on a chosen call
// (tests/support/tracked.hpp), and eviction handlers that throw. After every throw:
// the queue's invariants hold, the documented exception guarantee holds (an item is queued
// exactly when the caller's rvalue was moved from; nothing is lost without being counted),
// instance counts balance, nothing deadlocks, and the queue stays usable.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <bq/bounded_queue.hpp>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono_literals;
using bq::PushResult;
using bq_test::InjectedFault;
using bq_test::Lifetimes;
using bq_test::Tracked;

/// Every push-like call a fault can hit.
enum class PushCall { push_move, push_copy, emplace, push_for_zero, try_push, force_push };
constexpr PushCall kPushCalls[] = {PushCall::push_move, PushCall::push_copy,
                                   PushCall::emplace,   PushCall::push_for_zero,
                                   PushCall::try_push,  PushCall::force_push};

const char* name(PushCall call) {
  switch (call) {
    case PushCall::push_move: return "push(T&&)";
    case PushCall::push_copy: return "push(const T&)";
    case PushCall::emplace: return "emplace";
    case PushCall::push_for_zero: return "push_for(T&&, 0ms)";
    case PushCall::try_push: return "try_push(T&&)";
    case PushCall::force_push: return "force_push(T&&)";
  }
  return "?";
}

/// What a push call did: its result (if it returned), and what force_push handed back.
struct Outcome {
  bool threw = false;
  std::optional<PushResult> result;
  std::optional<std::uint64_t> returned_evicted;
};

template <class Q>
Outcome call_push(Q& q, PushCall call, Tracked& item) {
  Outcome out;
  try {
    switch (call) {
      case PushCall::push_move: out.result = q.push(std::move(item)); break;
      case PushCall::push_copy: out.result = q.push(static_cast<const Tracked&>(item)); break;
      case PushCall::emplace: out.result = q.emplace(item.value()); break;
      case PushCall::push_for_zero: out.result = q.push_for(std::move(item), 0ms); break;
      case PushCall::try_push:
        out.result = q.try_push(std::move(item)) ? PushResult::pushed : PushResult::dropped_newest;
        break;
      case PushCall::force_push: {
        auto r = q.force_push(std::move(item));
        out.result = r.result;
        if (r.evicted) out.returned_evicted = r.evicted->value();
        break;
      }
    }
  } catch (const InjectedFault&) {
    out.threw = true;
  }
  return out;
}

/// Pops everything with faults disarmed; returns the values in order.
template <class Q>
std::vector<std::uint64_t> drain(Q& q) {
  std::vector<std::uint64_t> values;
  while (auto item = q.try_pop()) values.push_back(item->value());
  return values;
}

bool balanced(const bq::QueueMetrics& m) {
  return m.pushed == m.popped + m.dropped_oldest + m.size;
}

template <class Policy>
void check_push_faults(std::size_t capacity, std::size_t fill, bool with_handler, PushCall call,
                       int nth) {
  constexpr std::uint64_t kNew = 1000;
  Lifetimes::reset();
  std::vector<std::uint64_t> handled;
  {
    using Q = bq::BoundedQueue<Tracked, Policy>;
    typename Q::EvictionHandler handler;
    if (with_handler) handler = [&](Tracked&& t) { handled.push_back(t.value()); };
    Q q(bq_test::small_config(capacity, 0ms), handler);
    std::vector<std::uint64_t> original;
    for (std::uint64_t v = 1; v <= fill; ++v) {
      REQUIRE(q.try_emplace(v));
      original.push_back(v);
    }
    const bq::QueueMetrics before = q.metrics();
    Tracked item(kNew);

    Lifetimes::fail_nth_copy_or_move(nth);
    const Outcome outcome = call_push(q, call, item);
    const bool fired = Lifetimes::faults_thrown() > 0;
    Lifetimes::fail_nth_copy_or_move(0);

    const bq::QueueMetrics after = q.metrics();
    INFO(name(call) << ", fault at copy/move #" << nth << (fired ? " (fired)" : " (not reached)")
                    << ", capacity " << capacity << ", " << fill << " queued, handler "
                    << with_handler << (outcome.threw ? ", threw" : ", returned"));
    // Only the injected fault escapes, and only if it fired.
    CHECK(outcome.threw == (outcome.threw && fired));
    CHECK(balanced(after));
    CHECK(after.size <= capacity);
    CHECK(after.high_watermark <= capacity);

    // The pushed item is queued exactly when `pushed` went up; an rvalue the queue did not
    // keep is left unmoved, and one it kept is moved from.
    const bool queued = after.pushed == before.pushed + 1;
    CHECK(after.pushed - before.pushed <= 1);
    const bool rvalue_call = call != PushCall::push_copy && call != PushCall::emplace;
    if (rvalue_call) CHECK(item.moved_from() == queued);
    if (outcome.result) CHECK(bq::accepted(*outcome.result) == queued);
    // A push that threw did not queue its item (only a throwing handler, tested below, can
    // leave it queued) and counts no drop or rejection.
    if (outcome.threw) {
      CHECK_FALSE(queued);
      CHECK(after.dropped_newest == before.dropped_newest);
      CHECK(after.timed_out == before.timed_out);
      CHECK(after.rejected_closed == before.rejected_closed);
    }

    // Evicted: the oldest `evicted` items, each counted, each handed to the handler or back
    // to the caller, or destroyed if the fault hit its move.
    const std::uint64_t evicted = after.dropped_oldest - before.dropped_oldest;
    REQUIRE(evicted <= fill);
    CHECK(evicted <= 1);
    std::vector<std::uint64_t> delivered = handled;
    if (outcome.returned_evicted) delivered.push_back(*outcome.returned_evicted);
    CHECK(delivered.size() <= evicted);
    for (std::size_t i = 0; i < delivered.size(); ++i) CHECK(delivered[i] == original[i]);
    if (!outcome.threw && (with_handler || call == PushCall::force_push)) {
      CHECK(delivered.size() == evicted);  // no fault: nothing evicted goes undelivered
    }

    // Live objects: the queued ones, the caller's item, the returned evicted one (already
    // destroyed with the Outcome's optional: we kept only its value).
    CHECK(Lifetimes::live() == static_cast<long long>(after.size) + 1);

    // What is left is the rest of the original items, then the new one if queued.
    std::vector<std::uint64_t> expected(original.begin() + static_cast<std::ptrdiff_t>(evicted),
                                        original.end());
    if (queued) expected.push_back(kNew);
    CHECK(drain(q) == expected);

    // Still usable, in order.
    CHECK(q.try_emplace(std::uint64_t{7}));
    CHECK(drain(q) == std::vector<std::uint64_t>{7});
    CHECK(bq::accepted(q.push(Tracked(8))));
    CHECK(drain(q) == std::vector<std::uint64_t>{8});
    CHECK(balanced(q.metrics()));
  }
  CHECK(Lifetimes::live() == 0);
  CHECK(Lifetimes::bad_destroys() == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("a throwing copy or move in any push leaves the queue consistent and usable",
                   "[fault_injection][exceptions][policy]", bq::DropOldest, bq::DropNewest,
                   bq::Block, bq::BlockThen<bq::DropOldest>) {
  for (std::size_t capacity : {1U, 3U}) {
    for (std::size_t fill : {std::size_t{0}, std::size_t{1}, capacity - 1, capacity}) {
      for (bool with_handler : {false, true}) {
        for (PushCall call : kPushCalls) {
          for (int nth = 1; nth <= 4; ++nth) {
            check_push_faults<TestType>(capacity, fill, with_handler, call, nth);
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("a throwing move in any pop destroys and counts that item only",
                   "[fault_injection][exceptions]", bq::DropOldest, bq::Block) {
  using Q = bq::BoundedQueue<Tracked, TestType>;
  for (int variant = 0; variant < 4; ++variant) {
    for (int nth = 1; nth <= 3; ++nth) {
      Lifetimes::reset();
      {
        Q q(bq_test::small_config(3, 0ms));
        for (std::uint64_t v = 1; v <= 3; ++v) REQUIRE(q.try_emplace(v));
        Lifetimes::fail_nth_copy_or_move(nth);
        std::optional<Tracked> got;
        bool threw = false;
        try {
          switch (variant) {
            case 0: got = q.try_pop(); break;
            case 1: got = q.pop(); break;
            case 2: got = q.pop_for(0ms); break;
            default: got = q.pop_until(std::chrono::steady_clock::now() + 1h); break;
          }
        } catch (const InjectedFault&) {
          threw = true;
        }
        Lifetimes::fail_nth_copy_or_move(0);
        INFO("pop variant " << variant << ", fault at move #" << nth);
        const bq::QueueMetrics m = q.metrics();
        CHECK(balanced(m));
        CHECK(m.popped == 1);  // delivered or destroyed: either way it left the queue
        if (!threw) {
          REQUIRE(got.has_value());
          CHECK(got->value() == 1);
        }
        CHECK(Lifetimes::live() == (threw ? 2 : 3));  // a pop that threw destroyed its item
        CHECK(drain(q) == std::vector<std::uint64_t>{2, 3});
        CHECK(q.try_emplace(std::uint64_t{9}));
        CHECK(drain(q) == std::vector<std::uint64_t>{9});
      }
      CHECK(Lifetimes::live() == 0);
      CHECK(Lifetimes::bad_destroys() == 0);
    }
  }
}

TEST_CASE("an eviction handler that throws: the push's item is queued, the victim counted",
          "[fault_injection][exceptions][evict]") {
  struct HandlerError {};
  Lifetimes::reset();
  {
    int calls = 0;
    std::vector<std::uint64_t> handled;
    bq::BoundedQueue<Tracked, bq::DropOldest> q(2, [&](Tracked&& t) {
      if (++calls % 2 == 1) throw HandlerError{};
      handled.push_back(t.value());
    });
    REQUIRE(q.try_emplace(std::uint64_t{1}));
    REQUIRE(q.try_emplace(std::uint64_t{2}));
    Tracked three(3);
    CHECK_THROWS_AS(q.push(std::move(three)), HandlerError);
    // Documented in bounded_queue.hpp: the handler runs after the push queued its item.
    bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == 3);
    CHECK(m.dropped_oldest == 1);
    CHECK(m.size == 2);
    CHECK(balanced(m));
    CHECK(three.moved_from());
    CHECK(Lifetimes::live() == 3);  // 2 queued + the moved-from `three`
    // The next eviction reaches the handler; the queue goes on in order.
    CHECK(q.push(Tracked(4)) == PushResult::replaced_oldest);
    CHECK(handled == std::vector<std::uint64_t>{2});
    CHECK(drain(q) == std::vector<std::uint64_t>{3, 4});
    m = q.metrics();
    CHECK(balanced(m));
    CHECK(m.dropped_oldest == 2);
  }
  CHECK(Lifetimes::live() == 0);
  CHECK(Lifetimes::bad_destroys() == 0);
}

TEST_CASE("a push whose construction throws does not strand a waiting consumer",
          "[fault_injection][exceptions][wait][timing]") {
  Lifetimes::reset();
  {
    bq_test::Watchdog watchdog("fault injection: waiting consumer", std::chrono::seconds(120));
    bq::BoundedQueue<Tracked, bq::Block> q(bq_test::small_config(2, 0ms));
    std::optional<Tracked> got;
    std::atomic<bool> waiting{false};
    std::thread consumer([&] {
      waiting = true;
      got = q.pop_for(60s);
    });
    while (!waiting) std::this_thread::yield();
    std::this_thread::sleep_for(5ms);  // likely asleep by now; the test holds either way
    Lifetimes::fail_nth_copy_or_move(1);
    Tracked doomed(1);
    CHECK_THROWS_AS(q.push(std::move(doomed)), InjectedFault);
    CHECK_FALSE(doomed.moved_from());
    CHECK(q.push(Tracked(2)) == PushResult::pushed);
    consumer.join();
    REQUIRE(got.has_value());
    CHECK(got->value() == 2);  // the failed push left a hole that the pop skipped
    const bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == 1);
    CHECK(m.popped == 1);
    CHECK(balanced(m));
  }
  CHECK(Lifetimes::live() == 0);
}

TEST_CASE("a pop whose move throws still wakes a producer waiting for room",
          "[fault_injection][exceptions][wait][timing]") {
  Lifetimes::reset();
  {
    bq_test::Watchdog watchdog("fault injection: waiting producer", std::chrono::seconds(120));
    bq::BoundedQueue<Tracked, bq::Block> q(bq_test::small_config(1, 0ms));
    REQUIRE(q.try_emplace(std::uint64_t{1}));
    std::optional<PushResult> result;
    std::atomic<bool> waiting{false};
    std::thread producer([&] {
      waiting = true;
      result = q.push_for(Tracked(2), 60s);
    });
    while (!waiting) std::this_thread::yield();
    std::this_thread::sleep_for(5ms);
    Lifetimes::fail_nth_copy_or_move(1);
    CHECK_THROWS_AS(q.try_pop(), InjectedFault);
    Lifetimes::fail_nth_copy_or_move(0);
    producer.join();
    REQUIRE(result.has_value());
    CHECK(*result == PushResult::pushed);  // woken by the failed pop, long before 60 s
    CHECK(drain(q) == std::vector<std::uint64_t>{2});
    CHECK(balanced(q.metrics()));
  }
  CHECK(Lifetimes::live() == 0);
}

TEMPLATE_TEST_CASE("random faults under concurrency lose nothing uncounted and never deadlock",
                   "[fault_injection][exceptions][stress]", bq::DropOldest, bq::DropNewest,
                   bq::Block) {
  constexpr std::size_t kProducers = 3;
  constexpr std::size_t kConsumers = 2;
  const std::uint64_t per_producer = bq_test::scaled(3000);
  Lifetimes::reset();
  std::vector<std::vector<std::uint64_t>> kept(kProducers);  // not queued: still the caller's
  std::vector<std::vector<std::uint64_t>> popped(kConsumers);
  std::vector<std::uint64_t> pop_faults(kConsumers, 0);
  std::vector<std::vector<std::uint64_t>> handled(kProducers);
  std::vector<std::uint64_t> handler_calls_by_thread(kProducers, 0);
  std::atomic<bool> producers_done{false};
  bq::QueueMetrics m;
  {
    bq_test::Watchdog watchdog("fault injection: concurrent", std::chrono::seconds(120));
    thread_local std::vector<std::uint64_t>* sink = nullptr;
    bq::BoundedQueue<Tracked, TestType> q(bq_test::small_config(4, 1ms), [](Tracked&& t) {
      if (sink != nullptr) sink->push_back(t.value());
    });
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < kConsumers; ++c) {
      threads.emplace_back([&, c] {
        for (;;) {
          try {
            auto item = q.pop_for(1ms);
            if (item) {
              popped[c].push_back(item->value());
            } else if (q.is_closed()) {
              if (!(item = q.try_pop())) return;  // closed and empty
              popped[c].push_back(item->value());
            }
          } catch (const InjectedFault&) {
            ++pop_faults[c];
          }
        }
      });
    }
    Lifetimes::fail_nth_copy_or_move(7);  // armed before anyone runs, re-armed below
    std::thread faulter([&] {
      std::mt19937 rng(12345);
      while (!producers_done) {
        if (!Lifetimes::fault_armed()) Lifetimes::fail_nth_copy_or_move(1 + rng() % 40);
        std::this_thread::yield();
      }
    });
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        sink = &handled[p];
        for (std::uint64_t k = 0; k < per_producer; ++k) {
          const std::uint64_t id = (p << 32) | k;
          Tracked item(id);
          bool queued = false;
          try {
            queued = bq::accepted(k % 3 == 0 ? q.push(std::move(item))
                                             : q.push_for(std::move(item), 1ms));
          } catch (const InjectedFault&) {
            queued = item.moved_from();  // the documented rule: moved from == queued
          }
          if (!queued) kept[p].push_back(id);
        }
        sink = nullptr;
      });
    }
    for (auto& t : producers) t.join();
    producers_done = true;
    faulter.join();
    // A DropNewest push into a full queue moves nothing, so if the consumers were not
    // scheduled while the producers ran (a loaded machine), the queue is still full and
    // fewer moves than the first fault needs may have happened: then the drain's first
    // move meets one. (A queue drained by now saw at least 8 moves: the fault fired.)
    Lifetimes::fail_nth_copy_or_move(Lifetimes::faults_thrown() == 0 ? 1 : 0);
    q.close();
    for (auto& t : threads) t.join();
    Lifetimes::fail_nth_copy_or_move(0);
    m = q.metrics();
  }
  // Tally every id: popped, handed to the handler, kept by its producer, or destroyed by a
  // fault while leaving the queue (counted in popped or dropped_oldest but not delivered).
  std::vector<std::vector<int>> seen(kProducers, std::vector<int>(per_producer, 0));
  std::uint64_t received = 0;
  std::uint64_t delivered_evictions = 0;
  for (auto& v : popped) {
    received += v.size();
    for (auto id : v) ++seen[id >> 32][id & 0xffffffff];
  }
  for (auto& v : handled) {
    delivered_evictions += v.size();
    for (auto id : v) ++seen[id >> 32][id & 0xffffffff];
  }
  for (auto& v : kept) {
    for (auto id : v) ++seen[id >> 32][id & 0xffffffff];
  }
  std::uint64_t missing = 0;
  std::uint64_t duplicated = 0;
  for (auto& row : seen) {
    for (int n : row) {
      missing += n == 0 ? 1 : 0;
      duplicated += n > 1 ? 1 : 0;
    }
  }
  std::uint64_t faults_in_pops = 0;
  for (auto n : pop_faults) faults_in_pops += n;
  INFO("faults thrown " << Lifetimes::faults_thrown() << ", in pops " << faults_in_pops);
  CHECK(Lifetimes::faults_thrown() > 0);
  CHECK(duplicated == 0);
  CHECK(m.size == 0);
  CHECK(balanced(m));
  CHECK(m.popped == received + faults_in_pops);
  CHECK(missing == (m.popped - received) + (m.dropped_oldest - delivered_evictions));
  CHECK(Lifetimes::live() == 0);
  CHECK(Lifetimes::bad_destroys() == 0);
}
