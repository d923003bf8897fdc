// Memory stays flat under overload: millions of items pushed through a small queue
// with a slower consumer cause no allocation after construction, and the number of
// live items never exceeds capacity plus what the two threads hold.
//
// This file replaces the global operator new/delete of the whole bq_tests binary with
// versions that count allocations while `g_counting` is set (only inside the window a
// test measures). No other test file may replace them.
#include <bq/bounded_queue.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <thread>
#include <vector>

#include "support/test_util.hpp"
#include "support/tracked.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long long> g_allocations{0};

void* allocate(std::size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(size == 0 ? 1 : size);
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  const auto align = std::max(static_cast<std::size_t>(alignment), sizeof(void*));
#if defined(_WIN32)
  // Windows' C library has no posix_memalign, and its free() cannot release an aligned
  // block: free_aligned() below pairs this with _aligned_free.
  return _aligned_malloc(size == 0 ? 1 : size, align);
#else
  void* p = nullptr;
  return posix_memalign(&p, align, size == 0 ? 1 : size) == 0 ? p : nullptr;
#endif
}

void free_aligned(void* p) noexcept {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

void* allocate_or_throw(std::size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}

void* allocate_aligned_or_throw(std::size_t size, std::align_val_t alignment) {
  if (void* p = allocate_aligned(size, alignment)) return p;
  throw std::bad_alloc();
}

}  // namespace

// The replaceable global allocation functions (all of them, so that none reaches a
// non-counting default). Deallocation is never counted.
void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t al) {
  return allocate_aligned_or_throw(size, al);
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return allocate_aligned_or_throw(size, al);
}
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_aligned(size, al);
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_aligned(size, al);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  free_aligned(p);
}

namespace {

using namespace std::chrono_literals;
using bq_test::Lifetimes;
using bq_test::Tracked;

/// Counts allocations made between construction and destruction (by any thread).
class AllocationWindow {
 public:
  AllocationWindow() {
    g_allocations = 0;
    g_counting = true;
  }
  AllocationWindow(const AllocationWindow&) = delete;
  AllocationWindow& operator=(const AllocationWindow&) = delete;
  ~AllocationWindow() { stop(); }
  long long stop() {
    g_counting = false;
    return g_allocations.load();
  }
};

/// Burns a little CPU so the consumer is slower than the producer.
void slow_down() {
  volatile std::uint64_t sink = 0;
  for (int i = 0; i < 64; ++i) sink = sink + static_cast<std::uint64_t>(i);
}

struct RunResult {
  long long allocations = 0;
  std::uint64_t popped = 0;
  std::uint64_t evicted = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  bool per_producer_fifo = true;
};

/// Runs `producers` threads pushing `per_producer` items each (push() of a temporary)
/// and one slower consumer, counting allocations from the moment every thread exists
/// until every thread has finished its work (but before it is joined).
template <class Queue>
RunResult run_overload(Queue& q, int producers, std::uint64_t per_producer,
                       std::atomic<std::uint64_t>& evicted) {
  RunResult out;
  std::atomic<int> producers_done{0};
  std::atomic<bool> consumer_done{false};
  std::atomic<std::uint64_t> accepted{0}, refused{0};
  std::atomic<bool> fifo_ok{true};
  // The threads and this one.
  bq_test::RoundBarrier start(static_cast<std::size_t>(producers) + 2);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(producers) + 1);
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      start.arrive_and_wait();
      std::uint64_t ok = 0, no = 0;
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        const std::uint64_t value = (static_cast<std::uint64_t>(p) << 48) | i;
        if (bq::accepted(q.push(Tracked{value}))) {
          ++ok;
        } else {
          ++no;
        }
      }
      accepted += ok;
      refused += no;
      if (++producers_done == producers) q.close();
    });
  }
  threads.emplace_back([&] {
    start.arrive_and_wait();
    std::uint64_t last[8] = {};
    bool seen[8] = {};
    std::uint64_t count = 0;
    for (;;) {
      std::optional<Tracked> item = q.pop();
      if (!item) break;
      const std::uint64_t producer = item->value() >> 48;
      const std::uint64_t seq = item->value() & ((std::uint64_t{1} << 48) - 1);
      if (producer < 8) {
        if (seen[producer] && seq <= last[producer]) fifo_ok = false;
        seen[producer] = true;
        last[producer] = seq;
      }
      ++count;
      slow_down();
    }
    out.popped = count;
    consumer_done = true;
  });
  {
    AllocationWindow window;
    start.arrive_and_wait();
    while (producers_done.load() < producers || !consumer_done.load()) {
      std::this_thread::sleep_for(1ms);
    }
    out.allocations = window.stop();
  }
  for (auto& thread : threads) thread.join();
  out.evicted = evicted.load();
  out.accepted = accepted.load();
  out.refused = refused.load();
  out.per_producer_fifo = fifo_ok.load();
  return out;
}

