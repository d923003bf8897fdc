// Stress: many producers and consumers on small queues (capacity 1, 2, 3, 7) under
// every policy, with every push and pop flavour mixed. Checked at the end:
//   - per-producer FIFO as seen by each consumer;
//   - a checksum (and count) of everything produced equals popped + evicted +
//     not accepted (dropped_newest, timed_out, try_push refused, closed);
//   - the metrics match what the threads observed, and at quiescence
//     pushed == popped + dropped_oldest + size;
//   - a watcher thread never sees size() or the high watermark above capacity;
//   - every thread finishes (a lost wake-up trips the watchdog instead of hanging).
// Sizes are small so each test case stays well under 2 s on a loaded 2-core machine,
// also under ThreadSanitizer; BQ_STRESS_SCALE multiplies them for longer runs.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using bq_test::AllPolicies;
using bq_test::mix;
using bq_test::Watchdog;

constexpr int kProducers = 4;
constexpr int kConsumers = 3;

std::uint64_t item_value(int producer, std::uint64_t seq) {
  return (static_cast<std::uint64_t>(producer) << 32) | seq;
}

/// Sum and count of a set of items (sums of well-mixed hashes wrap around freely).
struct Tally {
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::uint64_t> count{0};
  void add(std::uint64_t value) {
    sum.fetch_add(mix(value), std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
  }
};

struct Outcome {
  Tally produced, popped, evicted, refused;  // refused: not accepted, still the producer's
  std::atomic<std::uint64_t> accepted{0}, dropped_newest{0}, timed_out{0}, closed{0};
  std::atomic<std::uint64_t> fifo_violations{0}, over_capacity{0};
  // Counters are monotonic, and each snapshot field is a value its counter had.
  std::atomic<std::uint64_t> pushed_went_backwards{0}, popped_went_backwards{0},
      dropped_went_backwards{0};
};

enum class Ending { producers_finish, close_midway };

template <class Policy>
void run_stress(std::size_t capacity, Ending ending) {
  CAPTURE(capacity);
  const std::uint64_t per_producer =
      ending == Ending::close_midway ? ~std::uint64_t{0} >> 33 : bq_test::scaled(1000);
  Outcome out;
  Watchdog watchdog("stress, capacity " + std::to_string(capacity), std::chrono::seconds(120));
  bq::BoundedQueue<std::uint64_t, Policy> q{
      bq_test::small_config(capacity, 2ms),
      [&out](std::uint64_t&& value) { out.evicted.add(value); }};

  std::atomic<bool> watching{true};
  std::atomic<int> producers_left{kProducers};
  bq_test::RoundBarrier start(kProducers + kConsumers + 1);
  std::vector<std::thread> threads;

  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      start.arrive_and_wait();
      for (std::uint64_t seq = 0; seq < per_producer; ++seq) {
        const std::uint64_t value = item_value(p, seq);
        out.produced.add(value);
        bq::PushResult result = bq::PushResult::pushed;
        switch ((seq + static_cast<std::uint64_t>(p)) % 6) {
          case 0: result = q.push(value); break;
          case 1: result = q.push_for(value, 1ms); break;
          case 2: result = q.emplace(value); break;
          case 3: result = q.push_until(value, bq_test::Clock::now() + 1ms); break;
          case 4: {
            if (q.try_push(value)) {
              result = bq::PushResult::pushed;
            } else {
              out.refused.add(value);  // Full or closed: not a drop, nothing counted.
              if (q.is_closed()) seq = per_producer;
              continue;
            }
            break;
          }
          default: {
            bq::ForcePushResult<std::uint64_t> forced = q.force_push(value);
            result = forced.result;
            if (forced.evicted) out.evicted.add(*forced.evicted);
            break;
          }
        }
        switch (result) {
          case bq::PushResult::pushed:
          case bq::PushResult::replaced_oldest: out.accepted.fetch_add(1); break;
          case bq::PushResult::dropped_newest:
            out.dropped_newest.fetch_add(1);
            out.refused.add(value);
            break;
          case bq::PushResult::timed_out:
            out.timed_out.fetch_add(1);
            out.refused.add(value);
            break;
          case bq::PushResult::closed:
            out.closed.fetch_add(1);
            out.refused.add(value);
            seq = per_producer;  // Closed: this producer is done.
            break;
          case bq::PushResult::cancelled:  // (only with a stop token, never passed here)
            out.refused.add(value);
            break;
        }
      }
      producers_left.fetch_sub(1);
    });
  }

  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      start.arrive_and_wait();
      std::vector<std::int64_t> last_seq(kProducers, -1);
      auto take = [&](std::uint64_t value) {
        const auto producer = static_cast<std::size_t>(value >> 32);
        const auto seq = static_cast<std::int64_t>(value & 0xffffffffu);
        if (producer >= last_seq.size() || seq <= last_seq[producer]) {
          out.fifo_violations.fetch_add(1);
        } else {
          last_seq[producer] = seq;
        }
        out.popped.add(value);
      };
      // Quiescent end: closed, and nothing left (producers finished before close).
      auto finished = [&] { return q.is_closed() && q.empty(); };
      for (;;) {
        std::optional<std::uint64_t> item;
        switch (c % 3) {
          case 0: item = q.pop(); break;
          case 1: item = q.pop_for(1ms); break;
          default: item = q.try_pop(); break;
        }
        if (item) {
          take(*item);
        } else if (c % 3 == 0 || finished()) {
          break;  // pop() returns nullopt only once closed and empty.
        } else if (c % 3 == 2) {
          std::this_thread::yield();
        }
      }
    });
  }

  std::thread watcher([&] {
    std::uint64_t last_pushed = 0, last_popped = 0, last_dropped = 0;
    int round = 0;
    while (watching.load()) {
      const std::size_t size = q.size();
      const bq::QueueMetrics m = q.metrics();
      if (size > capacity || m.size > capacity || m.high_watermark > capacity) {
        out.over_capacity.fetch_add(1);
      }
      if (m.pushed < last_pushed) out.pushed_went_backwards.fetch_add(1);
      if (m.popped < last_popped) out.popped_went_backwards.fetch_add(1);
      if (m.dropped() < last_dropped) out.dropped_went_backwards.fetch_add(1);
      last_pushed = m.pushed;
      last_popped = m.popped;
      last_dropped = m.dropped();
      if (++round % 64 == 0) q.reset_high_watermark();
      std::this_thread::yield();
    }
  });

  start.arrive_and_wait();
  if (ending == Ending::close_midway) {
    std::this_thread::sleep_for(30ms);
    q.close();
  }
  while (producers_left.load() > 0) std::this_thread::sleep_for(1ms);
  q.close();  // Producers are done: let the consumers drain and stop.
  for (auto& thread : threads) thread.join();
  watching = false;
  watcher.join();

  const bq::QueueMetrics m = q.metrics();
  CHECK(out.fifo_violations == 0);
  CHECK(out.over_capacity == 0);
  CHECK(out.pushed_went_backwards == 0);
  CHECK(out.popped_went_backwards == 0);
  CHECK(out.dropped_went_backwards == 0);
  // Nothing lost, nothing duplicated.
  CHECK(out.produced.count == out.popped.count + out.evicted.count + out.refused.count);
  CHECK(out.produced.sum == out.popped.sum + out.evicted.sum + out.refused.sum);
  // The metrics agree with what the threads saw.
  CHECK(m.size == 0);
  CHECK(m.pushed == out.accepted);
  CHECK(m.popped == out.popped.count);
  CHECK(m.dropped_oldest == out.evicted.count);
  CHECK(m.dropped_newest == out.dropped_newest);
  CHECK(m.timed_out == out.timed_out);
  CHECK(m.rejected_closed == out.closed);
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
  CHECK(m.high_watermark <= capacity);
  if (ending == Ending::producers_finish) {
    CHECK(out.closed == 0);
    CHECK(out.produced.count == kProducers * per_producer);
  }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE(
    "many producers and consumers on tiny queues lose nothing and keep "
    "per-producer order",
    "[stress]", AllPolicies) {
  const std::size_t capacity = GENERATE(1u, 2u, 3u, 7u);
  run_stress<TestType>(capacity, Ending::producers_finish);
}

