// Exactly-once accounting under stress: every item carries a unique id, and after producers,
// consumers and a close() arriving mid-stream are done, each id is in exactly one place:
// popped by a consumer, handed to the eviction handler (evicted, or discarded by clear() or
// close_and_discard() in the discarding scenarios), returned by force_push as evicted, or
// kept by its producer because the push did not accept it. No duplicates, no losses, and
// metrics() equals the tallies. Producers x consumers in {1,2,4,8} x {1,2,4,8}, capacities
// {1,2,3,1000}, every policy. Sizes shrink under sanitizers (BQ_STRESS_SCALE scales them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <bq/bounded_queue.hpp>

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using Id = std::uint64_t;
using bq::PushResult;

constexpr int kProducerShift = 40;  // id = producer << 40 | sequence number

/// Where the eviction handler of the running producer files what it is given.
thread_local std::vector<Id>* tl_evicted = nullptr;
/// Where it files what the discarding consumer's clear() and close_and_discard() give it.
thread_local std::vector<Id>* tl_discarded = nullptr;

/// What one producer did with its ids.
struct ProducerLog {
  std::vector<Id> evicted_by_handler;  // filled by the eviction handler in this thread
  std::vector<Id> evicted_by_force;    // ForcePushResult::evicted
  std::vector<Id> kept;                // pushes that did not accept their item
  std::uint64_t accepted = 0;
  std::uint64_t dropped_newest = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t closed = 0;
  std::uint64_t cancelled = 0;
  bool moved_when_rejected = false;  // an rvalue left moved-from by a push that refused it
};

struct Scenario {
  std::size_t producers = 1;
  std::size_t consumers = 1;
  std::size_t capacity = 1;
  std::uint64_t items_per_producer = 100;
  double close_at = 0.5;  ///< Fraction of all push attempts after which a producer closes;
                          ///< >= 1: closed by the test once the producers are done.
  bool force_push = true;
  /// Consumer 0 calls clear() once a third of the attempts are made, and ends the run with
  /// close_and_discard() at close_at (or once the producers are done) instead of close().
  bool discard = false;

  [[nodiscard]] std::string describe() const {
    std::ostringstream out;
    out << producers << " producers x " << consumers << " consumers, capacity " << capacity << ", "
        << items_per_producer << " items each, close at " << close_at
        << (discard ? " (clear and close_and_discard)" : "");
    return out.str();
  }
};

/// Whether Q has a usable force_push (a Spsc queue has one only with an evicting policy).
template <class Q>
constexpr bool kCanForcePush = true;
template <class T, class P>
constexpr bool kCanForcePush<bq::BoundedQueue<T, P, bq::Spsc>> = bq::detail::policy_may_evict<P>();

/// Pushes `id` with the call the schedule picks for step `k`; files the outcome in `log`.
template <class Q>
void produce_one(Q& q, Id id, std::uint64_t k, bool force_push, ProducerLog& log) {
  PushResult result = PushResult::pushed;
  Id item = id;
  const auto keep_if = [&](bool accepted) {
    if (accepted) {
      ++log.accepted;
    } else {
      log.kept.push_back(id);
      if (item != id) log.moved_when_rejected = true;
    }
  };
  switch (k % 10) {
    case 0: result = q.push(std::move(item)); break;
    case 1: result = q.push(static_cast<const Id&>(item)); break;
    case 2: result = q.emplace(id); break;
    case 3: result = q.push_for(std::move(item), 0ms); break;
    case 4: result = q.push_for(std::move(item), 300us); break;
    case 5: result = q.push_until(std::move(item), std::chrono::steady_clock::now() + 300us); break;
    case 6: keep_if(q.try_push(std::move(item))); return;
    case 7: keep_if(q.try_emplace(id)); return;
    case 8:
      if constexpr (kCanForcePush<Q>) {
        if (force_push) {
          auto r = q.force_push(std::move(item));
          if (r.evicted) log.evicted_by_force.push_back(*r.evicted);
          result = r.result;
          break;
        }
      }
      result = q.push(std::move(item));
      break;
    default: result = q.push(std::move(item)); break;
  }
  switch (result) {
    case PushResult::pushed:
    case PushResult::replaced_oldest: break;
    case PushResult::dropped_newest: ++log.dropped_newest; break;
    case PushResult::timed_out: ++log.timed_out; break;
    case PushResult::closed: ++log.closed; break;
    case PushResult::cancelled: ++log.cancelled; break;  // no stop token here: an error
  }
  keep_if(bq::accepted(result));
}

