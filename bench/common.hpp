// The scenarios of the queue comparison, written once and run on every queue through a
// small adapter (one per queue, in bench_<queue>.cpp). bench/README.md describes each
// scenario; this header is the definition.
//
// An adapter wraps one queue of std::uint64_t items (capacity kCapacity) and provides
//   static constexpr bool kMultiProducer;       // may run the 2P2C scenario
//   static constexpr std::string_view kPushWait, kPopWait;  // how a blocking push/pop waits
//   explicit Adapter(std::size_t capacity);
//   void push(std::uint64_t);                   // blocks (natively or by spinning) until queued
//   std::uint64_t pop();                        // blocks until an item is there
// and, where the queue has them,
//   bool try_push(std::uint64_t);  bool try_pop(std::uint64_t&);
//   void push_drop_oldest(std::uint64_t);       // a native "overwrite the oldest when full"
//   bool push_for(std::uint64_t, std::chrono::microseconds);  // false on timeout
//   bool verify(std::uint64_t transferred, std::uint64_t evicted) const;  // own counters agree
//   std::uint64_t read_metrics() const;         // a metrics snapshot (overhead scenario)
//   void push_batch(const std::uint64_t*, std::size_t n);  // blocks until all n are queued
//   std::size_t pop_batch(std::uint64_t* out, std::size_t max);  // blocks until >= 1 popped
// A scenario that needs an operation the queue lacks is not registered for it.
//
// Every scenario checks what came out of the queue (sums, counts, per-producer order,
// exact values), and reports a failed check with SkipWithError, so a broken queue
// shows up as an error row instead of a good number.
#pragma once

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace bq_bench {

/// For the glue between a scenario's loop and a queue's calls: forced inline, so the glue
/// never adds a call the queue's own code would not pay in its user's loop. Used where the
/// compiler outlined it: bq's adapters (bench_bq.cpp) and push_dropping_oldest; every peer's
/// adapter calls were inline already (nm lists none of them; docs/benchmarks.md, "The bench
/// glue inline").
#define BQ_BENCH_INLINE [[gnu::always_inline]] inline

/// The capacity every queue is built with (some round it; try_push_full reports what they hold).
inline constexpr std::size_t kCapacity = 1024;
/// Items moved per iteration of a throughput scenario (split between the producers).
inline constexpr std::uint64_t kTransferItems = std::uint64_t{1} << 19;
/// How long the blocked-consumer scenario keeps its consumer waiting.
inline constexpr std::chrono::milliseconds kBlockedFor{1000};

inline constexpr std::string_view kParks = "parks";
inline constexpr std::string_view kSpins = "spins";
inline constexpr std::string_view kSpinYield = "spin+yield (emulated)";

/// Pins the calling thread to CPU `cpu` when the machine has more than one (Linux).
inline void pin_to_cpu(unsigned cpu) noexcept {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::thread::hardware_concurrency(), &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/// Pins the calling thread to the first CPU it may run on (CPU 0 unless taskset or a cpuset
/// says otherwise) for its lifetime, then gives it back the CPUs it had, which the threads
/// of the next scenario inherit. The four one-thread timing scenarios (push_pop_1thread,
/// push_pop_batch32_1thread, drop_oldest_full, try_push_full) run under one, so that every
/// queue's row is measured on the same CPU: on the 2-vCPU VM the two vCPUs differed by 1.8x
/// for every queue (one-thread push+pop: bq Spsc 3.5 against 6.2 ns, boost spsc_queue 1.2
/// against 2.1), and each queue's process landed on either. If the thread's CPUs cannot be
/// read, nothing is pinned (the pin could not be undone).
class OnFirstCpu {
 public:
  OnFirstCpu() noexcept {
    had_ = pthread_getaffinity_np(pthread_self(), sizeof(cpus_), &cpus_) == 0;
    if (!had_) return;
    for (std::size_t cpu = 0; cpu < static_cast<std::size_t>(CPU_SETSIZE); ++cpu) {
      if (!CPU_ISSET(cpu, &cpus_)) continue;
      pin_to_cpu(static_cast<unsigned>(cpu));
      return;
    }
  }
  ~OnFirstCpu() {
    if (had_) (void)pthread_setaffinity_np(pthread_self(), sizeof(cpus_), &cpus_);
  }
  OnFirstCpu(const OnFirstCpu&) = delete;
  OnFirstCpu& operator=(const OnFirstCpu&) = delete;

 private:
  cpu_set_t cpus_{};
  bool had_ = false;
};

/// Tells the CPU we are in a spin loop (frees the sibling hyper-thread, saves power).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// The emulated blocking wait for queues without one: 64 pauses, then yield per retry.
template <class TryOnce>
inline void spin_until(TryOnce&& try_once) {
  for (int spins = 0; !try_once();) {
    if (spins < 64) {
      ++spins;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

/// Returns the CPU time (user + system) the calling thread has used, in milliseconds.
inline double thread_cpu_ms() noexcept {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  const auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) * 1e-3;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

/// Repetitions per benchmark: BQ_BENCH_REPETITIONS (default 5); scripts/bench.sh sets it.
inline int repetitions() {
  const char* text = std::getenv("BQ_BENCH_REPETITIONS");
  const int reps = text != nullptr ? std::atoi(text) : 5;
  return std::clamp(reps, 1, 100);
}

// ---------------------------------------------------------------------------
// Items: producer p sends (seq << 8) | (p + 1), seq = 0, 1, ...; never 0 (atomic_queue's
// AtomicQueue reserves 0 as its empty marker), and each item says who sent it and when.

inline constexpr int kMaxProducers = 8;

constexpr std::uint64_t make_item(int producer, std::uint64_t seq) noexcept {
  return (seq << 8) | static_cast<std::uint64_t>(producer + 1);
}

/// Sum of every item producer `producer` sends when it sends `count` of them.
constexpr std::uint64_t producer_sum(int producer, std::uint64_t count) noexcept {
  return (count * (count - 1) / 2) * 256 + count * static_cast<std::uint64_t>(producer + 1);
}

/// What one consumer saw: count, sum, and how many items arrived before an earlier item of
/// the same producer (a FIFO queue delivers each producer's items in order to each consumer).
struct Checker {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t out_of_order = 0;
  std::array<std::uint64_t, kMaxProducers> next_seq{};  // smallest seq still in order

  void take(std::uint64_t item) noexcept {
    const auto producer = static_cast<std::size_t>(item & 0xff) - 1;
    const std::uint64_t seq = item >> 8;
    if (producer >= kMaxProducers || seq < next_seq[producer]) {
      ++out_of_order;
    } else {
      next_seq[producer] = seq + 1;
    }
    sum += item;
    ++count;
  }
};

// ---------------------------------------------------------------------------
// Scenarios.

/// The extra thread of the metrics-overhead scenario: none, one that wakes every 100 us and
/// does nothing (the control: what a third thread costs on its own), or one that wakes every
/// 100 us and takes a metrics snapshot.
enum class Reader { none, idle, metrics };

/// Ends a transfer scenario: skips it with `error`, or reports `total` items per iteration.
inline bool finish_transfer(benchmark::State& state, const std::string& error,
                            std::uint64_t total) {
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return false;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(total));
  return true;
}

/// What went wrong in a transfer of `total` items that should sum to `expected_sum`, as seen
/// by the consumers (count, sum, items after a later one of the same producer) and by the
/// queue's own counters where it has verify(); empty if nothing did.
template <class Q>
std::string transfer_error(Q& queue, std::uint64_t count, std::uint64_t sum,
                           std::uint64_t out_of_order, std::uint64_t total,
                           std::uint64_t expected_sum) {
  if (count != total || sum != expected_sum) {
    return "items lost or duplicated: popped " + std::to_string(count) + " items, sum " +
           std::to_string(sum) + " (expected " + std::to_string(total) + ", " +
           std::to_string(expected_sum) + ")";
  }
  if (out_of_order != 0) {
    return std::to_string(out_of_order) + " of " + std::to_string(total) +
           " items reached a consumer after a later item of the same producer";
  }
  if constexpr (requires(Q & q) { q.verify(total, std::uint64_t{0}); }) {
    if (!queue.verify(total, 0)) return "the queue's own counters disagree";
  }
  return {};
}

/// `producers` threads each push kTransferItems / producers items while `consumers`
/// threads (the benchmark thread is one of them) each pop an equal share, all blocking.
/// Each iteration builds a fresh queue and fresh threads, plus the `reader` thread if any.
template <class Q>
void throughput(benchmark::State& state, int producers, int consumers, Reader reader_kind) {
  const std::uint64_t per_producer = kTransferItems / static_cast<std::uint64_t>(producers);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  const std::uint64_t per_consumer = total / static_cast<std::uint64_t>(consumers);
  std::uint64_t expected_sum = 0;
  for (int p = 0; p < producers; ++p) expected_sum += producer_sum(p, per_producer);

  std::string error;
  std::uint64_t snapshots = 0;
  for (auto _ : state) {
    auto queue = std::make_unique<Q>(kCapacity);
    // The threads take the queue's address by value. Read through `queue` (on this
    // thread's stack) at every push, it shared a cache line with whatever this thread
    // writes next to it, or not, as ASLR placed the stack: the batch row ran at 40 or
    // at 78 Mitems/s by process (always 78 under `setarch -R`).
    Q* const shared = queue.get();
    std::vector<Checker> checkers(static_cast<std::size_t>(consumers));
    std::vector<std::thread> threads;
    std::atomic<bool> transfer_done{false};
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([shared, p, per_producer] {
        for (std::uint64_t seq = 0; seq < per_producer; ++seq) shared->push(make_item(p, seq));
      });
    }
    const auto consume = [shared, per_consumer](Checker& checker) {
      for (std::uint64_t i = 0; i < per_consumer; ++i) checker.take(shared->pop());
    };
    for (std::size_t c = 1; c < checkers.size(); ++c) {
      threads.emplace_back([&consume, &checkers, c] { consume(checkers[c]); });
    }
    std::thread reader;
    if constexpr (requires(const Q& q) { q.read_metrics(); }) {
      if (reader_kind != Reader::none) {
        reader = std::thread([shared, &transfer_done, &snapshots, reader_kind] {
          std::uint64_t sink = 0;
          while (!transfer_done.load(std::memory_order_relaxed)) {
            if (reader_kind == Reader::metrics) sink += shared->read_metrics();
            ++snapshots;
            std::this_thread::sleep_for(std::chrono::microseconds(100));
          }
          benchmark::DoNotOptimize(sink);
        });
      }
    }
    consume(checkers[0]);
    for (auto& thread : threads) thread.join();
    transfer_done.store(true, std::memory_order_relaxed);
    if (reader.joinable()) reader.join();

    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    std::uint64_t out_of_order = 0;
    for (const auto& checker : checkers) {
      count += checker.count;
      sum += checker.sum;
      out_of_order += checker.out_of_order;
    }
    error = transfer_error(*queue, count, sum, out_of_order, total, expected_sum);
    if (!error.empty()) break;
  }
  if (!finish_transfer(state, error, total)) return;
  state.SetLabel("push " + std::string(Q::kPushWait) + ", pop " + std::string(Q::kPopWait));
  if (reader_kind != Reader::none) {
    state.counters["wakeups"] = benchmark::Counter(static_cast<double>(snapshots));
  }
}

/// Items per batch in the batch scenario.
inline constexpr std::size_t kBatch = 32;

/// throughput_batch32_1p1c: one producer pushes kTransferItems items in batches of kBatch
/// (push_batch, which returns once the whole batch is queued) while the benchmark thread
/// pops with pop_batch (up to kBatch at a time, waiting for at least one). Each iteration
/// builds a fresh queue and producer thread. Checked like throughput(): count, sum, order.
template <class Q>
void batch_throughput(benchmark::State& state) {
  const std::uint64_t total = kTransferItems;
  static_assert(kTransferItems % kBatch == 0, "whole batches only");
  const std::uint64_t expected_sum = producer_sum(0, total);
  std::string error;
  for (auto _ : state) {
    auto queue = std::make_unique<Q>(kCapacity);
    std::thread producer([shared = queue.get()] {  // by value, as in throughput()
      std::array<std::uint64_t, kBatch> batch{};
      for (std::uint64_t seq = 0; seq < kTransferItems; seq += kBatch) {
        for (std::size_t i = 0; i < kBatch; ++i) batch[i] = make_item(0, seq + i);
        shared->push_batch(batch.data(), kBatch);
      }
    });
    Checker checker;
    std::array<std::uint64_t, kBatch> out{};
    while (checker.count < total) {
      const std::size_t popped = queue->pop_batch(out.data(), kBatch);
      for (std::size_t i = 0; i < popped; ++i) checker.take(out[i]);
    }
    producer.join();
    error = transfer_error(*queue, checker.count, checker.sum, checker.out_of_order, total,
                           expected_sum);
    if (!error.empty()) break;
  }
  if (!finish_transfer(state, error, total)) return;
  state.SetLabel("batches of " + std::to_string(kBatch));
}

/// push_pop_batch32_1thread: one thread pushes a batch of kBatch items with push_batch and
/// pops them back with pop_batch, comparing each. Items/s counts items: the batch calls' own
/// cost per item, with no second core to wait for (what callgrind can count exactly).
template <class Q>
void push_pop_batch_one_thread(benchmark::State& state) {
  const OnFirstCpu on_first_cpu;
  Q queue(kCapacity);
  std::array<std::uint64_t, kBatch> in{};
  std::array<std::uint64_t, kBatch> out{};
  std::uint64_t seq = 0;
  bool ok = true;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) in[i] = make_item(0, seq++);
    queue.push_batch(in.data(), kBatch);
    for (std::size_t got = 0; got < kBatch;) got += queue.pop_batch(out.data() + got, kBatch - got);
    ok &= out == in;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(kBatch));
  if (!ok) state.SkipWithError("popped different items than were pushed");
}

/// One thread: push one item, pop it back, compare. Time per iteration = one push + one pop.
template <class Q>
void push_pop_one_thread(benchmark::State& state) {
  const OnFirstCpu on_first_cpu;
  Q queue(kCapacity);
  std::uint64_t seq = 0;
  bool ok = true;
  for (auto _ : state) {
    const std::uint64_t item = make_item(0, seq++);
    queue.push(item);
    ok &= queue.pop() == item;
  }
  if (!ok) state.SkipWithError("popped a different item than was pushed");
}

/// Pushes one item into the queue and discards its oldest item when it is full: the
/// queue's native operation, or else a failed try_push, a try_pop and a try_push. Returns
/// how many items the emulation popped (0 when native: the queue counts its own).
template <class Q>
BQ_BENCH_INLINE std::uint64_t push_dropping_oldest(Q& queue, std::uint64_t item) {
  std::uint64_t dropped = 0;
  if constexpr (requires { queue.push_drop_oldest(item); }) {
    queue.push_drop_oldest(item);
  } else {
    while (!queue.try_push(item)) {
      std::uint64_t evicted = 0;
      if (queue.try_pop(evicted)) ++dropped;
    }
  }
  return dropped;
}

/// One thread pushes into a full queue with drop-oldest; time per iteration = one such push.
/// Afterwards the queue must hold the newest items, consecutive, ending with the last pushed
/// (exactly kCapacity of them when drop-oldest is native).
template <class Q>
void drop_oldest_full(benchmark::State& state) {
  const OnFirstCpu on_first_cpu;
  Q queue(kCapacity);
  std::uint64_t seq = 0;
  for (; seq < 2 * kCapacity; ++seq) push_dropping_oldest(queue, make_item(0, seq));
  for (auto _ : state) push_dropping_oldest(queue, make_item(0, seq++));

  std::uint64_t held = 0;
  std::uint64_t expect_seq = 0;
  bool ok = true;
  for (std::uint64_t item = 0; queue.try_pop(item); ++held) {
    const std::uint64_t got = item >> 8;
    if (held > 0 && got != expect_seq) ok = false;
    expect_seq = got + 1;
  }
  constexpr bool kNative = requires { queue.push_drop_oldest(std::uint64_t{}); };
  if (!ok || held == 0 || expect_seq != seq) {
    state.SkipWithError("after drop-oldest pushes the queue did not hold the newest items");
    return;
  }
  if (kNative && held != kCapacity) {  // a native drop-oldest evicts one item, no more
    state.SkipWithError("after drop-oldest pushes the queue was not full");
    return;
  }
  if constexpr (requires { queue.verify(held, seq - held); }) {
    if (!queue.verify(held, seq - held)) {
      state.SkipWithError("the queue's eviction counter disagrees with what it dropped");
      return;
    }
  }
  state.SetLabel(kNative ? "native" : "emulated: try_pop+try_push");
  state.counters["held"] = benchmark::Counter(static_cast<double>(held));
}

/// The consumer's work per item in the overload scenarios: kOverloadWorkSteps rounds of a
/// multiply and an xorshift (about 100 ns on this machine), so it cannot keep up.
inline constexpr int kOverloadWorkSteps = 48;
/// Items each producer pushes per iteration of an overload scenario.
inline constexpr std::uint64_t kOverloadItems = std::uint64_t{1} << 20;

inline std::uint64_t consumer_work(std::uint64_t x) noexcept {
  for (int i = 0; i < kOverloadWorkSteps; ++i) {
    x *= 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
  }
  return x;
}

/// How far along one producer is, on a line of its own: the consumer reads it to tell how
/// old each item it receives is.
struct alignas(64) ProducerProgress {
  std::atomic<std::uint64_t> next_seq{0};
};

/// Overload: `producers` threads (pinned to CPU 0) each push kOverloadItems items as fast as
/// they can, dropping the oldest when the queue is full (natively, or emulated with a failed
/// try_push, a try_pop and a retry), while one consumer (pinned to CPU 1) pops with try_pop
/// (spinning while empty) and does consumer_work() on each item. Once every producer is
/// done, the benchmark thread pushes end_of_run; the consumer then takes what is left and
/// stops (only a queue without FIFO order between producers has anything left). Checked:
/// each producer's items arrive strictly increasing, the newest item (the last item of the
/// producer that finished last) arrives (drop-oldest never drops it), and delivered + dropped ==
/// pushed (by the queue's own counters where it has them, else by the producers' own
/// try_pop tally). Reports producer_Mps (items pushed per second, per producer thread time),
/// delivered_Mps (items the consumer received per second of its time), delivered_pct (the
/// share of pushed items delivered) and age_items (how many items a producer had pushed
/// since the one the consumer receives, the mean over every 64th delivery: drop-oldest's
/// point is fresh data).
template <class Q>
void overload(benchmark::State& state, int producers) {
  const std::uint64_t per_producer = kOverloadItems;
  const std::uint64_t pushed_total = per_producer * static_cast<std::uint64_t>(producers);
  double producer_seconds = 0;
  double consumer_seconds = 0;
  std::uint64_t delivered_total = 0;
  double age_sum = 0;
  std::uint64_t age_samples = 0;
  std::string error;
  for (auto _ : state) {
    auto queue = std::make_unique<Q>(kCapacity);
    std::vector<ProducerProgress> progress(static_cast<std::size_t>(producers));
    std::vector<std::uint64_t> dropped_by_producer(static_cast<std::size_t>(producers), 0);
    std::vector<double> seconds(static_cast<std::size_t>(producers), 0);
    std::atomic<int> ready{0};
    const auto start_together = [&ready, producers] {
      ready.fetch_add(1);
      while (ready.load() < producers + 1) std::this_thread::yield();
    };
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        // Its own copies of what the loop reads (not this thread's stack: see throughput()).
        Q& shared = *queue;
        const std::uint64_t items = per_producer;
        pin_to_cpu(0);
        start_together();
        const auto t0 = std::chrono::steady_clock::now();
        std::uint64_t dropped = 0;
        auto& next_seq = progress[static_cast<std::size_t>(p)].next_seq;
        for (std::uint64_t seq = 0; seq < items; ++seq) {
          dropped += push_dropping_oldest(shared, make_item(p, seq));
          next_seq.store(seq + 1, std::memory_order_relaxed);
        }
        seconds[static_cast<std::size_t>(p)] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        dropped_by_producer[static_cast<std::size_t>(p)] = dropped;
      });
    }
    std::uint64_t delivered = 0;
    std::uint64_t out_of_order = 0;
    int last_items = 0;  // producers whose last item was delivered
    double consumer_took = 0;
    const std::uint64_t end_of_run = make_item(producers, 0);
    std::thread consumer([&] {
      pin_to_cpu(1);
      std::vector<std::uint64_t> next_seq(static_cast<std::size_t>(producers), 0);
      std::uint64_t sink = 0;
      start_together();
      const auto t0 = std::chrono::steady_clock::now();
      for (bool ended = false;;) {
        // try_pop, spinning: the queue is almost never empty here, and it is the one pop
        // every queue has that claims nothing before an item is there (atomic_queue's
        // blocking pop claims a position first, and the producers' own try_pops race it).
        std::uint64_t item = 0;
        if (!ended) {
          while (!queue->try_pop(item)) cpu_relax();
        } else if (!queue->try_pop(item)) {
          break;  // nothing is pushed after end_of_run: the queue is empty
        }
        if (item == end_of_run) {
          // A queue without FIFO order between producers (moodycamel's keeps one
          // sub-queue per producer) may hand out end_of_run, pushed by another thread,
          // before the producers' last items: take what is left. A FIFO queue has none.
          ended = true;
          continue;
        }
        const auto p = static_cast<std::size_t>(item & 0xff) - 1;
        const std::uint64_t seq = item >> 8;
        if (p >= next_seq.size() || seq < next_seq[p]) {
          ++out_of_order;
          continue;
        }
        next_seq[p] = seq + 1;
        if (seq + 1 == per_producer) ++last_items;
        if (++delivered % 64 == 0) {
          // The producer may not have recorded this item's push yet: age 0 then.
          const std::uint64_t pushed = progress[p].next_seq.load(std::memory_order_relaxed);
          age_sum += static_cast<double>(pushed - std::min(pushed, seq + 1));
          ++age_samples;
        }
        sink += consumer_work(item);
      }
      consumer_took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      benchmark::DoNotOptimize(sink);
    });
    for (auto& thread : threads) thread.join();
    // The newest item is never dropped: once every producer is done, this one ends the run.
    std::uint64_t dropped = push_dropping_oldest(*queue, end_of_run);
    consumer.join();

    for (std::size_t p = 0; p < seconds.size(); ++p) {
      producer_seconds += seconds[p] / static_cast<double>(producers);
      dropped += dropped_by_producer[p];
    }
    consumer_seconds += consumer_took;
    delivered_total += delivered;
    if (out_of_order != 0) {
      error = std::to_string(out_of_order) + " items arrived after a later item of their producer";
    } else if (last_items == 0) {
      // The newest item before end_of_run is the last item of the producer that finished last.
      error = "no producer's last item was delivered (drop-oldest dropped the newest)";
    } else if constexpr (requires { queue->push_drop_oldest(std::uint64_t{}); }) {
      // end_of_run counts as pushed and popped.
      if constexpr (requires { queue->verify(delivered, pushed_total - delivered); }) {
        if (!queue->verify(delivered + 1, pushed_total - delivered)) {
          error = "the queue's counters disagree with what was delivered and dropped";
        }
      }
    } else if (delivered + dropped != pushed_total) {
      error = "delivered " + std::to_string(delivered) + " + dropped " + std::to_string(dropped) +
              " != pushed " + std::to_string(pushed_total);
    }
    if (!error.empty()) break;
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["producer_Mps"] =
      benchmark::Counter(static_cast<double>(per_producer) * iterations / producer_seconds / 1e6);
  state.counters["delivered_Mps"] =
      benchmark::Counter(static_cast<double>(delivered_total) / consumer_seconds / 1e6);
  state.counters["delivered_pct"] =
      benchmark::Counter(100.0 * static_cast<double>(delivered_total) /
                         (static_cast<double>(pushed_total) * iterations));
  state.counters["age_items"] =
      benchmark::Counter(age_samples != 0 ? age_sum / static_cast<double>(age_samples) : 0);
  constexpr bool kNative = requires(Q & q) { q.push_drop_oldest(std::uint64_t{}); };
  state.SetLabel(kNative ? "native" : "emulated: try_pop+try_push");
}