TEMPLATE_LIST_TEST_CASE("closing while producers and consumers run loses nothing",
                        "[stress][close]", AllPolicies) {
  const std::size_t capacity = GENERATE(1u, 3u);
  run_stress<TestType>(capacity, Ending::close_midway);
}

TEMPLATE_TEST_CASE("producers evicting from a full queue with no consumer never deadlock",
                   "[stress][evict]", bq::DropOldest, bq::BlockThen<bq::DropOldest>, bq::Dynamic) {
  // Every push must evict; pushes race each other for the head. Nothing else runs, so a
  // pusher that waits for "the popper" to release a slot waits forever: the watchdog
  // turns that into a failure with a message.
  const std::size_t capacity = GENERATE(1u, 2u, 3u);
  const int producers = GENERATE(2, 4);
  CAPTURE(capacity, producers);
  const std::uint64_t per_producer = bq_test::scaled(20'000);
  Watchdog watchdog("evicting producers, no consumer", std::chrono::seconds(30));
  Tally produced, evicted;
  bq::BoundedQueue<std::uint64_t, TestType> q{bq_test::small_config(capacity, 0ms),
                                              [&](std::uint64_t&& v) { evicted.add(v); }};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t seq = 0; seq < per_producer; ++seq) {
        const std::uint64_t value = item_value(p, seq);
        produced.add(value);
        if (seq % 5 == 4) {
          bq::ForcePushResult<std::uint64_t> forced = q.force_push(value);
          if (forced.evicted) evicted.add(*forced.evicted);
        } else {
          (void)q.push(value);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Tally remaining;
  while (auto item = q.try_pop()) remaining.add(*item);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  CHECK(produced.count == total);
  CHECK(remaining.count == capacity);
  CHECK(evicted.count + remaining.count == total);
  CHECK(evicted.sum + remaining.sum == produced.sum);
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == total);
  CHECK(m.dropped_oldest == total - capacity);
  CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
}
