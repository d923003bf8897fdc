// Linearizability of BoundedQueue: thousands of short concurrent histories (2-4 threads,
// capacities 1-4, every policy, close() and timed calls mixed in), each checked against the
// sequential specification of a bounded FIFO with that policy (tests/linearizability/).
// The checker is tested too: hand-written histories with a known answer, every history of an
// obviously correct mutex queue accepted, and queues broken on purpose (losing, reordering,
// falsely empty) caught.
// Some histories also have pushes that throw: their item's construction inside the queue
// fails (a FallibleItem marked to fail). Such a push has no effect, except that a drop-oldest
// push into a full queue may evict first (that eviction stands), and its slot may stay a
// hole that takes room until a pop or an evicting push passes it (see checker.hpp). Queues
// that mishandle a thrown push (lose an item, queue the item anyway) are caught too.
// Other histories mix batch calls (try_push_range, push_range, the pop_into family) in,
// each checked as a sequence of single-item steps inside its interval (see checker.hpp);
// queues whose batches misbehave (pop out of order, queue a non-prefix, pop more than asked
// for) are caught.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "linearizability/checker.hpp"
#include "linearizability/harness.hpp"
#include "linearizability/reference_queue.hpp"

#if __has_include(<bq/bounded_queue.hpp>)
#include <bq/bounded_queue.hpp>
#define BQ_LIN_HAVE_CORE 1
template <class P, class T = int>
using Subject = bq::BoundedQueue<T, P>;
#else
template <class P, class T = int>
using Subject = bq::lin::ReferenceQueue<T, P>;
#endif

namespace {

using bq::PushResult;
using bq::lin::Evictions;
using bq::lin::History;
using bq::lin::Op;
using bq::lin::OpKind;
using bq::lin::Spec;
using bq::lin::Verdict;
using bq::lin::WhenFull;

// ---------------------------------------------------------------------------------------
// Hand-written histories. Each op is written with its interval [invoke, response].

Op push(int thread, int value, PushResult result, std::uint64_t invoke, std::uint64_t response,
        std::vector<int> evicted = {}) {
  Op op;
  op.kind = OpKind::push;
  op.thread = thread;
  op.value = value;
  op.result = result;
  op.invoke = invoke;
  op.response = response;
  op.evicted = std::move(evicted);
  return op;
}
Op force_push(int thread, int value, PushResult result, std::uint64_t invoke,
              std::uint64_t response, std::vector<int> evicted = {}) {
  Op op = push(thread, value, result, invoke, response, std::move(evicted));
  op.kind = OpKind::force_push;
  return op;
}
Op try_push(int thread, int value, bool ok, std::uint64_t invoke, std::uint64_t response) {
  Op op;
  op.kind = OpKind::try_push;
  op.thread = thread;
  op.value = value;
  op.ok = ok;
  op.invoke = invoke;
  op.response = response;
  return op;
}
Op try_pop(int thread, std::optional<int> popped, std::uint64_t invoke, std::uint64_t response) {
  Op op;
  op.kind = OpKind::try_pop;
  op.thread = thread;
  op.popped = popped;
  op.invoke = invoke;
  op.response = response;
  return op;
}
Op pop(int thread, std::optional<int> popped, std::uint64_t invoke, std::uint64_t response) {
  Op op = try_pop(thread, popped, invoke, response);
  op.kind = OpKind::pop;
  return op;
}
/// A push (of `kind`) whose item's construction threw, after evicting `evicted`.
Op threw(OpKind kind, int thread, int value, std::uint64_t invoke, std::uint64_t response,
         std::vector<int> evicted = {}) {
  Op op = push(thread, value, PushResult::pushed, invoke, response, std::move(evicted));
  op.kind = kind;
  op.threw = true;
  return op;
}
Op close(int thread, std::uint64_t invoke, std::uint64_t response) {
  Op op;
  op.kind = OpKind::close;
  op.thread = thread;
  op.invoke = invoke;
  op.response = response;
  return op;
}

Spec spec(std::size_t capacity, WhenFull when_full, Evictions evictions = Evictions::atomic) {
  return Spec{capacity, when_full, evictions};
}

bool linearizable(const History& h, const Spec& s) {
  const auto result = bq::lin::check(h, s);
  INFO(result.message);
  REQUIRE(result.verdict != Verdict::gave_up);
  return result.ok();
}

constexpr auto P = PushResult::pushed;
constexpr auto R = PushResult::replaced_oldest;
constexpr auto D = PushResult::dropped_newest;
constexpr auto T = PushResult::timed_out;
constexpr auto C = PushResult::closed;
constexpr auto kEvict = WhenFull::evict_oldest;
constexpr auto kDrop = WhenFull::drop_newest;
constexpr auto kTimeOut = WhenFull::time_out;

}  // namespace

TEST_CASE("checker accepts sequential FIFO histories and rejects reordered ones",
          "[linearizability][checker]") {
  const History fifo{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), try_pop(1, 1, 4, 5),
                     try_pop(1, 2, 6, 7), try_pop(1, std::nullopt, 8, 9)};
  CHECK(linearizable(fifo, spec(4, kDrop)));

  const History reordered{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), try_pop(1, 2, 4, 5),
                          try_pop(1, 1, 6, 7)};
  CHECK_FALSE(linearizable(reordered, spec(4, kDrop)));
}

TEST_CASE("checker lets overlapping operations take effect in either order",
          "[linearizability][checker]") {
  // push(1) and push(2) overlap, so 2 may have gone in first.
  const History h{push(0, 1, P, 0, 10), push(1, 2, P, 1, 9), try_pop(2, 2, 11, 12),
                  try_pop(2, 1, 13, 14)};
  CHECK(linearizable(h, spec(2, kDrop)));

  // A try_pop that finds nothing while a push is still running may go before it.
  const History empty_during_push{push(0, 1, P, 0, 10), try_pop(1, std::nullopt, 2, 3),
                                  try_pop(1, 1, 11, 12)};
  CHECK(linearizable(empty_during_push, spec(1, kDrop)));
}

TEST_CASE("checker lets a pop miss an oldest item still being pushed only where allowed",
          "[linearizability][checker]") {
  // push(1) is still running when the try_pop looks; push(2), queued after it, has returned.
  // No order explains the empty result (1 goes first, and 2 is in before the pop starts)
  // unless pops may give up on a position whose push is still writing it.
  const History missed{push(0, 1, P, 0, 10), push(1, 2, P, 1, 2), try_pop(2, std::nullopt, 3, 4),
                       try_pop(2, 1, 11, 12), try_pop(2, 2, 13, 14)};
  Spec strict = spec(2, kDrop);
  CHECK_FALSE(linearizable(missed, strict));
  Spec lenient = strict;
  lenient.pop_may_miss_pending = true;
  CHECK(linearizable(missed, lenient));

  // Once the oldest item's push has returned, a pop may not miss it.
  const History missed_done{push(0, 1, P, 0, 1), push(1, 2, P, 2, 3),
                            try_pop(2, std::nullopt, 4, 5)};
  CHECK_FALSE(linearizable(missed_done, lenient));
  // And a pop() that waits never gives up: only try_pop kinds may.
  const History pop_missed{push(0, 1, P, 0, 10), push(1, 2, P, 1, 2), pop(2, std::nullopt, 3, 4)};
  CHECK_FALSE(linearizable(pop_missed, lenient));
}

TEST_CASE("checker rejects lost, duplicated and invented items", "[linearizability][checker]") {
  const History lost{push(0, 1, P, 0, 1), try_pop(1, std::nullopt, 2, 3)};
  CHECK_FALSE(linearizable(lost, spec(2, kDrop)));

  const History duplicated{push(0, 1, P, 0, 1), try_pop(1, 1, 2, 3), try_pop(1, 1, 4, 5)};
  CHECK_FALSE(linearizable(duplicated, spec(2, kDrop)));

  const History invented{push(0, 1, P, 0, 1), try_pop(1, 7, 2, 3)};
  CHECK_FALSE(linearizable(invented, spec(2, kDrop)));

  // A pop that returns an item before the push that queues it was even invoked.
  const History from_the_future{try_pop(1, 1, 0, 1), push(0, 1, P, 2, 3)};
  CHECK_FALSE(linearizable(from_the_future, spec(2, kDrop)));
}

