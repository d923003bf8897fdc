// A Spsc queue that may evict lets its producer lap the consumer: the producer of a
// full queue evicts the oldest item through that item's slot and never waits for, or
// writes, the consumer's position. A consumer whose position was lapped (once or many
// times) must then skip to the oldest item still queued, counting nothing twice and
// losing nothing uncounted, whether it pops one item or a batch.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

namespace {

using bq_test::small_config;
using bq_test::Watchdog;

using Queue = bq::BoundedQueue<std::uint64_t, bq::DropOldest, bq::Spsc>;

std::atomic<std::uint64_t> kept_work{0};  // where the consumer's busy work goes

/// Spins for about `rounds` multiply-xorshift steps: a consumer slower than its producer.
std::uint64_t busy_work(std::uint64_t x, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    x *= 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
  }
  return x;
}

}  // namespace

TEST_CASE("a spsc consumer lapped many times pops the oldest item still queued",
          "[spsc][policy][lapping]") {
  const std::size_t capacity = GENERATE(1u, 3u, 8u);
  const std::uint64_t laps = GENERATE(1u, 2u, 5u);
  CAPTURE(capacity, laps);
  std::vector<std::uint64_t> evicted;
  Queue q{small_config(capacity), [&](std::uint64_t&& value) { evicted.push_back(value); }};
  // The consumer has not moved: every push after the first `capacity` evicts, so the
  // producer passes the consumer's position `laps` times.
  const std::uint64_t items = capacity * (laps + 1);
  for (std::uint64_t value = 0; value < items; ++value) REQUIRE(bq::accepted(q.push(value)));
  CHECK(q.size() == capacity);

  std::vector<std::uint64_t> expected_evicted(items - capacity);
  for (std::uint64_t v = 0; v < expected_evicted.size(); ++v) expected_evicted[v] = v;
  CHECK(evicted == expected_evicted);

  std::vector<std::uint64_t> popped;
  while (const auto item = q.try_pop()) popped.push_back(*item);
  std::vector<std::uint64_t> newest(capacity);
  for (std::uint64_t i = 0; i < capacity; ++i) newest[i] = items - capacity + i;
  CHECK(popped == newest);

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == items);
  CHECK(m.popped == capacity);
  CHECK(m.dropped_oldest == items - capacity);
  CHECK(m.size == 0);
  CHECK(m.high_watermark == capacity);
}

TEST_CASE("a spsc batch pop after the consumer was lapped takes the oldest items, in order",
          "[spsc][policy][lapping][batch]") {
  const std::size_t capacity = GENERATE(2u, 5u);
  CAPTURE(capacity);
  Queue q{small_config(capacity)};
  for (std::uint64_t value = 0; value < 4 * capacity + 1; ++value) (void)q.push(value);
  std::vector<std::uint64_t> popped;
  CHECK(q.try_pop_into(std::back_inserter(popped), 2 * capacity) == capacity);
  std::vector<std::uint64_t> newest(capacity);
  for (std::uint64_t i = 0; i < capacity; ++i) newest[i] = 3 * capacity + 1 + i;
  CHECK(popped == newest);
  // The queue goes on as if nothing happened: room again, and FIFO.
  CHECK(q.try_push(std::uint64_t{100}));
  CHECK(q.try_pop() == std::optional<std::uint64_t>(100));
  CHECK(q.metrics().dropped_oldest == 3 * capacity + 1);
}

TEST_CASE("a slow spsc consumer lapped by a fast producer gets every item at most once, in order",
          "[spsc][policy][lapping][stress]") {
  const std::size_t capacity = GENERATE(1u, 2u, 16u);
  const bool batches = GENERATE(false, true);
  CAPTURE(capacity, batches);
  const std::uint64_t items = bq_test::scaled(200'000);
  Watchdog watchdog("spsc lapping stress");
  std::vector<std::uint64_t> evicted;  // written by the producer thread (the handler runs there)
  evicted.reserve(items);
  Queue q{small_config(capacity), [&](std::uint64_t&& value) { evicted.push_back(value); }};

  std::atomic<bool> done{false};
  // A third thread reads the metrics all along: each counter never goes back, and
  // what left the queue never exceeds what entered it.
  bool monotonic = true;
  bool balanced = true;
  std::thread observer([&] {
    bq::QueueMetrics last{};
    while (!done.load(std::memory_order_acquire)) {
      const bq::QueueMetrics m = q.metrics();
      monotonic &= m.pushed >= last.pushed && m.popped >= last.popped &&
                   m.dropped_oldest >= last.dropped_oldest;
      balanced &= m.popped + m.dropped_oldest <= m.pushed && m.size <= capacity;
      last = m;
    }
  });
  std::thread producer([&] {
    for (std::uint64_t value = 0; value < items; ++value) (void)q.push(value);
    q.close();
  });
  std::vector<std::uint64_t> popped;
  popped.reserve(items);
  std::uint64_t sink = 0;
  for (;;) {
    if (batches) {
      std::uint64_t batch[4];
      const std::size_t n = q.pop_into(batch, 4);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) sink += busy_work(batch[i], 200);
      popped.insert(popped.end(), batch, batch + n);
    } else {
      const std::optional<std::uint64_t> item = q.pop();
      if (!item) break;
      sink += busy_work(*item, 200);
      popped.push_back(*item);
    }
  }
  producer.join();
  done.store(true, std::memory_order_release);
  observer.join();
  kept_work.store(sink, std::memory_order_relaxed);  // the work is not optimized away

  CHECK(std::is_sorted(popped.begin(), popped.end()));
  CHECK(std::adjacent_find(popped.begin(), popped.end()) == popped.end());
  CHECK(std::is_sorted(evicted.begin(), evicted.end()));
  REQUIRE_FALSE(popped.empty());
  CHECK(popped.back() == items - 1);  // drop-oldest never drops the newest item
  // Exactly once: the two sorted lists merge into 0..items-1.
  std::vector<std::uint64_t> all;
  std::merge(popped.begin(), popped.end(), evicted.begin(), evicted.end(), std::back_inserter(all));
  bool each_once = all.size() == items;
  for (std::uint64_t i = 0; each_once && i < items; ++i) each_once = all[i] == i;
  CHECK(each_once);
  CHECK(evicted.size() > 0);  // the consumer was lapped: the scenario happened

  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == items);
  CHECK(m.popped == popped.size());
  CHECK(m.dropped_oldest == evicted.size());
  CHECK(m.size == 0);
  CHECK(monotonic);
  CHECK(balanced);
}