/// Pops until the queue is closed and empty, with a mix of pop calls.
template <class Q>
void consume_all(Q& q, std::size_t seed, std::vector<Id>& popped) {
  for (std::uint64_t k = seed;; ++k) {
    std::optional<Id> item;
    switch (k % 4) {
      case 0:
        item = q.try_pop();
        if (!item) std::this_thread::yield();
        break;
      case 1: item = q.pop_for(500us); break;
      default:
        item = q.pop();
        if (!item) return;  // closed and empty
        break;
    }
    if (item) popped.push_back(*item);
  }
}

/// Runs one scenario and checks that every id ended in exactly one place and metrics agree.
/// Returns an empty string on success, else what went wrong.
template <class Q>
std::string run_scenario(const Scenario& s, const bq::QueueConfig& base_config) {
  bq::QueueConfig config = base_config;
  config.capacity = s.capacity;
  Q q(config, [](Id&& id) {
    if (tl_discarded != nullptr) {
      tl_discarded->push_back(id);
    } else if (tl_evicted != nullptr) {
      tl_evicted->push_back(id);
    }
  });

  const std::uint64_t total_attempts = s.items_per_producer * s.producers;
  const auto close_after =
      static_cast<std::uint64_t>(s.close_at * static_cast<double>(total_attempts));
  std::atomic<std::uint64_t> attempts{0};
  std::vector<ProducerLog> producer_logs(s.producers);
  std::vector<std::vector<Id>> consumer_logs(s.consumers);
  std::vector<Id> discarded_log;        // what the discarding consumer's calls removed
  std::uint64_t discards_returned = 0;  // the sum of their return values
  std::atomic<bool> producers_done{false};
  {
    bq_test::Watchdog watchdog("exactly-once: " + s.describe());
    std::vector<std::thread> consumers;
    for (std::size_t c = 0; c < s.consumers; ++c) {
      if (s.discard && c == 0) {
        consumers.emplace_back([&] {
          // Times out its pops so it sees its cue to discard even with nothing to pop.
          tl_discarded = &discarded_log;
          bool cleared = false;
          for (;;) {
            const std::uint64_t made = attempts.load();
            if (!cleared && made >= total_attempts / 3) {
              discards_returned += q.clear();
              cleared = true;
            }
            if (made >= close_after || producers_done.load()) {
              discards_returned += q.close_and_discard();
              break;
            }
            if (auto item = q.pop_for(200us)) consumer_logs[0].push_back(*item);
          }
          while (auto item = q.pop()) consumer_logs[0].push_back(*item);  // none: discarded
          tl_discarded = nullptr;
        });
        continue;
      }
      consumers.emplace_back([&, c] { consume_all(q, c, consumer_logs[c]); });
    }
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < s.producers; ++p) {
      producers.emplace_back([&, p] {
        ProducerLog& log = producer_logs[p];
        tl_evicted = &log.evicted_by_handler;
        for (std::uint64_t k = 0; k < s.items_per_producer; ++k) {
          if (attempts.fetch_add(1) == close_after && !s.discard) q.close();
          produce_one(q, (Id{p} << kProducerShift) | k, k + p, s.force_push, log);
        }
        tl_evicted = nullptr;
      });
    }
    for (auto& t : producers) t.join();
    producers_done = true;
    // (A second close when one came mid-stream: close is idempotent. A discarding run
    // is closed by its consumer 0.)
    if (!s.discard) q.close();
    for (auto& t : consumers) t.join();
  }

  std::ostringstream errors;
  // Tally: every id of every producer exactly once.
  std::vector<std::vector<std::uint8_t>> seen(s.producers,
                                              std::vector<std::uint8_t>(s.items_per_producer));
  std::uint64_t strays = 0;
  const auto mark = [&](Id id) {
    const Id p = id >> kProducerShift;
    const Id k = id & ((Id{1} << kProducerShift) - 1);
    if (p >= s.producers || k >= s.items_per_producer) {
      ++strays;
      return;
    }
    ++seen[p][k];
  };
  std::uint64_t popped = 0;
  std::uint64_t evicted = 0;
  std::uint64_t accepted = 0;
  std::uint64_t dropped_newest = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t closed = 0;
  for (const auto& log : consumer_logs) {
    for (Id id : log) mark(id);
    popped += log.size();
  }
  for (Id id : discarded_log) mark(id);
  const std::uint64_t discarded = discarded_log.size();
  if (discards_returned != discarded)
    errors << "clear and close_and_discard returned " << discards_returned << " but handed "
           << discarded << " items; ";
  for (const auto& log : producer_logs) {
    for (Id id : log.evicted_by_handler) mark(id);
    for (Id id : log.evicted_by_force) mark(id);
    for (Id id : log.kept) mark(id);
    evicted += log.evicted_by_handler.size() + log.evicted_by_force.size();
    accepted += log.accepted;
    dropped_newest += log.dropped_newest;
    timed_out += log.timed_out;
    closed += log.closed;
    if (log.cancelled != 0) errors << "a push without a stop token returned cancelled; ";
    if (log.moved_when_rejected) errors << "a rejected push moved from its argument; ";
  }
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  for (std::size_t p = 0; p < s.producers; ++p) {
    for (std::uint64_t k = 0; k < s.items_per_producer; ++k) {
      if (seen[p][k] == 0) ++lost;
      if (seen[p][k] > 1) ++duplicated;
    }
  }
  if (lost != 0) errors << lost << " ids lost; ";
  if (duplicated != 0) errors << duplicated << " ids in more than one place; ";
  if (strays != 0) errors << strays << " ids never pushed; ";

  // With one consumer, each producer's items are popped in the order it pushed them.
  if (s.consumers == 1) {
    std::vector<Id> last(s.producers, 0);
    std::vector<bool> any(s.producers, false);
    for (Id id : consumer_logs[0]) {
      const Id p = id >> kProducerShift;
      if (p >= s.producers) continue;
      if (any[p] && id <= last[p]) {
        errors << "producer " << p << "'s items popped out of order; ";
        break;
      }
      any[p] = true;
      last[p] = id;
    }
  }

  const bq::QueueMetrics m = q.metrics();
  const auto expect = [&](const char* name, std::uint64_t metric, std::uint64_t tally) {
    if (metric != tally)
      errors << "metrics." << name << " = " << metric << " but tally " << tally << "; ";
  };
  expect("pushed", m.pushed, accepted);
  expect("popped", m.popped, popped);
  expect("dropped_oldest", m.dropped_oldest, evicted);
  expect("dropped_newest", m.dropped_newest, dropped_newest);
  expect("timed_out", m.timed_out, timed_out);
  expect("rejected_closed", m.rejected_closed, closed);
  expect("discarded", m.discarded, discarded);
  expect("size", m.size, 0);
  if (m.pushed != m.popped + m.dropped_oldest + m.discarded + m.size)
    errors << "pushed != popped + dropped_oldest + discarded + size; ";
  if (m.high_watermark > s.capacity) errors << "high watermark above capacity; ";
  if (q.try_pop().has_value()) errors << "an item was left in the queue; ";
  if (!q.is_closed()) errors << "queue not closed; ";
  return errors.str();
}