TEST_CASE("checker enforces the capacity and what each policy does when full",
          "[linearizability][checker][policy]") {
  const History over_capacity{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3)};
  CHECK_FALSE(linearizable(over_capacity, spec(1, kDrop)));

  const History try_push_full{try_push(0, 1, true, 0, 1), try_push(0, 2, false, 2, 3),
                              try_push(0, 3, true, 4, 5)};
  CHECK_FALSE(linearizable(try_push_full, spec(1, kDrop)));
  const History try_push_refused{try_push(0, 1, true, 0, 1), try_push(0, 2, false, 2, 3)};
  CHECK(linearizable(try_push_refused, spec(1, kEvict)));
  const History try_push_refused_with_room{try_push(0, 1, false, 0, 1)};
  CHECK_FALSE(linearizable(try_push_refused_with_room, spec(1, kEvict)));

  SECTION("drop oldest") {
    const History ok{push(0, 1, P, 0, 1), push(0, 2, R, 2, 3, {1}), try_pop(1, 2, 4, 5)};
    CHECK(linearizable(ok, spec(1, kEvict)));
    const History wrong_victim{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), push(0, 3, R, 4, 5, {2})};
    CHECK_FALSE(linearizable(wrong_victim, spec(2, kEvict)));
    const History unreported{push(0, 1, P, 0, 1), push(0, 2, R, 2, 3), try_pop(1, 2, 4, 5)};
    CHECK_FALSE(linearizable(unreported, spec(1, kEvict)));
    const History evicted_with_room{push(0, 1, P, 0, 1), push(0, 2, R, 2, 3, {1})};
    CHECK_FALSE(linearizable(evicted_with_room, spec(2, kEvict)));
    const History dropped{push(0, 1, P, 0, 1), push(0, 2, D, 2, 3)};
    CHECK_FALSE(linearizable(dropped, spec(1, kEvict)));
  }
  SECTION("drop newest") {
    const History ok{push(0, 1, P, 0, 1), push(0, 2, D, 2, 3), try_pop(1, 1, 4, 5)};
    CHECK(linearizable(ok, spec(1, kDrop)));
    const History dropped_with_room{push(0, 1, D, 0, 1)};
    CHECK_FALSE(linearizable(dropped_with_room, spec(1, kDrop)));
    const History timed_out{push(0, 1, P, 0, 1), push(0, 2, T, 2, 3)};
    CHECK_FALSE(linearizable(timed_out, spec(1, kDrop)));
  }
  SECTION("block with a timeout") {
    const History ok{push(0, 1, P, 0, 1), push(0, 2, T, 2, 3)};
    CHECK(linearizable(ok, spec(1, kTimeOut)));
    // Timed out although a pop made room before the push began.
    const History room{push(0, 1, P, 0, 1), try_pop(1, 1, 2, 3), push(0, 2, T, 4, 5)};
    CHECK_FALSE(linearizable(room, spec(1, kTimeOut)));
    // Timed out while a pop made room: fine if it gave up before the pop.
    const History racing{push(0, 1, P, 0, 1), try_pop(1, 1, 3, 4), push(0, 2, T, 2, 5)};
    CHECK(linearizable(racing, spec(1, kTimeOut)));
    // Waited, then got in after a pop made room.
    const History waited{push(0, 1, P, 0, 1), push(0, 2, P, 2, 9), try_pop(1, 1, 4, 5),
                         try_pop(1, 2, 10, 11)};
    CHECK(linearizable(waited, spec(1, kTimeOut)));
  }
  SECTION("force_push evicts whatever the policy and returns the victim") {
    const History ok{push(0, 1, P, 0, 1), force_push(0, 2, R, 2, 3, {1}), try_pop(1, 2, 4, 5)};
    CHECK(linearizable(ok, spec(1, kTimeOut)));
    CHECK(linearizable(ok, spec(1, kDrop)));
    const History with_room{force_push(0, 2, R, 0, 1, {1})};
    CHECK_FALSE(linearizable(with_room, spec(1, kDrop)));
    const History no_victim{push(0, 1, P, 0, 1), force_push(0, 2, P, 2, 3)};
    CHECK_FALSE(linearizable(no_victim, spec(1, kDrop)));
  }
}

TEST_CASE("checker enforces close: pushes fail after it, pops drain then report empty",
          "[linearizability][checker][close]") {
  const History push_after_close{close(0, 0, 1), push(1, 1, P, 2, 3)};
  CHECK_FALSE(linearizable(push_after_close, spec(2, kDrop)));
  const History try_push_after_close{close(0, 0, 1), try_push(1, 1, true, 2, 3)};
  CHECK_FALSE(linearizable(try_push_after_close, spec(2, kDrop)));
  const History rejected{close(0, 0, 1), push(1, 1, C, 2, 3), force_push(1, 2, C, 4, 5)};
  CHECK(linearizable(rejected, spec(2, kEvict)));
  const History closed_while_open{push(1, 1, C, 0, 1), close(0, 2, 3)};
  CHECK_FALSE(linearizable(closed_while_open, spec(2, kDrop)));
  const History racing_close{push(1, 1, C, 0, 3), close(0, 1, 2)};
  CHECK(linearizable(racing_close, spec(2, kDrop)));

  const History drains{push(0, 1, P, 0, 1), close(0, 2, 3), pop(1, 1, 4, 5),
                       pop(1, std::nullopt, 6, 7), try_pop(1, std::nullopt, 8, 9)};
  CHECK(linearizable(drains, spec(2, kDrop)));
  const History drops_remaining{push(0, 1, P, 0, 1), close(0, 2, 3), pop(1, std::nullopt, 4, 5)};
  CHECK_FALSE(linearizable(drops_remaining, spec(2, kDrop)));
  // A blocking pop returns empty only once the queue is closed.
  const History gives_up_open{pop(1, std::nullopt, 0, 1), close(0, 2, 3)};
  CHECK_FALSE(linearizable(gives_up_open, spec(2, kDrop)));
  const History woken_by_close{pop(1, std::nullopt, 0, 3), close(0, 1, 2)};
  CHECK(linearizable(woken_by_close, spec(2, kDrop)));
}

TEST_CASE("checker's stepwise evictions allow exactly what an out-of-line handler can cause",
          "[linearizability][checker][evictions]") {
  const Spec atomic = spec(1, kEvict, Evictions::atomic);
  const Spec stepwise = spec(1, kEvict, Evictions::stepwise);

  // Two pushes race on a full queue of capacity 1: one evicts the item the other just queued.
  const History double_eviction{push(0, 1, P, 0, 1), push(1, 2, R, 2, 9, {1, 3}),
                                push(2, 3, P, 3, 5), try_pop(3, 2, 10, 11)};
  CHECK_FALSE(linearizable(double_eviction, atomic));
  CHECK(linearizable(double_eviction, stepwise));

  // A try_pop sees the queue empty between an eviction and the queueing of the new item.
  const History gap{push(0, 1, P, 0, 1), push(1, 2, R, 2, 9, {1}), try_pop(2, std::nullopt, 3, 4)};
  CHECK_FALSE(linearizable(gap, atomic));
  CHECK(linearizable(gap, stepwise));

  // The queue closes between the eviction and the queueing: the push reports closed.
  const History closed_after_evicting{push(0, 1, P, 0, 1), push(1, 2, C, 2, 9, {1}), close(2, 3, 4),
                                      try_pop(3, std::nullopt, 10, 11)};
  CHECK_FALSE(linearizable(closed_after_evicting, atomic));
  CHECK(linearizable(closed_after_evicting, stepwise));

  // Stepwise still forbids evicting from a queue that is not full, or after close,
  // or in an order other than oldest first.
  const History not_full{push(0, 1, P, 0, 1), push(1, 2, R, 2, 3, {1})};
  CHECK_FALSE(linearizable(not_full, spec(2, kEvict, Evictions::stepwise)));
  const History after_close{push(0, 1, P, 0, 1), close(0, 2, 3), push(1, 2, C, 4, 5, {1})};
  CHECK_FALSE(linearizable(after_close, stepwise));
  const History newest_first{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), push(1, 3, R, 4, 5, {2})};
  CHECK_FALSE(linearizable(newest_first, spec(2, kEvict, Evictions::stepwise)));
  // And an eviction still needs a push that reports it: pushed with a victim is wrong.
  const History misreported{push(0, 1, P, 0, 1), push(1, 2, P, 2, 3, {1})};
  CHECK_FALSE(linearizable(misreported, stepwise));
}

