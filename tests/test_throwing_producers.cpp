// Throwing producers: several threads push items whose construction in the queue throws
// now and then (a copy that meets bad_alloc, a constructor that validates its input), while
// consumers pop with every pop form. Over every policy, both concurrency modes, capacities
// {1, 2, 3, 8, 1000} and throw rates from 1 in 2 to 1 in 1000, each run must:
//   - finish (a watchdog aborts a hang with the scenario's name instead of hanging CI);
//   - account for every item exactly once: each accepted item is popped or evicted once,
//     no refused or thrown item shows up, every instance constructed is destroyed, and
//     pushed == popped + dropped_oldest + size once the threads are done;
//   - keep FIFO order per producer, as each consumer sees it;
//   - never show a counter going back: a watcher thread compares every snapshot of
//     metrics() with the one before it (Prometheus reads a drop as a counter reset).
// A throwing push leaves a hole in the ring (see docs/api.md, "Exceptions and lifetimes");
// these runs are what the single-threaded fault-injection tests could not show: the hole
// protocol under races.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <bq/bounded_queue.hpp>

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using bq::PushResult;
using Id = std::uint64_t;

constexpr int kProducerShift = 40;  // id = producer << 40 | sequence number

/// Thrown by Fragile's copy and converting constructors.
struct ConstructionFailed : std::runtime_error {
  ConstructionFailed() : std::runtime_error("bq_test: construction failed") {}
};

/// The calling thread's throw schedule: one construction in `one_in` throws (0: never).
thread_local std::uint32_t tl_throw_one_in = 0;
thread_local std::uint64_t tl_rng = 1;

/// An item whose copy and converting constructors throw on the calling thread's
/// schedule (moves never throw, so pops and evictions cannot). Counts live instances.
class Fragile {
 public:
  struct Emplace {};
  Fragile(Emplace, Id id) : id_(id) {
    maybe_throw();
    live.fetch_add(1, std::memory_order_relaxed);
  }
  Fragile(const Fragile& other) : id_(other.id_) {
    maybe_throw();
    live.fetch_add(1, std::memory_order_relaxed);
  }
  Fragile(Fragile&& other) noexcept : id_(other.id_) {
    live.fetch_add(1, std::memory_order_relaxed);
  }
  Fragile& operator=(const Fragile&) = delete;
  ~Fragile() { live.fetch_sub(1, std::memory_order_relaxed); }

  [[nodiscard]] Id id() const noexcept { return id_; }

  static inline std::atomic<long long> live{0};
  static inline std::atomic<long long> thrown{0};

 private:
  static void maybe_throw() {
    if (tl_throw_one_in == 0) return;
    tl_rng = bq_test::mix(tl_rng);
    if (tl_rng % tl_throw_one_in == 0) {
      thrown.fetch_add(1, std::memory_order_relaxed);
      throw ConstructionFailed();
    }
  }

  Id id_;
};

enum class PopForm { try_pop, pop, pop_for, pop_until };

const char* name_of(PopForm form) {
  switch (form) {
    case PopForm::try_pop: return "try_pop";
    case PopForm::pop: return "pop";
    case PopForm::pop_for: return "pop_for";
    case PopForm::pop_until: return "pop_until";
  }
  return "?";
}

struct Scenario {
  std::size_t producers = 3;
  std::size_t consumers = 1;
  std::size_t capacity = 8;
  std::uint32_t throw_one_in = 7;
  PopForm pop_form = PopForm::try_pop;
  std::uint64_t items_per_producer = 1000;

  [[nodiscard]] std::string describe() const {
    std::ostringstream out;
    out << producers << " producers x " << consumers << " consumers (" << name_of(pop_form)
        << "), capacity " << capacity << ", 1 construction in " << throw_one_in << " throws, "
        << items_per_producer << " pushes each";
    return out.str();
  }
};

/// What one producer did with its ids.
struct ProducerLog {
  std::vector<Id> accepted;
  std::vector<Id> evicted;  // by the eviction handler, in this producer's thread
  std::uint64_t threw = 0;
  std::uint64_t dropped_newest = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t closed = 0;
};

