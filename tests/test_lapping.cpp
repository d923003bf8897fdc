// A queue whose policy may evict lets its producers lap the consumers, in both
// concurrency modes: the producer of a full queue evicts the oldest item through that
// item's slot and never waits for, or writes, the consumers' position. A consumer whose
// position was lapped (once or many times) must then skip to the oldest item still
// queued, counting nothing twice and losing nothing uncounted, whether it pops one item
// or a batch, and (Mpmc) whichever of several consumers finds the lapped positions.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_util.hpp"

namespace {

using bq_test::small_config;
using bq_test::Watchdog;

template <class Concurrency>
using Queue = bq::BoundedQueue<std::uint64_t, bq::DropOldest, Concurrency>;

std::atomic<std::uint64_t> kept_work{0};  // where the consumer's busy work goes

/// Spins for about `rounds` multiply-xorshift steps: a consumer slower than its producer.
std::uint64_t busy_work(std::uint64_t x, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    x *= 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
  }
  return x;
}

/// Pops until the queue is closed and empty, one item or a batch of up to 4 at a time,
/// doing about 200 steps of busy work per item (a consumer slower than its producers),
/// and appends what it got to `popped`.
template <class Concurrency>
void consume_slowly(Queue<Concurrency>& q, bool batches, std::vector<std::uint64_t>& popped) {
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
  kept_work.fetch_add(sink, std::memory_order_relaxed);  // the work is not optimized away
}

/// A thread that reads a queue's metrics all along, until stop(): each counter never
/// goes back, and what left the queue never exceeds what entered it.
template <class Concurrency>
class MetricsObserver {
 public:
  explicit MetricsObserver(const Queue<Concurrency>& queue)
      : thread_([this, &queue] {
          bq::QueueMetrics last{};
          while (!done_.load(std::memory_order_acquire)) {
            const bq::QueueMetrics m = queue.metrics();
            monotonic &= m.pushed >= last.pushed && m.popped >= last.popped &&
                         m.dropped_oldest >= last.dropped_oldest;
            balanced &= m.popped + m.dropped_oldest <= m.pushed && m.size <= queue.capacity();
            last = m;
          }
        }) {}
  MetricsObserver(const MetricsObserver&) = delete;
  MetricsObserver& operator=(const MetricsObserver&) = delete;
  ~MetricsObserver() { stop(); }

  void stop() {
    done_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
  }

  bool monotonic = true;  // read after stop()
  bool balanced = true;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// After a stress run of `items` items numbered 0..items-1 (the queue closed and
/// drained): `all` (what was evicted, then what was popped) holds each item exactly
/// once, the consumers were lapped, and the final metrics and the observer agree.
template <class Concurrency>
void check_each_item_once(const Queue<Concurrency>& q, const MetricsObserver<Concurrency>& observer,
                          const std::vector<std::uint64_t>& evicted, std::vector<std::uint64_t> all,
                          std::uint64_t items) {
  const std::uint64_t popped = all.size() - evicted.size();
  std::sort(all.begin(), all.end());
  bool each_once = all.size() == items;
  for (std::uint64_t i = 0; each_once && i < items; ++i) each_once = all[i] == i;
  CHECK(each_once);
  CHECK(evicted.size() > 0);  // the consumers were lapped: the scenario happened
  const bq::QueueMetrics m = q.metrics();
  CHECK(m.pushed == items);
  CHECK(m.popped == popped);
  CHECK(m.dropped_oldest == evicted.size());
  CHECK(m.size == 0);
  CHECK(observer.monotonic);
  CHECK(observer.balanced);
}

}  // namespace

TEMPLATE_TEST_CASE("a consumer lapped many times pops the oldest item still queued",
                   "[policy][lapping]", bq::Spsc, bq::Mpmc) {
  const std::size_t capacity = GENERATE(1u, 3u, 8u);
  const std::uint64_t laps = GENERATE(1u, 2u, 5u);
  CAPTURE(capacity, laps);
  std::vector<std::uint64_t> evicted;
  Queue<TestType> q{small_config(capacity),
                    [&](std::uint64_t&& value) { evicted.push_back(value); }};
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

TEMPLATE_TEST_CASE("a batch pop after the consumer was lapped takes the oldest items, in order",
                   "[policy][lapping][batch]", bq::Spsc, bq::Mpmc) {
  const std::size_t capacity = GENERATE(2u, 5u);
  CAPTURE(capacity);
  Queue<TestType> q{small_config(capacity)};
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
  Queue<bq::Spsc> q{small_config(capacity),
                    [&](std::uint64_t&& value) { evicted.push_back(value); }};

  MetricsObserver<bq::Spsc> observer(q);
  std::thread producer([&] {
    for (std::uint64_t value = 0; value < items; ++value) (void)q.push(value);
    q.close();
  });
  std::vector<std::uint64_t> popped;
  popped.reserve(items);
  consume_slowly(q, batches, popped);
  producer.join();
  observer.stop();

  CHECK(std::is_sorted(popped.begin(), popped.end()));
  CHECK(std::adjacent_find(popped.begin(), popped.end()) == popped.end());
  CHECK(std::is_sorted(evicted.begin(), evicted.end()));
  REQUIRE_FALSE(popped.empty());
  CHECK(popped.back() == items - 1);  // drop-oldest never drops the newest item
  std::vector<std::uint64_t> all = evicted;
  all.insert(all.end(), popped.begin(), popped.end());
  check_each_item_once(q, observer, evicted, std::move(all), items);
}

TEST_CASE("slow mpmc consumers lapped by fast producers get every item at most once, in order",
          "[policy][lapping][stress]") {
  const std::size_t capacity = GENERATE(1u, 2u, 16u);
  const bool batches = GENERATE(false, true);
  CAPTURE(capacity, batches);
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  const std::uint64_t per_producer = bq_test::scaled(100'000);
  Watchdog watchdog("mpmc lapping stress");
  // The handler runs in the producer threads. Each item is producer * per_producer + i.
  std::mutex evicted_mutex;
  std::vector<std::uint64_t> evicted;
  Queue<bq::Mpmc> q{small_config(capacity), [&](std::uint64_t&& value) {
                      const std::lock_guard<std::mutex> lock(evicted_mutex);
                      evicted.push_back(value);
                    }};

  MetricsObserver<bq::Mpmc> observer(q);
  std::atomic<int> producing{kProducers};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      const std::uint64_t first = static_cast<std::uint64_t>(p) * per_producer;
      for (std::uint64_t i = 0; i < per_producer; ++i) (void)q.push(first + i);
      if (producing.fetch_sub(1) == 1) q.close();
    });
  }
  std::vector<std::vector<std::uint64_t>> popped(kConsumers);
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back(
        [&, c] { consume_slowly(q, batches, popped[static_cast<std::size_t>(c)]); });
  }
  for (std::thread& t : producers) t.join();
  for (std::thread& t : consumers) t.join();
  observer.stop();

  // Each consumer gets each producer's items in the order they were pushed.
  bool in_order = true;
  std::vector<std::uint64_t> all = evicted;
  for (const std::vector<std::uint64_t>& mine : popped) {
    std::vector<std::uint64_t> last(kProducers, 0);
    std::vector<bool> seen(kProducers, false);
    for (const std::uint64_t value : mine) {
      const std::size_t p = static_cast<std::size_t>(value / per_producer);
      in_order &= !seen[p] || value > last[p];
      seen[p] = true;
      last[p] = value;
    }
    all.insert(all.end(), mine.begin(), mine.end());
  }
  CHECK(in_order);
  check_each_item_once(q, observer, evicted, std::move(all), kProducers * per_producer);
}