TEST_CASE("checker: a push that threw queues nothing, and only an evicting one may evict",
          "[linearizability][checker][throws]") {
  constexpr auto kPush = OpKind::push;
  // No effect: the items before and after it are delivered, in order, and nothing else.
  const History no_effect{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3),
                          push(0, 3, P, 4, 5), try_pop(1, 1, 6, 7),
                          try_pop(1, 3, 8, 9), try_pop(1, std::nullopt, 10, 11)};
  CHECK(linearizable(no_effect, spec(4, kDrop)));
  CHECK(linearizable(no_effect, spec(4, kEvict)));
  const History delivered{threw(kPush, 0, 2, 0, 1), try_pop(1, 2, 2, 3)};
  CHECK_FALSE(linearizable(delivered, spec(4, kDrop)));
  const History try_push_delivered{threw(OpKind::try_push, 0, 2, 0, 1), try_pop(1, 2, 2, 3)};
  CHECK_FALSE(linearizable(try_push_delivered, spec(4, kDrop)));
  // An item queued before it vanishes without a reported eviction: lost.
  const History lost{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3), try_pop(1, std::nullopt, 4, 5)};
  CHECK_FALSE(linearizable(lost, spec(1, kEvict)));
  const History lost_behind{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), threw(kPush, 0, 3, 4, 5),
                            try_pop(1, 2, 6, 7)};
  CHECK_FALSE(linearizable(lost_behind, spec(2, kEvict)));

  // A drop-oldest push (or force_push) into a full queue evicted the oldest, then threw.
  const History evicted{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3, {1}),
                        try_pop(1, std::nullopt, 4, 5), push(0, 3, P, 6, 7), try_pop(1, 3, 8, 9)};
  CHECK(linearizable(evicted, spec(1, kEvict)));
  CHECK(linearizable(evicted, spec(1, kEvict, Evictions::stepwise)));
  CHECK_FALSE(linearizable(evicted, spec(1, kDrop)));  // this policy never evicts
  CHECK_FALSE(linearizable(evicted, spec(1, kTimeOut)));
  const History forced{push(0, 1, P, 0, 1), threw(OpKind::force_push, 0, 2, 2, 3, {1}),
                       try_pop(1, std::nullopt, 4, 5)};
  CHECK(linearizable(forced, spec(1, kDrop)));
  const History try_push_evicted{push(0, 1, P, 0, 1), threw(OpKind::try_push, 0, 2, 2, 3, {1})};
  CHECK_FALSE(linearizable(try_push_evicted, spec(1, kEvict)));
  // ... but only the oldest, only one, and only from a full, open queue.
  const History not_oldest{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), threw(kPush, 0, 3, 4, 5, {2})};
  CHECK_FALSE(linearizable(not_oldest, spec(2, kEvict)));
  const History two{push(0, 1, P, 0, 1), push(0, 2, P, 2, 3), threw(kPush, 0, 3, 4, 5, {1, 2})};
  CHECK_FALSE(linearizable(two, spec(2, kEvict)));
  const History not_full{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3, {1})};
  CHECK_FALSE(linearizable(not_full, spec(2, kEvict)));
  const History closed{push(0, 1, P, 0, 1), close(1, 2, 3), threw(kPush, 0, 2, 4, 5, {1})};
  CHECK_FALSE(linearizable(closed, spec(1, kEvict)));
  // The evicted item was delivered too: duplicated.
  const History evicted_and_popped{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3, {1}),
                                   try_pop(1, 1, 4, 5)};
  CHECK_FALSE(linearizable(evicted_and_popped, spec(1, kEvict)));
}

TEST_CASE("checker: a push that threw may leave a hole that takes room until a pop passes it",
          "[linearizability][checker][throws]") {
  constexpr auto kPush = OpKind::push;
  const History no_effect_then_pushed{threw(kPush, 0, 1, 0, 1), try_push(1, 2, true, 2, 3)};
  CHECK(linearizable(no_effect_then_pushed, spec(1, kDrop)));
  // The slot of a push that threw still counts: the queue (capacity 1) looks full with no
  // item in it, and stays so after the push returned, until a pop passes the hole.
  const History refused{threw(kPush, 0, 1, 0, 1), try_push(1, 2, false, 2, 3), push(1, 3, D, 4, 5)};
  CHECK(linearizable(refused, spec(1, kDrop)));
  const History passed{threw(kPush, 0, 1, 0, 1), try_push(1, 2, false, 2, 3),
                       try_pop(2, std::nullopt, 4, 5), try_push(1, 3, false, 6, 7)};
  CHECK_FALSE(linearizable(passed, spec(1, kDrop)));
  const History passed_then_pushed{threw(kPush, 0, 1, 0, 1), try_push(1, 2, false, 2, 3),
                                   try_pop(2, std::nullopt, 4, 5), try_push(1, 3, true, 6, 7),
                                   try_pop(2, 3, 8, 9)};
  CHECK(linearizable(passed_then_pushed, spec(1, kDrop)));
  // A pop may pass the hole and then take an item pushed while it ran (capacity 1: the push
  // needed the room the pop made by passing the hole).
  const History pop_spans{threw(kPush, 0, 1, 0, 1), try_push(1, 2, false, 2, 3),
                          try_pop(2, 4, 4, 9), push(1, 4, P, 5, 6)};
  CHECK(linearizable(pop_spans, spec(1, kDrop)));
  // A hole is never delivered and never evicted, and takes no room before its push began.
  const History hole_evicted{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3, {1}),
                             push(1, 3, R, 4, 5, {2})};
  CHECK_FALSE(linearizable(hole_evicted, spec(1, kEvict)));
  const History early{try_push(1, 2, false, 0, 1), threw(kPush, 0, 1, 2, 3)};
  CHECK_FALSE(linearizable(early, spec(1, kDrop)));
  // A drop-oldest push finds the queue full with one item and one hole, and evicts it.
  const History evicts_beside_hole{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3),
                                   push(1, 3, R, 4, 5, {1}), try_pop(2, 3, 6, 7),
                                   try_pop(2, std::nullopt, 8, 9)};
  CHECK(linearizable(evicts_beside_hole, spec(2, kEvict)));
  // A drop-oldest push passes a hole at the front without evicting anything; a push that
  // never evicts cannot, and with no pop running the hole stays.
  const History replaces_hole{threw(kPush, 0, 1, 0, 1), try_push(1, 2, false, 2, 3),
                              push(1, 3, P, 4, 5), try_pop(2, 3, 6, 7)};
  CHECK(linearizable(replaces_hole, spec(1, kEvict)));
  CHECK_FALSE(linearizable(replaces_hole, spec(1, kDrop)));
  CHECK_FALSE(linearizable(replaces_hole, spec(1, kTimeOut)));
  // Holes take room only: order and delivery are as without them.
  const History reordered{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3), push(0, 3, P, 4, 5),
                          try_pop(1, 3, 6, 7)};
  CHECK_FALSE(linearizable(reordered, spec(3, kDrop)));

  // A push that threw may give its slot back before it returns, if no later push claimed
  // one (the ring moves its tail back): room again with no pop.
  const History given_back{push(0, 1, P, 0, 1),         threw(kPush, 0, 2, 2, 9),
                           try_push(1, 3, false, 3, 4), try_push(1, 4, true, 5, 6),
                           try_pop(2, 1, 10, 11),       try_pop(2, 4, 12, 13)};
  CHECK(linearizable(given_back, spec(2, kDrop)));
  // ... but not after it returned,
  const History given_back_late{push(0, 1, P, 0, 1), threw(kPush, 0, 2, 2, 3),
                                try_push(1, 3, false, 4, 5), try_push(1, 4, true, 6, 7)};
  CHECK_FALSE(linearizable(given_back_late, spec(2, kDrop)));
  // ... and not once a later push has claimed a position behind it: here the hole is in
  // before 1 is popped, so it is ahead of 4, and with no pop running it stays.
  History claimed_behind{push(0, 1, P, 0, 1),         threw(kPush, 0, 2, 2, 20),
                         try_push(1, 3, false, 3, 4), try_pop(2, 1, 5, 6),
                         push(1, 4, P, 7, 8),         try_push(1, 5, false, 9, 10),
                         try_push(1, 6, true, 11, 12)};
  CHECK_FALSE(linearizable(claimed_behind, spec(2, kDrop)));
  claimed_behind.pop_back();  // (without the last push, it is fine)
  CHECK(linearizable(claimed_behind, spec(2, kDrop)));

  // The linearization found reports how many holes it used; a spec without holes (for a
  // queue whose thrown pushes leave no trace) rejects what only a hole explains.
  const auto result = bq::lin::check(refused, spec(1, kDrop));
  CHECK(result.ok());
  CHECK(result.holes == 1);
  Spec no_holes = spec(1, kDrop);
  no_holes.holes = false;
  CHECK_FALSE(linearizable(refused, no_holes));
  CHECK(linearizable(no_effect_then_pushed, no_holes));
  CHECK(bq::lin::check(no_effect_then_pushed, spec(1, kDrop)).holes == 0);
}

