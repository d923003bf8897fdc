// Item lifetimes: every item constructed is destroyed exactly once (on pop, on
// eviction, or with the queue); no slot keeps a moved-from or default-constructed
// object; move-only, non-default-constructible, over-aligned and large types work.
//
// Exceptions (T's copy/move may throw; fault injection from support/tracked.hpp):
// the guarantee tested here is
//   - push/emplace/try_push/force_push/push_for whose copy or move into the queue
//     throws: the exception reaches the caller, the caller's item is untouched, the
//     queue's contents, size and metrics are as before the call (strong guarantee
//     for the pushed item; an eviction that the push had already completed stands),
//     and the queue's full capacity stays usable;
//   - a pop whose move out of the queue throws: the exception reaches the caller,
//     that item is destroyed and counted as popped (basic guarantee);
//   - an evicting push whose move of the evicted item throws: that item is destroyed and
//     counted in dropped_oldest, the push's own item is not queued, the exception
//     propagates;
// and in every case instance counts balance, nothing is destroyed twice, the queue
// stays usable, and pushed == popped + dropped_oldest + size. (A throwing eviction
// handler runs after its push queued the item: that push throws with its item queued.)
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::InjectedFault;
using bq_test::Large;
using bq_test::Lifetimes;
using bq_test::MoveOnly;
using bq_test::NoDefault;
using bq_test::OverAligned;
using bq_test::Tracked;

/// Checks the lifetime counters once every tracked object is gone.
void check_balanced() {
  CHECK(Lifetimes::live() == 0);
  CHECK(Lifetimes::constructed() == Lifetimes::destroyed());
  CHECK(Lifetimes::bad_destroys() == 0);
  CHECK(Lifetimes::misaligned() == 0);
}

template <class Queue>
void check_invariant(const Queue& q) {
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  CHECK(m.size == q.size());
  CHECK(m.size <= m.capacity);
}

/// Returns the value of a popped item, or kNothing for nullopt (never dereferences nullopt).
constexpr std::uint64_t kNothing = ~std::uint64_t{0};
template <class T>
std::uint64_t value_of(const std::optional<T>& item) {
  return item ? item->value() : kNothing;
}

template <class T>
bool payload_ok(const T& item) {
  if constexpr (std::is_same_v<T, Large>) {
    return item.intact();
  } else {
    return item.alive();
  }
}

}  // namespace

TEMPLATE_TEST_CASE("every item is destroyed exactly once: on pop, on eviction, with the queue",
                   "[lifetime]", Tracked, NoDefault, MoveOnly, OverAligned, Large) {
  Lifetimes::reset();
  {
    std::vector<std::uint64_t> evicted;
    bq::BoundedQueue<TestType, bq::DropOldest> q{3, [&](TestType&& item) {
                                                   CHECK(payload_ok(item));
                                                   evicted.push_back(item.value());
                                                 }};
    for (std::uint64_t i = 0; i < 5; ++i) (void)q.push(TestType{i});
    CHECK(evicted == std::vector<std::uint64_t>{0, 1});
    // The queue holds exactly its items: no default-constructed or moved-from slot objects.
    CHECK(Lifetimes::live() == 3);
    {
      const std::optional<TestType> item = q.pop();
      REQUIRE(item.has_value());
      CHECK(item->value() == 2);
      CHECK(payload_ok(*item));
      CHECK_FALSE(item->moved_from());
    }
    CHECK(Lifetimes::live() == 2);
    {
      bq::ForcePushResult<TestType> forced = q.force_push(TestType{5});
      CHECK(forced.result == bq::PushResult::pushed);
      forced = q.force_push(TestType{6});
      REQUIRE(forced.evicted.has_value());
      CHECK(forced.evicted->value() == 3);
      CHECK(payload_ok(*forced.evicted));
    }
    CHECK(Lifetimes::live() == 3);
    (void)q.emplace(std::uint64_t{7});  // Evicted without the caller's help: to the handler.
    CHECK(evicted == std::vector<std::uint64_t>{0, 1, 4});
    CHECK(Lifetimes::live() == 3);
    check_invariant(q);
  }  // The three items left are destroyed with the queue.
  check_balanced();
}