/// Runs the whole matrix for Q; the close point and timeout vary with the scenario.
template <class Q>
void run_matrix(std::uint64_t items_per_producer, bq::QueueConfig config,
                std::vector<std::size_t> producer_counts = {1, 2, 4, 8},
                std::vector<std::size_t> consumer_counts = {1, 2, 4, 8}, bool force_push = true,
                bool discard = false) {
  static constexpr double kCloseAt[] = {0.3, 0.6, 0.9, 2.0};  // 2.0: after the producers
  std::size_t index = 0;
  for (std::size_t producers : producer_counts) {
    for (std::size_t consumers : consumer_counts) {
      for (std::size_t capacity : {1U, 2U, 3U, 1000U}) {
        Scenario s;
        s.producers = producers;
        s.consumers = consumers;
        s.capacity = capacity;
        s.force_push = force_push;
        s.discard = discard;
        // Keep the total per scenario near constant so 8 producers cost no more than 1.
        s.items_per_producer =
            std::max<std::uint64_t>(8, bq_test::scaled(items_per_producer) / producers);
        s.close_at = kCloseAt[index++ % std::size(kCloseAt)];
        const std::string failure = run_scenario<Q>(s, config);
        INFO(s.describe());
        CHECK(failure == "");
      }
    }
  }
}