/// Returns `n`, or a tenth of it under sanitizers, which make every operation slower.
std::uint64_t items(std::uint64_t n) { return BQ_TEST_SANITIZED ? n / 10 : n; }

}  // namespace

TEST_CASE("the counting allocator sees allocations in the window and none outside it", "[memory]") {
  // Guards the test below against passing because nothing is counted.
  long long counted = 0;
  {
    AllocationWindow window;
    std::vector<int>* v = new std::vector<int>(100);
    delete v;
    counted = window.stop();
  }
  CHECK(counted == 2);  // The vector object and its buffer.
  std::vector<int> outside(100);
  CHECK(g_allocations == 2);
}

TEMPLATE_TEST_CASE(
    "millions of items through a small drop_oldest queue allocate nothing and "
    "never hold more than capacity",
    "[memory][slow]", (bq::BoundedQueue<Tracked, bq::DropOldest>),
    (bq::BoundedQueue<Tracked, bq::DropOldest, bq::Spsc>),
    (bq::BoundedQueue<Tracked, bq::BlockThen<bq::DropOldest>>)) {
  constexpr std::size_t kCapacity = 8;
  const bool with_handler = GENERATE(false, true);
  CAPTURE(with_handler);
  // Three million for the plain MPMC queue, fewer for the variants (the same paths).
  const bool main_case =
      std::is_same_v<TestType, bq::BoundedQueue<Tracked, bq::DropOldest>> && !with_handler;
  const std::uint64_t count = items(main_case ? 3'000'000 : 500'000);
  Lifetimes::reset();
  std::atomic<std::uint64_t> evicted{0};
  {
    typename TestType::EvictionHandler handler;
    if (with_handler) {
      handler = [&evicted](Tracked&& item) {
        if (item.alive()) evicted.fetch_add(1, std::memory_order_relaxed);
      };
    }
    TestType q{bq_test::small_config(kCapacity, 0ms), handler};
    Lifetimes::reset_peak();
    const RunResult r = run_overload(q, 1, count, evicted);

    CHECK(r.allocations == 0);
    const bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == count);  // Evicting policies accept every push.
    CHECK(m.pushed == m.popped + m.dropped_oldest + m.size);
    CHECK(m.popped == r.popped);
    CHECK(m.dropped_oldest > 0);  // The consumer was slower: the queue did overflow.
    if (with_handler) CHECK(r.evicted == m.dropped_oldest);
    CHECK(r.per_producer_fifo);

    // Live values (instances not moved from) at any instant: at most kCapacity in the
    // queue; the producer's one item (its push argument until queued, or the one item
    // its push evicted, which left the queue first); and the consumer's popped item.
    // So kCapacity + 2, exactly, whatever moves happen inside the queue.
    CHECK(Lifetimes::peak_live_values() <= static_cast<long long>(kCapacity) + 2);
    CHECK(Lifetimes::peak_live_values() >= static_cast<long long>(kCapacity));
    INFO("peak live objects, moved-from shells included: " << Lifetimes::peak_live());
    CHECK(Lifetimes::live() == static_cast<long long>(q.size()));
  }
  CHECK(Lifetimes::live() == 0);
  CHECK(Lifetimes::bad_destroys() == 0);
}

TEMPLATE_TEST_CASE("a blocking queue under overload allocates nothing while threads wait",
                   "[memory][slow]", (bq::BoundedQueue<Tracked, bq::Block>),
                   (bq::BoundedQueue<Tracked, bq::Block, bq::Spsc>)) {
  constexpr std::size_t kCapacity = 4;
  const int producers =
      std::is_same_v<TestType, bq::BoundedQueue<Tracked, bq::Block, bq::Spsc>> ? 1 : 2;
  // Every hand-over may put a thread to sleep and wake it: far fewer items.
  const std::uint64_t per_producer = items(20'000);
  Lifetimes::reset();
  std::atomic<std::uint64_t> evicted{0};
  {
    TestType q{bq_test::small_config(kCapacity, 1h)};
    Lifetimes::reset_peak();
    const RunResult r = run_overload(q, producers, per_producer, evicted);
    CHECK(r.allocations == 0);
    CHECK(r.refused == 0);  // An hour's timeout: every push waits until there is room.
    CHECK(r.popped == per_producer * static_cast<std::uint64_t>(producers));
    CHECK(r.per_producer_fifo);
    const bq::QueueMetrics m = q.metrics();
    CHECK(m.pushed == m.popped);
    CHECK(m.dropped() == 0);
    // In the queue (<= capacity), one argument per producer, one popped item.
    CHECK(Lifetimes::peak_live_values() <= static_cast<long long>(kCapacity) + producers + 1);
  }
  CHECK(Lifetimes::live() == 0);
}