thread_local ProducerLog* tl_log = nullptr;

/// Compares each metrics() snapshot with the previous one until stopped; remembers the
/// first counter seen going back, or an invariant a snapshot broke.
template <class Queue>
class MonotonicWatcher {
 public:
  explicit MonotonicWatcher(const Queue& q) : thread_([this, &q] { run(q); }) {}
  MonotonicWatcher(const MonotonicWatcher&) = delete;
  MonotonicWatcher& operator=(const MonotonicWatcher&) = delete;
  ~MonotonicWatcher() { stop(); }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] const std::string& first_violation() const { return violation_; }
  [[nodiscard]] std::uint64_t snapshots() const { return snapshots_; }

 private:
  void run(const Queue& q) {
    bq::QueueMetrics before = q.metrics();
    while (!stop_.load(std::memory_order_relaxed)) {
      const bq::QueueMetrics now = q.metrics();
      ++snapshots_;
      check("pushed", before.pushed, now.pushed);
      check("popped", before.popped, now.popped);
      check("dropped_oldest", before.dropped_oldest, now.dropped_oldest);
      check("dropped_newest", before.dropped_newest, now.dropped_newest);
      check("timed_out", before.timed_out, now.timed_out);
      check("rejected_closed", before.rejected_closed, now.rejected_closed);
      check("high_watermark", before.high_watermark, now.high_watermark);
      if (violation_.empty() && now.pushed < now.popped + now.dropped_oldest) {
        violation_ = "pushed " + std::to_string(now.pushed) + " < popped + dropped_oldest " +
                     std::to_string(now.popped + now.dropped_oldest);
      }
      if (violation_.empty() && now.size > now.capacity) {
        violation_ = "size " + std::to_string(now.size) + " > capacity";
      }
      before = now;
      std::this_thread::yield();
    }
  }

  void check(const char* name, std::uint64_t before, std::uint64_t now) {
    if (violation_.empty() && now < before) {
      violation_ = std::string(name) + " went back from " + std::to_string(before) + " to " +
                   std::to_string(now);
    }
  }

  std::atomic<bool> stop_{false};
  std::string violation_;
  std::uint64_t snapshots_ = 0;
  std::thread thread_;
};

/// One push of `id`: by copy or by emplace (alternating), with the policy's own wait.
template <class Queue>
void produce_one(Queue& q, Id id, ProducerLog& log) {
  PushResult result;
  try {
    if (id % 2 == 0) {
      // Built with the schedule off, so only the copy into the queue may throw.
      const std::uint32_t one_in = std::exchange(tl_throw_one_in, 0);
      const Fragile item(Fragile::Emplace{}, id);
      tl_throw_one_in = one_in;
      result = q.push(item);
    } else {
      result = q.emplace(Fragile::Emplace{}, id);
    }
  } catch (const ConstructionFailed&) {
    ++log.threw;
    return;
  }
  switch (result) {
    case PushResult::pushed:
    case PushResult::replaced_oldest: log.accepted.push_back(id); break;
    case PushResult::dropped_newest: ++log.dropped_newest; break;
    case PushResult::timed_out: ++log.timed_out; break;
    case PushResult::closed: ++log.closed; break;     // not expected: closed after the pushes
    case PushResult::cancelled: ++log.closed; break;  // not expected either: no stop token
  }
}

/// One pop with `form` (the timed forms wait at most a millisecond).
template <class Queue>
std::optional<Fragile> pop_with(Queue& q, PopForm form) {
  switch (form) {
    case PopForm::try_pop: return q.try_pop();
    case PopForm::pop: return q.pop();
    case PopForm::pop_for: return q.pop_for(1ms);
    case PopForm::pop_until: return q.pop_until(std::chrono::steady_clock::now() + 1ms);
  }
  return std::nullopt;
}