TEST_CASE("checker gives up, rather than hanging, past its budget", "[linearizability][checker]") {
  // 4 threads x 10 overlapping pushes of a queue that reports only failures: a large search.
  History h;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 10; ++i) h.push_back(try_push(t, t * 100 + i, true, 0, 1000));
  }
  h.push_back(try_pop(9, 999, 2000, 2001));  // Never pushed: no order works.
  const auto result = bq::lin::check(h, spec(64, kDrop), 1000);
  CHECK(result.verdict == Verdict::gave_up);
}

// ---------------------------------------------------------------------------------------
// Recorded histories.

namespace {

using bq::lin::Plan;
using bq::lin::PlanShape;
using bq::lin::Recorder;

/// How many rounds each (policy, thread count) runs: BQ_LIN_ROUNDS overrides the default.
std::size_t rounds(std::size_t normal) {
  if (const char* env = std::getenv("BQ_LIN_ROUNDS")) return std::strtoul(env, nullptr, 10);
  return normal;
}

/// BQ_LIN_REPLAY=R: every round runs the plan of round R instead of a new one. A failure
/// names its round and seed; the seed is the same on a rerun of the same test, so this
/// reruns the failing plan as often as BQ_LIN_ROUNDS says, for an interleaving that comes
/// up a few times in a million.
std::optional<std::size_t> replayed_round() {
  if (const char* env = std::getenv("BQ_LIN_REPLAY")) return std::strtoul(env, nullptr, 10);
  return std::nullopt;
}

/// What the recorded histories held: how many pushes threw, and what the checker needed.
struct RunStats {
  std::size_t histories = 0;
  std::size_t with_thrown = 0;      ///< Histories with at least one push that threw.
  std::size_t thrown = 0;           ///< Pushes that threw.
  std::size_t thrown_evicting = 0;  ///< Of those, pushes that evicted before throwing.
  std::size_t needing_holes = 0;    ///< Linearizable, but not without holes.

  void add(const History& history, const Spec& spec, const bq::lin::CheckResult& result) {
    ++histories;
    std::size_t threw = 0;
    for (const Op& op : history) {
      if (!op.threw) continue;
      ++threw;
      if (!op.evicted.empty()) ++thrown_evicting;
    }
    thrown += threw;
    if (threw > 0) ++with_thrown;
    if (result.ok() && result.holes > 0) {
      Spec without = spec;
      without.holes = false;
      if (bq::lin::check(history, without).verdict == Verdict::not_linearizable) ++needing_holes;
    }
  }
  [[nodiscard]] std::string summary() const {
    return std::to_string(histories) + " histories, " + std::to_string(with_thrown) +
           " with a push that threw (" + std::to_string(thrown) + " pushes threw, " +
           std::to_string(thrown_evicting) + " after evicting); " + std::to_string(needing_holes) +
           " needed a hole to linearize";
  }
};

/// Records `count` random histories of Q with `shape` and checks each against `base` (with
/// the round's capacity); returns how many were not linearizable (the first failure is in
/// `first_failure`). Adds what the histories held to `stats`, if given.
template <class Q>
std::size_t count_violations(const PlanShape& shape, std::size_t count, const Spec& base,
                             std::function<void(bq::QueueConfig&)> configure, std::uint64_t seed,
                             std::string& first_failure, bool stop_at_first = false,
                             RunStats* stats = nullptr) {
  std::mt19937_64 rng(seed);
  Recorder<Q> recorder(shape.threads, std::move(configure));
  const std::optional<std::size_t> replay = replayed_round();
  Plan replayed;
  for (std::size_t round = 0; replay && round <= *replay; ++round) {
    replayed = bq::lin::random_plan(shape, rng);
  }
  std::size_t violations = 0;
  for (std::size_t round = 0; round < count; ++round) {
    const Plan plan = replay ? replayed : bq::lin::random_plan(shape, rng);
    const History history = recorder.run(plan);
    Spec spec = base;
    spec.capacity = plan.capacity;
    const auto result = bq::lin::check(history, spec);
    if (stats != nullptr) stats->add(history, spec, result);
    if (result.ok()) continue;
    ++violations;
    if (first_failure.empty()) {
      const std::size_t plan_round = replay ? *replay : round;
      first_failure = "round " + std::to_string(plan_round) + " (seed " + std::to_string(seed) +
                      ", BQ_LIN_REPLAY=" + std::to_string(plan_round) + " reruns it), plan:\n" +
                      bq::lin::describe(plan) + result.message;
    }
    if (stop_at_first) break;
  }
  return violations;
}

/// The specification BoundedQueue documents (README, "Guarantees"): a bounded FIFO of the
/// round's capacity whose pushes, when full, do what the policy says, and whose evictions are
/// atomic with the push that causes them (the push claims the oldest item's slot for its own).
/// A try_pop, or a timed pop past its deadline, may give up on an oldest item whose push is
/// still running (the MPMC ring's bounded wait on a slot being written).
Spec documented(WhenFull when_full) {
  Spec spec{0, when_full, Evictions::atomic};
  spec.pop_may_miss_pending = true;
  return spec;
}

/// documented() for an Spsc queue, whose ring gives a thrown push's position straight back
/// (no holes) and publishes a single push's item with the store that makes it visible. So a
/// pop finds a position claimed but not yet written only while an evicting push is queueing
/// its item there (a policy that may evict) or, in histories with `batches`, while a batch
/// push writes the items it claimed room for (it counts the free slots once, then writes
/// them all, and they count as queued from that count on, as docs/guarantees.md says of every
/// push); the pop may then give up like the MPMC ring's.
template <class Policy>
Spec documented_spsc(WhenFull when_full, bool batches = false) {
  Spec spec = documented(when_full);
  spec.holes = false;
  spec.pop_may_miss_pending = batches || bq::detail::policy_may_evict<Policy>();
  return spec;
}

template <class Policy, WhenFull kWhenFull,
          bq::OverflowPolicy kDynamic = bq::OverflowPolicy::drop_oldest>
struct Case {
  using policy = Policy;
  static constexpr WhenFull when_full = kWhenFull;
  static void configure(bq::QueueConfig& config) { config.policy = kDynamic; }
};

using DropOldestCase = Case<bq::DropOldest, kEvict>;
using DropNewestCase = Case<bq::DropNewest, kDrop>;
using BlockCase = Case<bq::Block, kTimeOut>;
using BlockThenDropOldestCase = Case<bq::BlockThen<bq::DropOldest>, kEvict>;
using DynamicDropOldestCase = Case<bq::Dynamic, kEvict, bq::OverflowPolicy::drop_oldest>;
using DynamicDropNewestCase = Case<bq::Dynamic, kDrop, bq::OverflowPolicy::drop_newest>;
using DynamicBlockCase = Case<bq::Dynamic, kTimeOut, bq::OverflowPolicy::block>;

}  // namespace

TEMPLATE_TEST_CASE("every recorded history of the mutex reference queue passes the checker",
                   "[linearizability][checker]", DropOldestCase, DropNewestCase, BlockCase,
                   BlockThenDropOldestCase, DynamicBlockCase) {
  using Q = bq::lin::ReferenceQueue<int, typename TestType::policy>;
  for (std::size_t threads : {2U, 3U, 4U}) {
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    const Spec strict{0, TestType::when_full, Evictions::stepwise};
    const auto violations = count_violations<Q>(shape, rounds(150), strict, TestType::configure,
                                                1000 + threads, failure);
    INFO(failure);
    CHECK(violations == 0);
  }
}