/// One thread calls try_push on a full queue; every call must fail and queue nothing. Also
/// reports how many items the queue held when it first refused one (its real capacity).
template <class Q>
void try_push_full(benchmark::State& state) {
  const OnFirstCpu on_first_cpu;
  Q queue(kCapacity);
  std::uint64_t held = 0;
  while (held < 4 * kCapacity && queue.try_push(make_item(0, held))) ++held;
  const std::uint64_t item = make_item(0, held);
  bool any_succeeded = false;
  for (auto _ : state) {
    any_succeeded |= queue.try_push(item);
  }
  if (any_succeeded || held == 0 || held == 4 * kCapacity) {
    state.SkipWithError(held == 0 ? "try_push on an empty queue failed"
                                  : "try_push on a full queue succeeded");
    return;
  }
  if constexpr (requires(std::uint64_t v) { queue.try_pop(v); }) {
    // The failed calls must not have queued anything: exactly items 0..held-1 come out.
    std::uint64_t drained = 0;
    for (std::uint64_t popped = 0; queue.try_pop(popped); ++drained) {
      if (popped != make_item(0, drained)) drained = 4 * kCapacity;
    }
    if (drained != held) {
      state.SkipWithError("the queue did not hold exactly what try_push accepted");
      return;
    }
  }
  state.counters["held"] = benchmark::Counter(static_cast<double>(held));
}