/// Pops with `form` until the queue is closed and empty.
template <class Queue>
void consume_all(Queue& q, PopForm form, std::vector<Id>& popped) {
  for (;;) {
    if (const std::optional<Fragile> item = pop_with(q, form)) {
      popped.push_back(item->id());
    } else if (q.is_closed() && q.empty()) {
      return;
    }
  }
}

/// Runs one scenario on a fresh queue and checks everything the file header promises.
template <class Queue>
void run_scenario(const Scenario& s) {
  INFO(s.describe());
  Fragile::live = 0;
  Fragile::thrown = 0;
  std::vector<ProducerLog> logs(s.producers);
  std::vector<std::vector<Id>> popped(s.consumers);
  bq::QueueMetrics end{};
  std::string violation;
  {
    Queue q(bq_test::small_config(s.capacity, 2ms),
            [](Fragile&& evicted) { tl_log->evicted.push_back(evicted.id()); });
    MonotonicWatcher<Queue> watcher(q);
    std::vector<std::thread> consumers;
    for (std::size_t c = 0; c < s.consumers; ++c) {
      consumers.emplace_back([&, c] { consume_all(q, s.pop_form, popped[c]); });
    }
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < s.producers; ++p) {
      producers.emplace_back([&, p] {
        tl_log = &logs[p];
        tl_rng = bq_test::mix(p + 1 + s.capacity * 31 + s.throw_one_in);
        tl_throw_one_in = s.throw_one_in;
        for (std::uint64_t k = 0; k < s.items_per_producer; ++k) {
          produce_one(q, (Id{p} << kProducerShift) | k, logs[p]);
        }
        tl_throw_one_in = 0;
      });
    }
    for (auto& t : producers) t.join();
    q.close();
    for (auto& t : consumers) t.join();
    watcher.stop();
    violation = watcher.first_violation();
    end = q.metrics();
  }
  INFO("first counter violation: " << violation);
  CHECK(violation.empty());

  std::uint64_t accepted = 0, evicted = 0, threw = 0, dropped_newest = 0, timed_out = 0, closed = 0;
  std::vector<std::uint8_t> seen;  // per producer and sequence number: times delivered
  seen.assign(s.producers * s.items_per_producer, 0);
  const auto slot_of = [&](Id id) {
    return (id >> kProducerShift) * s.items_per_producer + (id & ((Id{1} << kProducerShift) - 1));
  };
  std::uint64_t not_accepted_delivered = 0, duplicates = 0, out_of_order = 0;
  std::vector<std::uint8_t> accepted_flag(seen.size(), 0);
  for (const ProducerLog& log : logs) {
    accepted += log.accepted.size();
    evicted += log.evicted.size();
    threw += log.threw;
    dropped_newest += log.dropped_newest;
    timed_out += log.timed_out;
    closed += log.closed;
    for (Id id : log.accepted) accepted_flag[slot_of(id)] = 1;
  }
  const auto deliver = [&](Id id) {
    if (!accepted_flag[slot_of(id)]) ++not_accepted_delivered;
    if (++seen[slot_of(id)] > 1) ++duplicates;
  };
  std::uint64_t popped_total = 0;
  for (const auto& ids : popped) {
    std::vector<std::int64_t> last(s.producers, -1);
    for (Id id : ids) {
      deliver(id);
      const auto producer = static_cast<std::size_t>(id >> kProducerShift);
      const auto seq = static_cast<std::int64_t>(id & ((Id{1} << kProducerShift) - 1));
      if (seq <= last[producer]) ++out_of_order;
      last[producer] = seq;
    }
    popped_total += ids.size();
  }
  for (const ProducerLog& log : logs) {
    for (Id id : log.evicted) deliver(id);
  }
  std::uint64_t lost = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (accepted_flag[i] && seen[i] == 0) ++lost;
  }

  CHECK(closed == 0);
  CHECK(lost == 0);
  CHECK(duplicates == 0);
  CHECK(not_accepted_delivered == 0);
  CHECK(out_of_order == 0);
  CHECK(threw == static_cast<std::uint64_t>(Fragile::thrown.load()));
  CHECK(Fragile::live.load() == 0);
  CHECK(accepted + threw + dropped_newest + timed_out == s.producers * s.items_per_producer);
  CHECK(end.size == 0);
  CHECK(end.pushed == accepted);
  CHECK(end.popped == popped_total);
  CHECK(end.dropped_oldest == evicted);
  CHECK(end.dropped_newest == dropped_newest);
  CHECK(end.timed_out == timed_out);
  CHECK(end.pushed == end.popped + end.dropped_oldest + end.size);
}