TEST_CASE("a queue that pushed and popped everything holds no object", "[lifetime]") {
  Lifetimes::reset();
  const std::size_t capacity = GENERATE(1u, 2u, 7u);
  bq::BoundedQueue<Tracked, bq::DropNewest> q{capacity};
  for (std::uint64_t round = 0; round < 20; ++round) {
    for (std::size_t i = 0; i < capacity; ++i)
      REQUIRE(q.push(Tracked{round}) == bq::PushResult::pushed);
    CHECK(Lifetimes::live() == static_cast<long long>(capacity));
    while (q.try_pop()) {
    }
    CHECK(Lifetimes::live() == 0);
  }
  CHECK(Lifetimes::bad_destroys() == 0);
}

TEST_CASE("items are moved, never copied, through push, pop, eviction and force_push",
          "[lifetime]") {
  Lifetimes::reset();
  {
    bq::BoundedQueue<Tracked, bq::DropOldest> q{2, [](Tracked&&) {}};
    Tracked a{1};
    (void)q.push(std::move(a));
    (void)q.push(Tracked{2});
    (void)q.push(Tracked{3});  // Evicts 1 to the handler.
    (void)q.force_push(Tracked{4});
    (void)q.try_push(Tracked{5});
    (void)q.push_for(Tracked{6}, 1ms);
    (void)q.pop();
    (void)q.pop_for(1ms);
    CHECK(Lifetimes::copies() == 0);
  }
  check_balanced();
}

TEST_CASE("move-only std::unique_ptr items are all deleted, wherever they end", "[lifetime]") {
  Lifetimes::reset();
  {
    std::vector<std::unique_ptr<Tracked>> kept;
    bq::BoundedQueue<std::unique_ptr<Tracked>, bq::DropOldest> q{
        2, [&](std::unique_ptr<Tracked>&& item) {
          if (item->value() % 2 == 0) kept.push_back(std::move(item));  // Keep some, drop others.
        }};
    for (std::uint64_t i = 0; i < 10; ++i) (void)q.push(std::make_unique<Tracked>(i));
    CHECK(kept.size() == 4);  // 0, 2, 4, 6 kept; 1, 3, 5, 7 deleted by the queue.
    CHECK(Lifetimes::live() == 6);
    auto first = q.try_pop();
    REQUIRE(first.has_value());
    CHECK((*first)->value() == 8);
  }
  check_balanced();
}

TEST_CASE("a type without a default constructor works with every member", "[lifetime]") {
  Lifetimes::reset();
  {
    using bq::PushResult;
    bq::BoundedQueue<NoDefault, bq::DropOldest> q{2, [](NoDefault&&) {}};
    const NoDefault copy_me{1};
    CHECK(q.push(copy_me) == PushResult::pushed);
    CHECK(q.push(NoDefault{2}) == PushResult::pushed);
    CHECK(q.emplace(std::uint64_t{3}) == PushResult::replaced_oldest);  // [2, 3]
    CHECK_FALSE(q.try_push(NoDefault{4}));
    CHECK_FALSE(q.try_emplace(std::uint64_t{5}));
    CHECK(q.push_for(NoDefault{6}, 1ms) == PushResult::replaced_oldest);  // [3, 6]
    CHECK(q.push_until(copy_me, bq_test::Clock::now() + 1ms) ==
          PushResult::replaced_oldest);                                        // [6, 1]
    const bq::ForcePushResult<NoDefault> forced = q.force_push(NoDefault{7});  // [1, 7]
    REQUIRE(forced.evicted.has_value());
    CHECK(forced.evicted->value() == 6);
    CHECK(value_of(q.pop()) == 1);
    CHECK(value_of(q.pop_for(1ms)) == 7);
    CHECK_FALSE(q.pop_until(bq_test::Clock::now() + 1ms).has_value());
    CHECK_FALSE(q.try_pop().has_value());

    bq::BoundedQueue<NoDefault, bq::Block, bq::Spsc> spsc{1};
    CHECK(spsc.push(copy_me) == PushResult::pushed);
    CHECK(spsc.push_for(NoDefault{8}, 0ms) == PushResult::timed_out);
    CHECK(value_of(spsc.pop()) == 1);
  }
  check_balanced();
}