/// A consumer blocks in pop() on an empty queue; one second later the benchmark thread
/// pushes one item. Reports the CPU time the consumer thread used meanwhile (cpu_ms).
template <class Q>
void blocked_consumer_cpu(benchmark::State& state) {
  double cpu_ms = 0;
  double wall_ms = 0;
  bool ok = true;
  for (auto _ : state) {
    Q queue(kCapacity);
    std::atomic<bool> started{false};
    std::uint64_t got = 0;
    double used = 0;
    std::thread consumer([&] {
      const double before = thread_cpu_ms();
      started.store(true, std::memory_order_release);
      got = queue.pop();
      used = thread_cpu_ms() - before;
    });
    while (!started.load(std::memory_order_acquire)) std::this_thread::yield();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(kBlockedFor);
    queue.push(make_item(0, 42));
    consumer.join();
    wall_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    cpu_ms += used;
    ok &= got == make_item(0, 42);
  }
  if (!ok) {
    state.SkipWithError("the blocked consumer popped the wrong item");
    return;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["cpu_ms"] = benchmark::Counter(cpu_ms / n);
  state.counters["wall_ms"] = benchmark::Counter(wall_ms / n);
  state.SetLabel("pop " + std::string(Q::kPopWait));
}

/// push_for with a `timeout_us` timeout on a full queue that nobody drains: every call must
/// time out, and never early. Reports the mean time a call took (actual_us) and the worst.
template <class Q>
void push_for_timeout(benchmark::State& state, int timeout_us) {
  Q queue(kCapacity);
  while (queue.try_push(make_item(0, 1))) {
  }
  const std::chrono::microseconds timeout(timeout_us);
  double total_us = 0;
  double worst_us = 0;
  bool early = false;
  bool pushed = false;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    pushed |= queue.push_for(make_item(0, 2), timeout);
    const auto took = std::chrono::steady_clock::now() - t0;
    early |= took < timeout;
    const double us = std::chrono::duration<double, std::micro>(took).count();
    total_us += us;
    worst_us = std::max(worst_us, us);
  }
  if (pushed || early) {
    state.SkipWithError(pushed ? "push_for on a full queue succeeded"
                               : "push_for returned before its timeout");
    return;
  }
  state.counters["requested_us"] = benchmark::Counter(timeout_us);
  state.counters["actual_us"] =
      benchmark::Counter(total_us / static_cast<double>(state.iterations()));
  state.counters["worst_us"] = benchmark::Counter(worst_us);
}