/// The whole matrix for one queue type: capacities x throw rates x pop forms.
template <class Queue>
void run_matrix(std::size_t producers) {
  bq_test::Watchdog watchdog("throwing producers matrix", std::chrono::seconds(600));
  for (std::size_t capacity :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{8}, std::size_t{1000}}) {
    for (std::uint32_t one_in : {2u, 7u, 50u, 1000u}) {
      for (PopForm form : {PopForm::try_pop, PopForm::pop, PopForm::pop_for, PopForm::pop_until}) {
        Scenario s;
        s.producers = producers;
        s.consumers = producers > 1 && form == PopForm::pop ? 2 : 1;
        s.capacity = capacity;
        s.throw_one_in = one_in;
        s.pop_form = form;
        s.items_per_producer = bq_test::scaled(capacity == 1000 ? 3000 : 600);
        run_scenario<Queue>(s);
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE(
    "several producers whose constructors throw never hang the queue and lose "
    "nothing",
    "[exceptions][stress]", bq::DropOldest, bq::DropNewest, bq::Block,
    bq::BlockThen<bq::DropOldest>, bq::BlockThen<bq::DropNewest>, bq::Dynamic) {
  run_matrix<bq::BoundedQueue<Fragile, TestType>>(3);
}

TEMPLATE_TEST_CASE("a single producer whose constructor throws, on a Spsc queue, loses nothing",
                   "[exceptions][spsc]", bq::DropOldest, bq::DropNewest, bq::Block,
                   bq::BlockThen<bq::DropOldest>, bq::BlockThen<bq::DropNewest>, bq::Dynamic) {
  run_matrix<bq::BoundedQueue<Fragile, TestType, bq::Spsc>>(1);
}

namespace {

/// An item whose copy constructor, when the copying thread is armed, announces that
/// it started and then waits until released, and then throws or completes as told:
/// it holds a push half-way through, after its claim, for as long as a test needs.
class Gated {
 public:
  explicit Gated(Id id) : id_(id) {}
  Gated(const Gated& other) : id_(other.id_) {
    if (!tl_armed) return;
    started.fetch_add(1);
    while (!released.load()) std::this_thread::yield();
    if (throw_when_released.load()) throw ConstructionFailed();
  }
  Gated(Gated&& other) noexcept : id_(other.id_) {}
  Gated& operator=(const Gated&) = delete;
  [[nodiscard]] Id id() const noexcept { return id_; }

  static void reset(bool throw_at_release) {
    started = 0;
    released = false;
    throw_when_released = throw_at_release;
  }
  /// Waits until more than `before` copies have started.
  static void wait_until_started(int before = 0) {
    while (started.load() <= before) std::this_thread::yield();
  }

  static inline thread_local bool tl_armed = false;
  static inline std::atomic<int> started{0};  // copies that have started
  static inline std::atomic<bool> released{false};
  static inline std::atomic<bool> throw_when_released{false};

 private:
  Id id_;
};

/// Starts a thread that pushes a copy of Gated{id} into `q` with the gate armed;
/// returns once the copy has started (its position is claimed).
template <class Queue>
std::thread push_held_halfway(Queue& q, Id id, std::atomic<int>& outcome) {
  const int before = Gated::started.load();
  std::thread pusher([&q, id, &outcome] {
    Gated::tl_armed = true;
    const Gated item(id);
    try {
      outcome = bq::accepted(q.push(item)) ? 1 : 2;
    } catch (const ConstructionFailed&) {
      outcome = 3;
    }
  });
  Gated::wait_until_started(before);
  return pusher;
}

}  // namespace

TEST_CASE("try_pop never waits for a push that is half-way through writing its item",
          "[exceptions][timing]") {
  bq_test::Watchdog watchdog("try_pop and a push held half-way", std::chrono::seconds(60));
  bq::BoundedQueue<Gated, bq::DropNewest> q(4);
  Gated::reset(/*throw_at_release=*/false);
  std::atomic<int> outcome{0};
  std::thread pusher = push_held_halfway(q, 1, outcome);

  // The push has claimed the oldest position but not written it: "no item yet".
  CHECK_FALSE(q.try_pop().has_value());
  const auto start = bq_test::Clock::now();
  CHECK_FALSE(q.pop_for(20ms).has_value());
  CHECK(bq_test::Clock::now() - start >= 20ms);  // a timeout never returns early

  Gated::released = true;
  pusher.join();
  CHECK(outcome == 1);
  const std::optional<Gated> item = q.try_pop();
  REQUIRE(item.has_value());
  CHECK(item->id() == 1);
}

// The drain rule (docs/guarantees.md, "Draining after close"): a push that claimed its
// position before close() is in the queue, and only pop() returning nullopt says that the
// queue is closed *and* drained. A consumer that stops at is_closed() plus a nullopt from
// try_pop() (or from a timed pop) leaves such an item behind: the soak did, once in CI.
TEMPLATE_TEST_CASE(
    "after close, pop() delivers the item of a push that was half-way at the "
    "close, where try_pop() may not",
    "[exceptions][close][timing]", bq::Mpmc, bq::Spsc) {
  bq_test::Watchdog watchdog("draining a push held half-way at close", std::chrono::seconds(60));
  bq::BoundedQueue<Gated, bq::DropOldest, TestType> q(4);
  Gated::reset(/*throw_at_release=*/false);
  std::atomic<int> outcome{0};
  std::thread pusher = push_held_halfway(q, 1, outcome);
  // An Spsc close() returns only once the push in flight has published: close elsewhere.
  std::thread closer([&q] { q.close(); });
  while (!q.is_closed()) std::this_thread::yield();

  // What the soak's consumers took for "closed and empty": not the end of the stream.
  CHECK(q.is_closed());
  CHECK_FALSE(q.try_pop().has_value());
  CHECK_FALSE(q.pop_for(1ms).has_value());

  std::vector<Id> drained;
  std::atomic<bool> drained_all{false};
  std::thread consumer([&] {
    while (const std::optional<Gated> item = q.pop()) drained.push_back(item->id());
    drained_all = true;
  });
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(drained_all.load());  // pop() waits for the claimed position...
  Gated::released = true;
  pusher.join();
  closer.join();
  consumer.join();
  CHECK(outcome == 1);                   // ...whose push was accepted...
  CHECK(drained == std::vector<Id>{1});  // ...and delivers its item, then nullopt
  CHECK(q.metrics().size == 0);
}

TEST_CASE("after close, poppers in several threads drain every push that was half-way at the close",
          "[exceptions][close][thread]") {
  bq_test::Watchdog watchdog("several pushes held half-way across close", std::chrono::seconds(60));
  constexpr std::size_t kPushers = 3;
  constexpr std::size_t kPoppers = 2;
  bq::BoundedQueue<Gated, bq::DropOldest> q(4);
  Gated::reset(/*throw_at_release=*/false);
  std::vector<std::atomic<int>> outcomes(kPushers);
  std::vector<std::thread> pushers;
  for (std::size_t p = 0; p < kPushers; ++p) {
    pushers.push_back(push_held_halfway(q, Id{p + 1}, outcomes[p]));
  }
  q.close();  // Mpmc: returns at once; the three claimed positions are still being written

  std::vector<std::vector<Id>> drained(kPoppers);
  std::vector<std::thread> poppers;
  for (std::size_t c = 0; c < kPoppers; ++c) {
    poppers.emplace_back([&q, &mine = drained[c]] {
      while (const std::optional<Gated> item = q.pop()) mine.push_back(item->id());
    });
  }
  Gated::released = true;
  for (auto& t : pushers) t.join();
  for (auto& t : poppers) t.join();
  std::vector<Id> all;
  for (const auto& mine : drained) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<Id>{1, 2, 3});  // each accepted item delivered exactly once
  for (const auto& outcome : outcomes) CHECK(outcome == 1);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 3);
  CHECK(m.popped == 3);
  CHECK(m.size == 0);
}

TEST_CASE("a push that throws and gives its position back wakes a pusher waiting for room",
          "[exceptions][timing]") {
  bq_test::Watchdog watchdog("a pusher waiting behind a push that throws",
                             std::chrono::seconds(60));
  // Capacity 1: the held push fills the queue, so the second push waits for room.
  bq::BoundedQueue<Gated, bq::Block> q(bq_test::small_config(1, std::chrono::hours(1)));
  Gated::reset(/*throw_at_release=*/true);
  std::atomic<int> held{0};
  std::thread holder = push_held_halfway(q, 1, held);

  std::atomic<int> waiting{0};
  std::thread waiter([&] { waiting = q.push(Gated(2)) == PushResult::pushed ? 1 : 2; });
  // Let the waiter find the queue full and go to sleep (if it is slower, it simply
  // finds the room already made; either way it must not wait for its hour).
  std::this_thread::sleep_for(50ms);
  const auto released_at = bq_test::Clock::now();
  Gated::released = true;
  holder.join();
  waiter.join();
  CHECK(held == 3);     // the held push threw...
  CHECK(waiting == 1);  // ...and the waiting one took the room it gave back
  CHECK(bq_test::Clock::now() - released_at < 30s);  // woken, not timed out (1 h)
  const std::optional<Gated> item = q.try_pop();
  REQUIRE(item.has_value());
  CHECK(item->id() == 2);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 1);
  CHECK(m.popped == 1);
  CHECK(m.size == 0);
}