TEMPLATE_TEST_CASE("over-aligned and large items keep their alignment and payload in any slot",
                   "[lifetime]", OverAligned, Large) {
  Lifetimes::reset();
  const std::size_t capacity = GENERATE(1u, 3u, 5u, 8u);
  CAPTURE(capacity);
  {
    std::uint64_t handled = 0;
    bq::BoundedQueue<TestType, bq::DropOldest> q{capacity, [&](TestType&& item) {
                                                   if (payload_ok(item)) ++handled;
                                                 }};
    std::uint64_t next_out = 0;
    for (std::uint64_t i = 0; i < 50; ++i) {
      (void)q.push(TestType{i});
      if (i % 3 == 0) {
        const auto item = q.try_pop();
        REQUIRE(item.has_value());
        CHECK(item->value() >= next_out);
        next_out = item->value() + 1;
        CHECK(payload_ok(*item));
        CHECK(reinterpret_cast<std::uintptr_t>(&*item) % alignof(TestType) == 0);
      }
    }
    CHECK(handled == q.metrics().dropped_oldest);
    CHECK(Lifetimes::misaligned() == 0);
  }
  check_balanced();
}

TEMPLATE_TEST_CASE("a push whose copy or move throws reaches the caller and changes nothing",
                   "[lifetime][exception]", (bq::BoundedQueue<Tracked, bq::DropOldest>),
                   (bq::BoundedQueue<Tracked, bq::Block>),
                   (bq::BoundedQueue<Tracked, bq::Block, bq::Spsc>),
                   (bq::BoundedQueue<Tracked, bq::DropOldest, bq::Spsc>)) {
  Lifetimes::reset();
  {
    TestType q{bq_test::small_config(3)};
    REQUIRE(q.push(Tracked{1}) == bq::PushResult::pushed);
    const bq::QueueMetrics before = q.metrics();
    Tracked item{2};

    auto attempt = [&](auto&& push_once) {
      Lifetimes::fail_nth_copy_or_move(1);
      CHECK_THROWS_AS(push_once(), InjectedFault);
      Lifetimes::fail_nth_copy_or_move(0);
      CHECK(item.value() == 2);
      CHECK_FALSE(item.moved_from());
      CHECK(q.size() == 1);
      CHECK(q.metrics() == before);
      CHECK(Lifetimes::live() == 2);  // The queued item and the caller's.
    };
    SECTION("push(T&&)") {
      attempt([&] { (void)q.push(std::move(item)); });
    }
    SECTION("push(const T&)") {
      attempt([&] { (void)q.push(std::as_const(item)); });
    }
    SECTION("emplace") {
      attempt([&] { (void)q.emplace(std::move(item)); });
    }
    SECTION("push_for") {
      attempt([&] { (void)q.push_for(std::move(item), 1h); });
    }
    SECTION("push_until") {
      attempt([&] { (void)q.push_until(std::move(item), bq_test::Clock::now() + 1h); });
    }
    SECTION("try_push") {
      attempt([&] { (void)q.try_push(std::move(item)); });
    }
    // force_push needs the MPMC ring: not available on a Spsc queue that never evicts.
    if constexpr (!std::is_same_v<TestType, bq::BoundedQueue<Tracked, bq::Block, bq::Spsc>>) {
      SECTION("force_push") {
        attempt([&] { (void)q.force_push(std::move(item)); });
      }
    }
    CHECK(Lifetimes::faults_thrown() == 1);

    // The queue stays usable, and its whole capacity is still there.
    CHECK(q.try_push(Tracked{3}));
    CHECK(q.try_push(Tracked{4}));
    CHECK(q.size() == 3);
    CHECK(value_of(q.try_pop()) == 1);
    CHECK(value_of(q.try_pop()) == 3);
    CHECK(value_of(q.try_pop()) == 4);
    CHECK_FALSE(q.try_pop().has_value());
    check_invariant(q);
  }
  check_balanced();
}