// ---------------------------------------------------------------------------
// Registration. Benchmark names are "<scenario>/<queue id>"; scripts/bench.sh runs each
// queue id in its own process and bench/report.py turns names into table cells.

inline void add_statistics(benchmark::internal::Benchmark* bench) {
  bench
      ->ComputeStatistics(
          "min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
      ->ComputeStatistics("max", [](const std::vector<double>& v) {
        return *std::max_element(v.begin(), v.end());
      });
}

inline benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* bench, int reps) {
  // Aggregates only on the console; the JSON file keeps every repetition, so a repetition
  // that failed its check cannot hide behind the median of the others.
  bench->Repetitions(reps)->DisplayAggregatesOnly(true)->UseRealTime();
  add_statistics(bench);
  return bench;
}

/// Registers the batch scenario for `Q` under queue id `id` (register_queue() does it
/// for every queue with push_batch and pop_batch; call it alone for a batch-only row).
template <class Q>
void register_batch(const std::string& id) {
  configure(benchmark::RegisterBenchmark(("throughput_batch32_1p1c/" + id).c_str(),
                                         [](benchmark::State& s) { batch_throughput<Q>(s); }),
            repetitions());
  configure(
      benchmark::RegisterBenchmark(("push_pop_batch32_1thread/" + id).c_str(),
                                   [](benchmark::State& s) { push_pop_batch_one_thread<Q>(s); }),
      repetitions());
}