TEMPLATE_TEST_CASE("BoundedQueue histories are linearizable for every policy",
                   "[linearizability][stress][policy]", DropOldestCase, DropNewestCase, BlockCase,
                   BlockThenDropOldestCase, DynamicDropOldestCase, DynamicDropNewestCase,
                   DynamicBlockCase) {
  using Q = Subject<typename TestType::policy>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 42;
  for (std::size_t threads : {2U, 3U, 4U}) {
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    const auto violations = count_violations<Q>(shape, rounds(400), documented(TestType::when_full),
                                                TestType::configure, seed + threads, failure);
    INFO(threads << " threads: " << violations << " histories not linearizable; first:\n"
                 << failure);
    CHECK(violations == 0);
  }
}

#ifdef BQ_LIN_HAVE_CORE
template <class T, class P>
inline constexpr bool bq::lin::supports_force_push<bq::BoundedQueue<T, P, bq::Spsc>> =
    bq::detail::policy_may_evict<P>();

TEMPLATE_TEST_CASE("Spsc BoundedQueue histories are linearizable for every policy",
                   "[linearizability][stress][spsc]", DropOldestCase, DropNewestCase, BlockCase,
                   BlockThenDropOldestCase, DynamicDropOldestCase, DynamicDropNewestCase,
                   DynamicBlockCase) {
  using Policy = typename TestType::policy;
  using Q = bq::BoundedQueue<int, Policy, bq::Spsc>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 7;
  for (std::size_t threads : {2U, 3U}) {  // one pusher, one popper, maybe a closer
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    shape.spsc = true;
    shape.force_push = bq::detail::policy_may_evict<Policy>();
    const auto violations =
        count_violations<Q>(shape, rounds(400), documented_spsc<Policy>(TestType::when_full),
                            TestType::configure, seed + threads, failure);
    INFO(threads << " threads: " << violations << " histories not linearizable; first:\n"
                 << failure);
    CHECK(violations == 0);
  }
}
#endif

// ---------------------------------------------------------------------------------------
// Recorded histories with pushes that throw: a quarter of the pushes (by every pushing
// thread, in every push form) offer an item whose construction inside the queue throws.

namespace {

using bq::lin::FallibleItem;

constexpr unsigned kFailingPercent = 25;

/// Whether the case's policy may evict, so that some pushes should throw after evicting.
template <class Case>
constexpr bool evicting_case() {
  return Case::when_full == kEvict;
}

}  // namespace

TEMPLATE_TEST_CASE("every history of the mutex reference queue with throwing pushes passes",
                   "[linearizability][checker][throws]", DropOldestCase, DropNewestCase, BlockCase,
                   BlockThenDropOldestCase, DynamicBlockCase) {
  using Q = bq::lin::ReferenceQueue<FallibleItem, typename TestType::policy>;
  RunStats stats;
  for (std::size_t threads : {2U, 3U, 4U}) {
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    shape.failing_percent = kFailingPercent;
    // The mutex queue leaves no holes: its thrown pushes must linearize without any.
    Spec strict{0, TestType::when_full, Evictions::stepwise};
    strict.holes = false;
    const auto violations = count_violations<Q>(shape, rounds(100), strict, TestType::configure,
                                                2000 + threads, failure, false, &stats);
    INFO(failure);
    CHECK(violations == 0);
  }
  INFO(stats.summary());
  CHECK(stats.thrown > 0);
  if (evicting_case<TestType>()) CHECK(stats.thrown_evicting > 0);
}

TEMPLATE_TEST_CASE("BoundedQueue histories with throwing pushes are linearizable for every policy",
                   "[linearizability][stress][policy][throws]", DropOldestCase, DropNewestCase,
                   BlockCase, BlockThenDropOldestCase, DynamicDropOldestCase, DynamicDropNewestCase,
                   DynamicBlockCase) {
  using Q = Subject<typename TestType::policy, FallibleItem>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 43;
  RunStats stats;
  for (std::size_t threads : {2U, 3U, 4U}) {
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    shape.failing_percent = kFailingPercent;
    const auto violations =
        count_violations<Q>(shape, rounds(250), documented(TestType::when_full),
                            TestType::configure, seed + threads, failure, false, &stats);
    INFO(threads << " threads: " << violations << " histories not linearizable; first:\n"
                 << failure);
    CHECK(violations == 0);
  }
  INFO(stats.summary());
  CHECK(stats.thrown > 0);
  if (evicting_case<TestType>()) CHECK(stats.thrown_evicting > 0);
}

#ifdef BQ_LIN_HAVE_CORE
TEMPLATE_TEST_CASE("Spsc BoundedQueue histories with throwing pushes are linearizable",
                   "[linearizability][stress][spsc][throws]", DropOldestCase, DropNewestCase,
                   BlockCase, BlockThenDropOldestCase, DynamicDropOldestCase, DynamicDropNewestCase,
                   DynamicBlockCase) {
  using Policy = typename TestType::policy;
  using Q = bq::BoundedQueue<FallibleItem, Policy, bq::Spsc>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 8;
  RunStats stats;
  for (std::size_t threads : {2U, 3U}) {  // one pusher, one popper, maybe a closer
    std::string failure;
    PlanShape shape;
    shape.threads = threads;
    shape.spsc = true;
    shape.force_push = bq::detail::policy_may_evict<Policy>();
    shape.failing_percent = kFailingPercent;
    const Spec spec = documented_spsc<Policy>(TestType::when_full);
    const auto violations = count_violations<Q>(shape, rounds(250), spec, TestType::configure,
                                                seed + threads, failure, false, &stats);
    INFO(threads << " threads: " << violations << " histories not linearizable; first:\n"
                 << failure);
    CHECK(violations == 0);
  }
  INFO(stats.summary());
  CHECK(stats.thrown > 0);
  if (evicting_case<TestType>()) CHECK(stats.thrown_evicting > 0);
}
#endif

// ---------------------------------------------------------------------------------------
// Queues broken on purpose: the checker must catch each.

namespace {

enum class Fault {
  lose_pushes,   // now and then a push reports success but drops the item
  reorder_pops,  // now and then a pop hands out the second item and keeps the first for later
  false_empty,   // now and then a non-blocking pop reports empty without looking
};

/// Wraps Q and misbehaves in one way, once every few calls of the kind it breaks.
template <class Q, Fault kFault>
class BrokenQueue {
 public:
  using value_type = int;
  using EvictionHandler = typename Q::EvictionHandler;
  BrokenQueue(const bq::QueueConfig& config, EvictionHandler on_evict)
      : q_(config, std::move(on_evict)) {}

  PushResult push(int&& v) { return lose() ? PushResult::pushed : q_.push(std::move(v)); }
  PushResult push(const int& v) { return lose() ? PushResult::pushed : q_.push(v); }
  PushResult emplace(int v) { return lose() ? PushResult::pushed : q_.emplace(v); }
  template <class D>
  PushResult push_for(int&& v, D d) {
    return lose() ? PushResult::pushed : q_.push_for(std::move(v), d);
  }
  template <class TP>
  PushResult push_until(int&& v, TP tp) {
    return lose() ? PushResult::pushed : q_.push_until(std::move(v), tp);
  }
  bool try_push(int&& v) { return lose() || q_.try_push(std::move(v)); }
  bool try_emplace(int v) { return lose() || q_.try_emplace(v); }
  auto force_push(int&& v) {
    if (lose()) return decltype(q_.force_push(std::move(v))){PushResult::pushed, std::nullopt};
    return q_.force_push(std::move(v));
  }

  std::optional<int> pop() {
    return reordered([&] { return q_.pop(); });
  }
  std::optional<int> try_pop() {
    if (falsely_empty()) return std::nullopt;
    return reordered([&] { return q_.try_pop(); });
  }
  template <class D>
  std::optional<int> pop_for(D d) {
    if (falsely_empty()) return std::nullopt;
    return reordered([&] { return q_.pop_for(d); });
  }
  template <class TP>
  std::optional<int> pop_until(TP tp) {
    if (falsely_empty()) return std::nullopt;
    return reordered([&] { return q_.pop_until(tp); });
  }
  void close() noexcept { q_.close(); }

  std::size_t faults() const { return faults_.load(); }