TEST_CASE("after pushes that throw, the queue keeps its full capacity and its FIFO order",
          "[lifetime][exception]") {
  Lifetimes::reset();
  {
    bq::BoundedQueue<Tracked, bq::DropNewest> q{2};
    for (std::uint64_t round = 0; round < 10; ++round) {
      REQUIRE(q.push(Tracked{2 * round}) == bq::PushResult::pushed);
      Tracked failing{999};
      Lifetimes::fail_nth_copy_or_move(1);
      CHECK_THROWS_AS(q.push(std::move(failing)), InjectedFault);
      // One item queued of two: a push must fit without dropping anything.
      CHECK(q.size() == 1);
      CHECK(q.push(Tracked{2 * round + 1}) == bq::PushResult::pushed);
      CHECK(q.size() == 2);
      CHECK(value_of(q.try_pop()) == 2 * round);
      CHECK(value_of(q.try_pop()) == 2 * round + 1);
    }
    check_invariant(q);
  }
  check_balanced();
}

TEST_CASE("a push that throws never makes drop_oldest evict from a queue that is not full",
          "[lifetime][exception]") {
  Lifetimes::reset();
  {
    std::vector<std::uint64_t> evicted;
    bq::BoundedQueue<Tracked, bq::DropOldest> q{
        2, [&](Tracked&& item) { evicted.push_back(item.value()); }};
    REQUIRE(q.push(Tracked{1}) == bq::PushResult::pushed);
    Tracked failing{2};
    Lifetimes::fail_nth_copy_or_move(1);
    CHECK_THROWS_AS(q.push(std::move(failing)), InjectedFault);
    CHECK(q.push(Tracked{3}) == bq::PushResult::pushed);  // Room for it: nothing evicted.
    CHECK(evicted.empty());
    CHECK(q.metrics().dropped_oldest == 0);
    check_invariant(q);
  }
  check_balanced();
}

/// Arms the fault at each of the first copies/moves an evicting push makes (the new
/// item's, the evicted item's, or one the handler makes) and checks the queue stays
/// consistent and usable, and that a push that threw did not queue its item unless
/// the throw came from the eviction handler, which runs after the push.
static void fault_sweep_evicting_push(bool with_handler) {
  const long long nth = GENERATE(1, 2, 3, 4);
  CAPTURE(with_handler, nth);
  Lifetimes::reset();
  {
    std::vector<Tracked> kept;
    kept.reserve(16);
    bq::BoundedQueue<Tracked, bq::DropOldest>::EvictionHandler handler;
    bool handler_threw = false;
    if (with_handler) {
      handler = [&](Tracked&& item) {
        handler_threw = true;  // until the move below returns
        kept.push_back(std::move(item));
        handler_threw = false;
      };
    }
    bq::BoundedQueue<Tracked, bq::DropOldest> q{2, handler};
    REQUIRE(q.push(Tracked{1}) == bq::PushResult::pushed);
    REQUIRE(q.push(Tracked{2}) == bq::PushResult::pushed);
    Tracked item{3};
    Lifetimes::fail_nth_copy_or_move(nth);
    bool threw = false;
    try {
      const bq::PushResult result = q.push(std::move(item));
      CHECK(result == bq::PushResult::replaced_oldest);
    } catch (const InjectedFault&) {
      threw = true;
    }
    const bool fault_fired = Lifetimes::faults_thrown() == 1;
    Lifetimes::fail_nth_copy_or_move(0);
    CHECK(threw == fault_fired);
    if (threw && !handler_threw) {
      CHECK_FALSE(item.moved_from());  // Not queued: the caller keeps it intact.
    } else {
      // Queued. A handler runs only after the push queued its item, so a throwing
      // handler propagates from a push whose item is in the queue.
      CHECK(item.moved_from());
    }
    check_invariant(q);
    CHECK(Lifetimes::live() ==
          static_cast<long long>(q.size() + 1 + kept.size()));  // queue + caller + handler's
    // Usable: fill it and read it back in order.
    (void)q.push(Tracked{10});
    (void)q.push(Tracked{11});
    CHECK(value_of(q.try_pop()) == 10);
    CHECK(value_of(q.try_pop()) == 11);
    check_invariant(q);
  }
  check_balanced();
}