/// Registers every scenario `Q` supports under queue id `id`. `DropQ` is the adapter used
/// for drop_oldest_full (bq measures that with its DropOldest policy, not Block).
template <class Q, class DropQ = Q>
void register_queue(const std::string& id) {
  const int reps = repetitions();
  configure(benchmark::RegisterBenchmark(
                ("throughput_1p1c/" + id).c_str(),
                [](benchmark::State& s) { throughput<Q>(s, 1, 1, Reader::none); }),
            reps);
  if constexpr (Q::kMultiProducer) {
    configure(benchmark::RegisterBenchmark(
                  ("throughput_2p2c/" + id).c_str(),
                  [](benchmark::State& s) { throughput<Q>(s, 2, 2, Reader::none); }),
              reps);
  }
  if constexpr (requires(const Q& q) { q.read_metrics(); }) {
    configure(benchmark::RegisterBenchmark(
                  ("throughput_1p1c_idle_reader/" + id).c_str(),
                  [](benchmark::State& s) { throughput<Q>(s, 1, 1, Reader::idle); }),
              reps);
    configure(benchmark::RegisterBenchmark(
                  ("throughput_1p1c_metrics_reader/" + id).c_str(),
                  [](benchmark::State& s) { throughput<Q>(s, 1, 1, Reader::metrics); }),
              reps);
  }
  if constexpr (requires(Q & q, std::uint64_t * items) {
                  q.push_batch(items, kBatch);
                  q.pop_batch(items, kBatch);
                }) {
    register_batch<Q>(id);
  }
  configure(benchmark::RegisterBenchmark(("push_pop_1thread/" + id).c_str(),
                                         [](benchmark::State& s) { push_pop_one_thread<Q>(s); }),
            reps);
  constexpr bool kCanDrop = requires(DropQ & q, std::uint64_t v) { q.push_drop_oldest(v); }
  || requires(DropQ & q, std::uint64_t v) {
    q.try_push(v);
    q.try_pop(v);
  };
  if constexpr (kCanDrop) {
    configure(benchmark::RegisterBenchmark(("drop_oldest_full/" + id).c_str(),
                                           [](benchmark::State& s) { drop_oldest_full<DropQ>(s); }),
              reps);
  }
  if constexpr (kCanDrop) {
    // Queues with only one producer cannot emulate drop-oldest (the producer would pop), so
    // they have overload rows only with a native drop-oldest.
    if constexpr (DropQ::kMultiProducer ||
                  requires(DropQ & q, std::uint64_t v) { q.push_drop_oldest(v); }) {
      configure(benchmark::RegisterBenchmark(("overload_1p1c/" + id).c_str(),
                                             [](benchmark::State& s) { overload<DropQ>(s, 1); }),
                reps)
          ->Iterations(1);
    }
    if constexpr (DropQ::kMultiProducer) {
      configure(benchmark::RegisterBenchmark(("overload_2p1c/" + id).c_str(),
                                             [](benchmark::State& s) { overload<DropQ>(s, 2); }),
                reps)
          ->Iterations(1);
    }
  }
  if constexpr (requires(Q & q, std::uint64_t v) { q.try_push(v); }) {
    configure(benchmark::RegisterBenchmark(("try_push_full/" + id).c_str(),
                                           [](benchmark::State& s) { try_push_full<Q>(s); }),
              reps);
  }
  configure(benchmark::RegisterBenchmark(("blocked_consumer_cpu/" + id).c_str(),
                                         [](benchmark::State& s) { blocked_consumer_cpu<Q>(s); }),
            std::min(reps, 3))
      ->Iterations(1);
  if constexpr (requires(Q & q, std::uint64_t v) {
                  q.try_push(v);
                  q.push_for(v, std::chrono::microseconds{});
                }) {
    configure(
        benchmark::RegisterBenchmark(("push_for_1ms/" + id).c_str(),
                                     [](benchmark::State& s) { push_for_timeout<Q>(s, 1000); }),
        std::min(reps, 3))
        ->Iterations(100);
    configure(
        benchmark::RegisterBenchmark(("push_for_10ms/" + id).c_str(),
                                     [](benchmark::State& s) { push_for_timeout<Q>(s, 10000); }),
        std::min(reps, 3))
        ->Iterations(20);
  }
}

}  // namespace bq_bench