 private:
  bool tick() {
    if (calls_.fetch_add(1) % 5 != 4) return false;
    faults_.fetch_add(1);
    return true;
  }
  bool lose() { return kFault == Fault::lose_pushes && tick(); }
  bool falsely_empty() { return kFault == Fault::false_empty && tick(); }

  template <class PopFn>
  std::optional<int> reordered(PopFn pop_fn) {
    if constexpr (kFault != Fault::reorder_pops) {
      return pop_fn();
    } else {
      if (const int kept = stash_.exchange(0); kept != 0) return kept;
      std::optional<int> first = pop_fn();
      if (!first || !tick()) return first;
      std::optional<int> second = q_.try_pop();
      int expected = 0;
      if (second && stash_.compare_exchange_strong(expected, *first)) return second;
      if (second) return second;  // (stash taken: the first item is lost, also a bug)
      return first;
    }
  }

  Q q_;
  std::atomic<std::size_t> calls_{0};
  std::atomic<std::size_t> faults_{0};
  std::atomic<int> stash_{0};  // items are > 0
};

/// Checks that histories of the broken queue Q (2 and 3 threads, up to 2000 each) show a
/// violation of `spec`: the checker catches what Q breaks.
template <class Q>
void require_caught(const char* what, PlanShape shape, const Spec& spec,
                    const std::function<void(bq::QueueConfig&)>& configure, std::uint64_t seed) {
  std::string failure;
  std::size_t violations = 0;
  for (std::size_t threads : {2U, 3U}) {
    shape.threads = threads;
    violations += count_violations<Q>(shape, 2000, spec, configure, seed + threads, failure, true);
  }
  INFO(what << ": first violation found:\n" << failure);
  CHECK(violations >= 1);
  CHECK_FALSE(failure.empty());
}

template <Fault kFault>
void require_caught(const char* what) {
  require_caught<BrokenQueue<Subject<bq::DropNewest>, kFault>>(
      what, PlanShape{}, Spec{0, kDrop, Evictions::stepwise}, {}, 99);
}

}  // namespace

TEST_CASE("checker catches a queue that now and then loses a pushed item",
          "[linearizability][checker]") {
  require_caught<Fault::lose_pushes>("lose_pushes");
}

TEST_CASE("checker catches a queue that now and then pops items out of order",
          "[linearizability][checker]") {
  require_caught<Fault::reorder_pops>("reorder_pops");
}

TEST_CASE("checker catches a queue whose try_pop now and then reports empty wrongly",
          "[linearizability][checker]") {
  require_caught<Fault::false_empty>("false_empty");
}

namespace {

enum class ThrowFault {
  lose_oldest,   // a push that throws also takes the oldest item out, telling no one
  queue_anyway,  // a push that throws has queued (a copy of) its item all the same
};

/// Wraps a queue of FallibleItem and mishandles every push that throws, in one way.
template <class Q, ThrowFault kFault>
class BreaksOnThrow {
 public:
  using value_type = FallibleItem;
  using EvictionHandler = typename Q::EvictionHandler;
  BreaksOnThrow(const bq::QueueConfig& config, EvictionHandler on_evict)
      : q_(config, std::move(on_evict)) {}

  PushResult push(FallibleItem&& v) {
    return guard(v.value(), [&] { return q_.push(std::move(v)); });
  }
  PushResult push(const FallibleItem& v) {
    return guard(v.value(), [&] { return q_.push(v); });
  }
  template <class... A>
  PushResult emplace(int v, A... a) {
    return guard(v, [&] { return q_.emplace(v, a...); });
  }
  template <class D>
  PushResult push_for(FallibleItem&& v, D d) {
    return guard(v.value(), [&] { return q_.push_for(std::move(v), d); });
  }
  template <class TP>
  PushResult push_until(FallibleItem&& v, TP tp) {
    return guard(v.value(), [&] { return q_.push_until(std::move(v), tp); });
  }
  bool try_push(FallibleItem&& v) {
    return guard(v.value(), [&] { return q_.try_push(std::move(v)); });
  }
  template <class... A>
  bool try_emplace(int v, A... a) {
    return guard(v, [&] { return q_.try_emplace(v, a...); });
  }
  auto force_push(FallibleItem&& v) {
    return guard(v.value(), [&] { return q_.force_push(std::move(v)); });
  }

  std::optional<FallibleItem> pop() { return q_.pop(); }
  std::optional<FallibleItem> try_pop() { return q_.try_pop(); }
  template <class D>
  std::optional<FallibleItem> pop_for(D d) {
    return q_.pop_for(d);
  }
  template <class TP>
  std::optional<FallibleItem> pop_until(TP tp) {
    return q_.pop_until(tp);
  }
  void close() noexcept { q_.close(); }

 private:
  template <class Push>
  auto guard(int value, Push push_fn) -> decltype(push_fn()) {
    try {
      return push_fn();
    } catch (const bq::lin::ItemConstructionFailed&) {
      if constexpr (kFault == ThrowFault::lose_oldest) {
        (void)q_.try_pop();
      } else {
        (void)q_.try_push(FallibleItem(value));
      }
      throw;
    }
  }

  Q q_;
};

/// Runs random plans with throwing pushes on the broken queue, over the real queue with
/// `Case`'s policy, until the checker rejects a history; requires that it does.
template <class Case, ThrowFault kFault>
void require_caught_on_throw(const char* what) {
  PlanShape shape;
  shape.failing_percent = kFailingPercent;
  require_caught<BreaksOnThrow<Subject<typename Case::policy, FallibleItem>, kFault>>(
      what, shape, documented(Case::when_full), Case::configure, 199);
}

}  // namespace

TEMPLATE_TEST_CASE("checker catches a queue whose throwing push loses the oldest item unreported",
                   "[linearizability][checker][throws]", DropOldestCase, DropNewestCase) {
  require_caught_on_throw<TestType, ThrowFault::lose_oldest>("lose_oldest");
}

TEMPLATE_TEST_CASE("checker catches a queue whose throwing push queues its item anyway",
                   "[linearizability][checker][throws]", DropOldestCase, BlockCase) {
  require_caught_on_throw<TestType, ThrowFault::queue_anyway>("queue_anyway");
}

TEST_CASE("evicting pushes racing on a full queue never wait for a consumer",
          "[linearizability][stress][evict]") {
  // Producers only: every push into the full queue must evict and return at once. (A push
  // that claims a position while an earlier evicting push has not yet moved the head must
  // wait for that push, not for a popper that will never come.) A round that hangs aborts.
  using Q = Subject<bq::DropOldest>;
  std::mt19937_64 rng(Catch::rngSeed() != 0 ? Catch::rngSeed() : 3);
  std::string failure;
  std::size_t violations = 0;
  for (std::size_t threads : {3U, 4U}) {
    Recorder<Q> recorder(threads, {}, std::chrono::seconds(20));
    for (std::size_t round = 0; round < rounds(1500); ++round) {
      Plan plan;
      plan.capacity = 1 + rng() % 2;
      plan.prefill = static_cast<int>(plan.capacity);
      plan.scripts.resize(threads);
      plan.pauses.resize(threads);
      for (std::size_t t = 0; t < threads; ++t) {
        for (int i = 0; i < 4; ++i) {
          plan.scripts[t].push_back(rng() % 4 == 0 ? bq::lin::Call::force_push
                                                   : bq::lin::Call::push);
          plan.pauses[t].push_back(static_cast<unsigned>(rng() % 64));
        }
      }
      const History history = recorder.run(plan);
      const auto result = bq::lin::check(history, Spec{plan.capacity, kEvict, Evictions::atomic});
      if (!result.ok()) {
        ++violations;
        if (failure.empty()) failure = result.message;
      }
    }
  }
  INFO(failure);
  CHECK(violations == 0);
}

// ---------------------------------------------------------------------------------------
// Batch operations: each is checked as a sequence of single-item steps inside its interval
// (see checker.hpp).