TEST_CASE("fault injection at every move of an evicting push keeps the books balanced",
          "[lifetime][exception]") {
  fault_sweep_evicting_push(false);
}

// Here the fault can also hit the move the eviction handler makes (the handler throws).
TEST_CASE(
    "fault injection at every move of an evicting push with a handler keeps the books "
    "balanced",
    "[lifetime][exception]") {
  fault_sweep_evicting_push(true);
}

TEMPLATE_TEST_CASE("a pop whose move throws destroys that item, counts it popped, and propagates",
                   "[lifetime][exception]", (bq::BoundedQueue<Tracked, bq::DropOldest>),
                   (bq::BoundedQueue<Tracked, bq::Block, bq::Spsc>)) {
  Lifetimes::reset();
  {
    TestType q{bq_test::small_config(4)};
    for (std::uint64_t i = 1; i <= 4; ++i) REQUIRE(q.push(Tracked{i}) == bq::PushResult::pushed);

    auto failing_pop = [&](auto&& pop_once) {
      Lifetimes::fail_nth_copy_or_move(1);
      CHECK_THROWS_AS(pop_once(), InjectedFault);
      Lifetimes::fail_nth_copy_or_move(0);
    };
    failing_pop([&] { (void)q.try_pop(); });
    CHECK(q.size() == 3);
    CHECK(Lifetimes::live() == 3);  // Item 1 was destroyed, not leaked.
    CHECK(q.metrics().popped == 1);
    failing_pop([&] { (void)q.pop(); });
    failing_pop([&] { (void)q.pop_for(1h); });
    CHECK(Lifetimes::live() == 1);
    CHECK(q.metrics().popped == 3);
    check_invariant(q);

    CHECK(value_of(q.try_pop()) == 4);  // FIFO continues after the failures.
    CHECK(q.push(Tracked{5}) == bq::PushResult::pushed);
    CHECK(value_of(q.pop()) == 5);
    check_invariant(q);
  }
  check_balanced();
}

TEST_CASE("a pop whose move throws on a later move is still balanced", "[lifetime][exception]") {
  // Whichever move of the pop path the fault hits, the outcome is either the item
  // or the exception, and the counts balance.
  const long long nth = GENERATE(1, 2, 3);
  CAPTURE(nth);
  Lifetimes::reset();
  {
    bq::BoundedQueue<Tracked, bq::Block> q{3};
    REQUIRE(q.push(Tracked{1}) == bq::PushResult::pushed);
    REQUIRE(q.push(Tracked{2}) == bq::PushResult::pushed);
    Lifetimes::fail_nth_copy_or_move(nth);
    std::optional<Tracked> item;
    bool threw = false;
    try {
      item = q.pop();
    } catch (const InjectedFault&) {
      threw = true;
    }
    CHECK(threw == (Lifetimes::faults_thrown() == 1));
    Lifetimes::fail_nth_copy_or_move(0);
    CHECK(q.size() == 1);
    CHECK(q.metrics().popped == 1);
    if (!threw) {
      REQUIRE(item.has_value());
      CHECK(item->value() == 1);
    }
    CHECK(value_of(q.try_pop()) == 2);
    check_invariant(q);
  }
  check_balanced();
}