namespace {

/// Starts a thread that pushes Gated{id} into `q` (never held: the thread is not
/// armed) and sets `result` when the push returns.
template <class Queue>
std::thread push_waiting_for_room(Queue& q, Id id, std::atomic<int>& result) {
  return std::thread([&q, id, &result] { result = static_cast<int>(q.push(Gated(id))) + 1; });
}

constexpr int kPushed = static_cast<int>(PushResult::pushed) + 1;

}  // namespace

// A batch pop that passes holes frees a slot for each hole as well as for each item
// it takes: it must wake as many waiting pushers as slots it freed. (It woke them for
// the items alone: here one, and the other slept through its timeout with room free.)
TEST_CASE("a batch pop that passes a hole wakes a waiting pusher for every slot it frees",
          "[exceptions][batch][timing]") {
  bq_test::Watchdog watchdog("pushers waiting while a batch pop passes a hole",
                             std::chrono::seconds(60));
  bq::BoundedQueue<Gated, bq::Block> q(bq_test::small_config(2, std::chrono::seconds(20)));
  Gated::reset(/*throw_at_release=*/true);
  std::atomic<int> held{0};
  std::thread holder = push_held_halfway(q, 1, held);  // claims position 0
  REQUIRE(q.push(Gated(2)) == PushResult::pushed);     // position 1: the queue is full
  Gated::released = true;
  holder.join();
  REQUIRE(held == 3);  // position 0 is a hole now: [hole, 2]

  std::atomic<int> first{0};
  std::atomic<int> second{0};
  std::thread a = push_waiting_for_room(q, 10, first);
  std::thread b = push_waiting_for_room(q, 11, second);
  std::this_thread::sleep_for(50ms);  // both find the queue full and go to sleep
  std::vector<Gated> out;
  const auto popped_at = bq_test::Clock::now();
  CHECK(q.try_pop_into(std::back_inserter(out), 2) == 1);  // the hole and item 2
  a.join();
  b.join();
  CHECK(bq_test::Clock::now() - popped_at < 10s);  // both woken, not at their timeout (20 s)
  CHECK(first == kPushed);
  CHECK(second == kPushed);
  REQUIRE(out.size() == 1);
  CHECK(out.front().id() == 2);
  CHECK(q.metrics().size == 2);
}