namespace {

Op push_range_op(OpKind kind, int thread, std::vector<int> values, std::size_t count,
                 std::uint64_t invoke, std::uint64_t response, std::vector<int> evicted = {}) {
  Op op;
  op.kind = kind;
  op.thread = thread;
  op.values = std::move(values);
  op.count = count;
  op.invoke = invoke;
  op.response = response;
  op.evicted = std::move(evicted);
  return op;
}
Op try_push_range(int thread, std::vector<int> values, std::size_t count, std::uint64_t invoke,
                  std::uint64_t response) {
  return push_range_op(OpKind::try_push_range, thread, std::move(values), count, invoke, response);
}
Op push_range(int thread, std::vector<int> values, std::size_t count, std::uint64_t invoke,
              std::uint64_t response, std::vector<int> evicted = {}) {
  return push_range_op(OpKind::push_range, thread, std::move(values), count, invoke, response,
                       std::move(evicted));
}
Op pop_into_op(OpKind kind, int thread, std::size_t max, std::vector<int> items,
               std::uint64_t invoke, std::uint64_t response) {
  Op op;
  op.kind = kind;
  op.thread = thread;
  op.max = max;
  op.items = std::move(items);
  op.invoke = invoke;
  op.response = response;
  return op;
}
Op try_pop_into(int thread, std::size_t max, std::vector<int> items, std::uint64_t invoke,
                std::uint64_t response) {
  return pop_into_op(OpKind::try_pop_into, thread, max, std::move(items), invoke, response);
}
Op pop_into(int thread, std::size_t max, std::vector<int> items, std::uint64_t invoke,
            std::uint64_t response) {
  return pop_into_op(OpKind::pop_into, thread, max, std::move(items), invoke, response);
}

}  // namespace

TEST_CASE("checker: a batch push queues a prefix in order, and refuses the rest only when full",
          "[linearizability][checker][batch]") {
  const Spec s = spec(2, kDrop);
  // Sequential: 2 of 3 fit, the pop takes both, oldest first.
  CHECK(linearizable({try_push_range(0, {1, 2, 3}, 2, 0, 1), try_pop_into(0, 5, {1, 2}, 2, 3)}, s));
  CHECK(linearizable({try_push(0, 9, true, 0, 1), try_push_range(0, {1, 2, 3}, 1, 2, 3),
                      try_pop_into(0, 2, {9, 1}, 4, 5)},
                     s));
  // Not a prefix: the second item queued, the first not.
  CHECK_FALSE(linearizable({try_push_range(0, {1, 2, 3}, 1, 0, 1), try_pop(0, 2, 2, 3)}, s));
  // Refused items while there was room.
  CHECK_FALSE(linearizable({try_push_range(0, {1, 2, 3}, 1, 0, 1)}, s));
  CHECK_FALSE(linearizable({try_push_range(0, {1, 2}, 0, 0, 1)}, s));
  // Refused everything after close, or when full: fine.
  CHECK(linearizable({close(0, 0, 1), try_push_range(0, {1, 2}, 0, 2, 3)}, s));
  CHECK(linearizable({try_push_range(0, {1, 2}, 2, 0, 1), try_push_range(0, {3}, 0, 2, 3)}, s));
  // Queued more than offered, or evicted.
  CHECK_FALSE(linearizable({try_push_range(0, {1}, 2, 0, 1)}, s));
  Op evicting = try_push_range(0, {1, 2, 3}, 2, 2, 3);
  evicting.evicted = {7};
  CHECK_FALSE(linearizable({try_push(0, 7, true, 0, 1), evicting}, spec(2, kEvict)));
  // Items queued, then lost or duplicated.
  CHECK_FALSE(linearizable({try_push_range(0, {1, 2}, 2, 0, 1), try_pop_into(0, 5, {2}, 2, 3)}, s));
  CHECK_FALSE(linearizable(
      {try_push_range(0, {1, 2}, 2, 0, 1), try_pop_into(0, 5, {1, 2}, 2, 3), try_pop(0, 2, 4, 5)},
      s));
}

TEST_CASE("checker: a batch pop takes a prefix, oldest first, of at most max items",
          "[linearizability][checker][batch]") {
  const Spec s = spec(4, kDrop);
  const Op fill = try_push_range(0, {1, 2, 3}, 3, 0, 1);
  CHECK(linearizable({fill, try_pop_into(1, 2, {1, 2}, 2, 3), try_pop_into(1, 2, {3}, 4, 5)}, s));
  CHECK(linearizable({fill, pop_into(1, 9, {1, 2, 3}, 2, 3)}, s));
  // Out of order.
  CHECK_FALSE(linearizable({fill, try_pop_into(1, 3, {2, 1, 3}, 2, 3)}, s));
  CHECK_FALSE(linearizable({fill, try_pop_into(1, 2, {1, 3}, 2, 3)}, s));
  // More than max.
  CHECK_FALSE(linearizable({fill, try_pop_into(1, 2, {1, 2, 3}, 2, 3)}, s));
  CHECK_FALSE(linearizable({fill, try_pop_into(1, 0, {1}, 2, 3)}, s));
  // Nothing: try_ only when empty, pop_into only when closed and empty, max 0 always.
  CHECK_FALSE(linearizable({fill, try_pop_into(1, 2, {}, 2, 3)}, s));
  CHECK(linearizable({fill, try_pop_into(1, 0, {}, 2, 3)}, s));
  CHECK(linearizable({try_pop_into(1, 2, {}, 0, 1)}, s));
  CHECK_FALSE(linearizable({pop_into(1, 2, {}, 0, 1)}, s));
  CHECK(linearizable({close(0, 0, 1), pop_into(1, 2, {}, 2, 3)}, s));
  CHECK_FALSE(linearizable({fill, close(0, 2, 3), pop_into(1, 2, {}, 4, 5)}, s));
  // Nothing while the oldest item's push was still running: only with pop_may_miss_pending.
  Spec missing = s;
  missing.pop_may_miss_pending = true;
  const History pending{try_push_range(0, {1, 2}, 2, 0, 10), try_pop_into(1, 2, {}, 5, 6)};
  CHECK(linearizable(pending, missing));
  CHECK(linearizable(pending, s));  // (the pop may also go before the push)
  const History after{try_push_range(0, {1, 2}, 2, 0, 4), try_pop_into(1, 2, {}, 5, 6)};
  CHECK_FALSE(linearizable(after, missing));
}

TEST_CASE("checker: batch items take effect one at a time inside the batch's interval",
          "[linearizability][checker][batch]") {
  const Spec s = spec(4, kDrop);
  // Single operations may go between the items of a batch running at the same time...
  CHECK(linearizable(
      {try_push_range(0, {1, 2}, 2, 0, 10), try_pop(1, 1, 2, 3), try_pop_into(1, 4, {2}, 4, 5)},
      s));
  CHECK(linearizable({try_push_range(0, {1, 2}, 2, 0, 10), try_push(1, 7, true, 1, 9),
                      try_pop_into(2, 4, {1, 7, 2}, 11, 12)},
                     s));
  // ...but never after the batch returned, nor before it was invoked.
  CHECK_FALSE(linearizable({try_push_range(0, {1, 2}, 2, 0, 1), try_push(1, 7, true, 2, 3),
                            try_pop_into(2, 4, {1, 7, 2}, 4, 5)},
                           s));
  CHECK_FALSE(linearizable({try_pop_into(1, 4, {1}, 0, 1), try_push_range(0, {1, 2}, 2, 2, 3)}, s));
  // A batch pop's items come out in queue order even when it overlaps the pushes.
  CHECK_FALSE(linearizable({try_push(0, 1, true, 0, 10), try_push(0, 2, true, 11, 20),
                            try_pop_into(1, 2, {2, 1}, 5, 25)},
                           s));
}