bq::QueueConfig config_with(bq::OverflowPolicy policy, std::chrono::milliseconds block_timeout) {
  bq::QueueConfig config;
  config.policy = policy;
  config.block_timeout = block_timeout;
  return config;
}

}  // namespace

TEMPLATE_TEST_CASE("every item ends up exactly once: popped, evicted or kept by its producer",
                   "[exactly_once][stress][close][policy]", bq::DropOldest, bq::DropNewest,
                   bq::Block, bq::BlockThen<bq::DropOldest>) {
  run_matrix<bq::BoundedQueue<Id, TestType>>(2000,
                                             config_with(bq::OverflowPolicy::drop_oldest, 2ms));
}

TEST_CASE("every item ends up exactly once with a Dynamic policy chosen at run time",
          "[exactly_once][stress][close][policy]") {
  for (auto policy : {bq::OverflowPolicy::drop_oldest, bq::OverflowPolicy::drop_newest,
                      bq::OverflowPolicy::block}) {
    INFO(bq::to_string(policy));
    run_matrix<bq::BoundedQueue<Id, bq::Dynamic>>(600, config_with(policy, 1ms), {1, 4}, {1, 8});
  }
}

TEMPLATE_TEST_CASE("every item ends up exactly once through a Spsc queue",
                   "[exactly_once][stress][close][spsc]", bq::DropOldest, bq::DropNewest,
                   bq::Block) {
  run_matrix<bq::BoundedQueue<Id, TestType, bq::Spsc>>(
      4000, config_with(bq::OverflowPolicy::drop_oldest, 2ms), {1}, {1});
}

TEMPLATE_TEST_CASE("every item ends up exactly once in long runs",
                   "[exactly_once][stress][close][slow]", bq::DropOldest, bq::Block) {
  // A blocking queue hands items over one wake-up at a time: fewer of them keep it as long.
  const std::uint64_t items = std::is_same_v<TestType, bq::Block> ? 12000 : 50000;
  run_matrix<bq::BoundedQueue<Id, TestType>>(
      items, config_with(bq::OverflowPolicy::drop_oldest, 2ms), {2, 8}, {2, 8});
}

TEMPLATE_TEST_CASE(
    "every item ends up exactly once when clear and close_and_discard race with pushes and pops",
    "[exactly_once][stress][close][discard][policy]", bq::DropOldest, bq::DropNewest, bq::Block,
    bq::BlockThen<bq::DropOldest>) {
  run_matrix<bq::BoundedQueue<Id, TestType>>(
      2000, config_with(bq::OverflowPolicy::drop_oldest, 2ms), {1, 2, 8}, {1, 2, 8}, true, true);
}

TEMPLATE_TEST_CASE(
    "every item ends up exactly once through a Spsc queue whose consumer clears and discards",
    "[exactly_once][stress][close][discard][spsc]", bq::DropOldest, bq::DropNewest, bq::Block) {
  // On a Spsc queue a discard is a pop: the one consumer makes them.
  run_matrix<bq::BoundedQueue<Id, TestType, bq::Spsc>>(
      4000, config_with(bq::OverflowPolicy::drop_oldest, 2ms), {1}, {1}, true, true);
}