// A batch push that throws gives back every position it claimed and did not fill:
// it must wake as many waiting pushers. (It woke one: the other slept through its
// timeout with a slot free.)
TEST_CASE("a batch push that throws wakes a waiting pusher for every position it gives back",
          "[exceptions][batch][timing]") {
  bq_test::Watchdog watchdog("pushers waiting behind a batch push that throws",
                             std::chrono::seconds(60));
  bq::BoundedQueue<Gated, bq::Block> q(bq_test::small_config(3, std::chrono::seconds(20)));
  REQUIRE(q.push(Gated(0)) == PushResult::pushed);
  Gated::reset(/*throw_at_release=*/true);
  const int before = Gated::started.load();
  std::atomic<bool> threw{false};
  std::thread batch_pusher([&] {
    const std::vector<Gated> batch{Gated(1), Gated(2)};
    Gated::tl_armed = true;  // the queue's copies are held, not the vector's
    try {
      (void)q.try_push_range(batch);  // claims the last two slots; the first copy throws
    } catch (const ConstructionFailed&) {
      threw = true;
    }
  });
  Gated::wait_until_started(before);

  std::atomic<int> first{0};
  std::atomic<int> second{0};
  std::thread a = push_waiting_for_room(q, 10, first);
  std::thread b = push_waiting_for_room(q, 11, second);
  std::this_thread::sleep_for(50ms);  // both find the queue full and go to sleep
  const auto released_at = bq_test::Clock::now();
  Gated::released = true;
  batch_pusher.join();
  a.join();
  b.join();
  CHECK(threw);
  CHECK(bq_test::Clock::now() - released_at < 10s);  // both woken, not at their timeout (20 s)
  CHECK(first == kPushed);
  CHECK(second == kPushed);
  CHECK(q.metrics().size == 3);
}