TEST_CASE("checker: push_range applies the policy to the items that do not fit",
          "[linearizability][checker][batch][policy]") {
  for (const Evictions ev : {Evictions::atomic, Evictions::stepwise}) {
    INFO((ev == Evictions::atomic ? "atomic" : "stepwise"));
    const Spec evict = spec(2, kEvict, ev);
    // Drop oldest: every item queued, each evicting the oldest, the batch's own too.
    CHECK(linearizable({try_push(0, 9, true, 0, 1), push_range(0, {1, 2}, 2, 2, 3, {9}),
                        try_pop_into(0, 4, {1, 2}, 4, 5)},
                       evict));
    CHECK(linearizable(
        {push_range(0, {1, 2, 3, 4, 5}, 5, 0, 1, {1, 2, 3}), try_pop_into(0, 4, {4, 5}, 2, 3)},
        evict));
    // Wrong victims, a missing or an extra eviction, a victim out of order.
    CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 3, 0, 1, {2})}, evict));
    CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 3, 0, 1, {})}, evict));
    CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 3, 0, 1, {1, 2})}, evict));
    CHECK_FALSE(linearizable({push_range(0, {1, 2, 3, 4}, 4, 0, 1, {2, 1})}, evict));
    // Not all queued: only after close.
    CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 2, 0, 1)}, evict));
    CHECK(linearizable({push_range(0, {1, 2, 3}, 2, 0, 10), close(1, 2, 3)}, evict));
    CHECK(linearizable({close(1, 0, 1), push_range(0, {1, 2, 3}, 0, 2, 3)}, evict));

    // Drop newest and time out: what fits is queued, the rest refused, nothing evicted.
    for (const WhenFull wf : {kDrop, kTimeOut}) {
      const Spec refuse = spec(2, wf, ev);
      CHECK(linearizable({push_range(0, {1, 2, 3}, 2, 0, 1), try_pop_into(0, 4, {1, 2}, 2, 3)},
                         refuse));
      CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 3, 0, 1, {1})}, refuse));
      CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 2, 0, 1, {1})}, refuse));
      CHECK_FALSE(linearizable({push_range(0, {1, 2, 3}, 1, 0, 1)}, refuse));
      // A pop running alongside frees room: more may be queued.
      CHECK(linearizable({try_push(0, 9, true, 0, 1), push_range(0, {1, 2}, 2, 2, 9),
                          try_pop(1, 9, 3, 4), try_pop_into(0, 4, {1, 2}, 10, 11)},
                         refuse));
    }
  }
}

// Recorded histories mixing batches with single calls: a third of the push and pop calls
// are batches (pushes of 1 to capacity + 2 items, pops of at most 1 to capacity + 1).

namespace {

constexpr unsigned kBatchPercent = 35;

template <class Q>
void check_batch_histories(PlanShape shape, std::initializer_list<std::size_t> thread_counts,
                           const Spec& spec, std::function<void(bq::QueueConfig&)> configure,
                           std::uint64_t seed) {
  shape.batch_percent = kBatchPercent;
  for (std::size_t threads : thread_counts) {
    std::string failure;
    shape.threads = threads;
    const auto violations =
        count_violations<Q>(shape, rounds(150), spec, configure, seed + threads, failure);
    INFO(threads << " threads: " << violations << " histories not linearizable; first:\n"
                 << failure);
    CHECK(violations == 0);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("BoundedQueue histories with batch operations are linearizable",
                   "[linearizability][stress][policy][batch]", DropOldestCase, DropNewestCase,
                   BlockCase, BlockThenDropOldestCase, DynamicDropNewestCase) {
  using Q = Subject<typename TestType::policy>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 44;
  check_batch_histories<Q>(PlanShape{}, {2U, 3U, 4U}, documented(TestType::when_full),
                           TestType::configure, seed);
}

#ifdef BQ_LIN_HAVE_CORE
// Recorded in CI (platform-libcxx, 2 in a million runs of its plan), shortened: the batch
// counted one free slot (4 was still queued) and was writing 10 into it when the pops ran.
TEST_CASE("checker: the Spsc spec lets a pop miss the items a batch push claimed room for",
          "[linearizability][checker][spsc][batch]") {
  const History claimed{try_push(0, 4, true, 0, 1), push_range(0, {10, 11, 12}, 1, 2, 10),
                        try_pop(1, 4, 3, 4), try_pop_into(1, 3, {}, 5, 6), try_pop(1, 10, 11, 12)};
  // Refusing 11 and 12 needs a full queue, [4, 10], before 4 was popped: 10 was queued then,
  // so only a pop that may miss a push still writing its item can find nothing after.
  Spec single = documented_spsc<bq::DropNewest>(kDrop);
  single.capacity = 2;
  CHECK_FALSE(linearizable(claimed, single));
  Spec batches = documented_spsc<bq::DropNewest>(kDrop, /*batches=*/true);
  batches.capacity = 2;
  CHECK(linearizable(claimed, batches));
}

TEMPLATE_TEST_CASE("Spsc BoundedQueue histories with batch operations are linearizable",
                   "[linearizability][stress][spsc][batch]", DropOldestCase, DropNewestCase,
                   BlockCase) {
  using Policy = typename TestType::policy;
  using Q = bq::BoundedQueue<int, Policy, bq::Spsc>;
  const std::uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 9;
  PlanShape shape;
  shape.spsc = true;
  shape.force_push = bq::detail::policy_may_evict<Policy>();
  check_batch_histories<Q>(shape, {2U, 3U},
                           documented_spsc<Policy>(TestType::when_full, /*batches=*/true),
                           TestType::configure, seed);
}

namespace {

enum class BatchFault {
  reverse_pops,   // now and then a batch pop hands out its items newest first
  skip_first,     // now and then a batch push queues its items but the first
  overfull_pops,  // now and then a batch pop takes one item more than asked for
};

/// A BoundedQueue whose batch calls misbehave now and then (single calls are untouched).
template <class Policy, BatchFault kFault>
class BrokenBatchQueue : public bq::BoundedQueue<int, Policy> {
  using Base = bq::BoundedQueue<int, Policy>;
  using Sink = std::back_insert_iterator<std::vector<int>>;

 public:
  using Base::Base;

  template <class R>
  std::size_t try_push_range(R&& range) {
    return push_batch(range, [this](std::vector<int>&& v) { return Base::try_push_range(v); });
  }
  template <class R>
  std::size_t push_range(R&& range) {
    return push_batch(range, [this](std::vector<int>&& v) { return Base::push_range(v); });
  }
  template <class Out>
  std::size_t try_pop_into(Out out, std::size_t max) {
    return pop_batch(out, max,
                     [&, this](Sink o, std::size_t m) { return Base::try_pop_into(o, m); });
  }
  template <class Out>
  std::size_t pop_into(Out out, std::size_t max) {
    return pop_batch(out, max, [&, this](Sink o, std::size_t m) { return Base::pop_into(o, m); });
  }
  template <class Out, class D>
  std::size_t pop_into_for(Out out, std::size_t max, D d) {
    return pop_batch(out, max,
                     [&, this](Sink o, std::size_t m) { return Base::pop_into_for(o, m, d); });
  }
  template <class Out, class TP>
  std::size_t pop_into_until(Out out, std::size_t max, TP tp) {
    return pop_batch(out, max,
                     [&, this](Sink o, std::size_t m) { return Base::pop_into_until(o, m, tp); });
  }

  std::size_t faults() const { return faults_.load(); }

 private:
  bool tick() {
    if (calls_.fetch_add(1) % 3 != 2) return false;
    faults_.fetch_add(1);
    return true;
  }

  template <class R, class Push>
  std::size_t push_batch(const R& range, Push push) {
    std::vector<int> items(std::begin(range), std::end(range));
    if (kFault != BatchFault::skip_first || items.size() < 2 || !tick()) {
      return push(std::move(items));
    }
    // Queues items[1..] and reports them as the prefix of that length.
    items.erase(items.begin());
    return push(std::move(items));
  }

  template <class Out, class Pop>
  std::size_t pop_batch(Out out, std::size_t max, Pop pop) {
    std::vector<int> got;
    const bool fault = kFault != BatchFault::skip_first && tick();
    const std::size_t asked = fault && kFault == BatchFault::overfull_pops ? max + 1 : max;
    const std::size_t n = pop(std::back_inserter(got), asked);
    if (fault && kFault == BatchFault::reverse_pops) std::reverse(got.begin(), got.end());
    for (int v : got) *out++ = v;
    return n;
  }

  std::atomic<std::size_t> calls_{0};
  std::atomic<std::size_t> faults_{0};
};

template <BatchFault kFault>
void require_batch_fault_caught(const char* what) {
  PlanShape shape;
  shape.batch_percent = 60;
  shape.force_push = false;
  require_caught<BrokenBatchQueue<bq::DropNewest, kFault>>(what, shape, documented(kDrop), {}, 123);
}

}  // namespace

TEST_CASE(
    "checker catches batch pops out of order, batch pushes of a non-prefix, and batch "
    "pops of more than max",
    "[linearizability][checker][batch]") {
  require_batch_fault_caught<BatchFault::reverse_pops>("reverse_pops");
  require_batch_fault_caught<BatchFault::skip_first>("skip_first");
  require_batch_fault_caught<BatchFault::overfull_pops>("overfull_pops");
}
#endif