// A hole takes its slot until a pop passes it, and holds no item: metrics().size
// never counts it once passed. Here every construction throws, so the queue never
// holds an item and every size read must be 0. (counts() read the holes passed
// after head_, so holes passed in between were both in the ring and subtracted:
// in a reproducer, 127 reads of 62 million in 5 s said up to 4415, and the high
// watermark kept the largest for good.)
TEST_CASE("the size never counts the slots of failed pushes that pops have passed",
          "[exceptions][batch][metrics][thread]") {
  bq_test::Watchdog watchdog("size reads while pops pass holes", std::chrono::seconds(120));
  bq::BoundedQueue<Fragile, bq::DropNewest> q(4096);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&] {
      const std::vector<Fragile> batch(16, Fragile(Fragile::Emplace{}, 0));
      tl_throw_one_in = 1;  // every construction throws: holes, or positions given back
      while (!stop.load(std::memory_order_relaxed)) {
        try {
          (void)q.try_push_range(batch);
        } catch (const ConstructionFailed&) {
        }
        try {
          (void)q.try_emplace(Fragile::Emplace{}, Id{1});
        } catch (const ConstructionFailed&) {
        }
      }
      tl_throw_one_in = 0;
    });
  }
  std::atomic<std::size_t> items_popped{0};
  threads.emplace_back([&] {
    std::vector<Fragile> out;
    while (!stop.load(std::memory_order_relaxed)) {
      out.clear();
      items_popped += q.try_pop_into(std::back_inserter(out), 64);
    }
  });
  std::size_t largest_size = 0;
  const auto end = bq_test::Clock::now() +
                   std::chrono::milliseconds(static_cast<long>(1000 * bq_test::stress_scale()));
  while (bq_test::Clock::now() < end) largest_size = std::max(largest_size, q.metrics().size);
  stop = true;
  for (auto& t : threads) t.join();
  CHECK(largest_size == 0);
  CHECK(items_popped == 0);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == 0);
  CHECK(m.size == 0);
}
