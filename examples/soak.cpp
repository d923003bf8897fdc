// soak: runs BoundedQueue hard for a given time with random policies, capacities, thread
// counts and bursts, and checks that nothing leaks and every item is accounted for.
//
//   soak [--seconds N] [--seed S] [--rss-growth-mb M]
//
// The run is a sequence of rounds of 0.2-1.5 s. Each round builds a queue with a random
// policy (DropOldest, DropNewest, Block, BlockThen<DropOldest>, Dynamic) and capacity, starts
// 1-4 producers that push bursts of heap-carrying messages with every kind of push, and 1-4
// consumers that pop at random paces, then closes the queue mid-stream, drains it and checks:
// every message produced was popped, evicted (through the handler or force_push) or kept by
// its producer, exactly once (by count and by checksum), and metrics() agrees with the tallies.
// Every second it prints the resident set size and the live queue's metrics.
//
// Exit status: 0 all good; 1 accounting broke; 2 RSS grew more than --rss-growth-mb (default
// 64) above the peak of the first rounds (the first fills a queue of the largest capacity);
// 3 bad usage.
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <bq/bounded_queue.hpp>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Message {
  Message(std::uint64_t message_id, std::string text) : id(message_id), payload(std::move(text)) {}

  std::uint64_t id;
  std::string payload;  // 0-200 bytes: most messages own a heap block, so a leak shows in RSS
};

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Count and order-independent checksum of a set of ids.
struct Tally {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  void add(std::uint64_t id) noexcept {
    ++count;
    sum += mix(id);
  }
  void add(const Tally& other) noexcept {
    count += other.count;
    sum += other.sum;
  }
  friend bool operator==(const Tally&, const Tally&) = default;
};

/// Resident set size in MiB, from /proc/self/statm.
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

struct RoundSpec {
  int policy = 0;  // index into kPolicyNames
  std::size_t capacity = 1;
  int producers = 1;
  int consumers = 1;
  Clock::duration length{};
  std::uint64_t seed = 0;
  bq::OverflowPolicy dynamic = bq::OverflowPolicy::drop_oldest;
  bool fill_first = false;  ///< Fill the queue to capacity before the threads start.
};

constexpr const char* kPolicyNames[] = {"DropOldest", "DropNewest", "Block",
                                        "BlockThen<DropOldest>", "Dynamic"};

/// What the reporter thread prints about the running round.
struct Live {
  std::mutex mutex;
  std::function<bq::QueueMetrics()> metrics;  // set while a round runs
  std::string what;
  std::uint64_t round = 0;
};

struct ProducerLog {
  Tally produced;
  Tally kept;     // not accepted: still the producer's
  Tally evicted;  // handed to the handler in this thread, or returned by force_push
  std::uint64_t accepted = 0, dropped_newest = 0, timed_out = 0, closed = 0;
};

thread_local ProducerLog* tl_log = nullptr;

/// Runs one round; returns an empty string if every check passed, else what failed.
template <class Policy>
std::string run_round(const RoundSpec& spec, Live& live, std::uint64_t round) {
  bq::QueueConfig config;
  config.capacity = spec.capacity;
  config.policy = spec.dynamic;
  config.block_timeout = 2ms;
  bq::BoundedQueue<Message, Policy> q(config, [](Message&& m) {
    if (tl_log != nullptr) tl_log->evicted.add(m.id);
  });
  {
    std::lock_guard lock(live.mutex);
    live.metrics = [&q] { return q.metrics(); };
    live.round = round;
    live.what = fmt::format("{} cap {} {}P/{}C", kPolicyNames[spec.policy], spec.capacity,
                            spec.producers, spec.consumers);
  }

  std::vector<ProducerLog> producer_logs(static_cast<std::size_t>(spec.producers));
  std::vector<Tally> popped(static_cast<std::size_t>(spec.consumers));
  if (spec.fill_first) {
    // Fill the queue with the largest messages once, so the warm-up RSS peak includes a
    // full queue of this capacity (the ids belong to producer 0, which accounts for them).
    ProducerLog& log = producer_logs.front();
    for (std::uint64_t seq = std::uint64_t{1} << 47; q.size() < spec.capacity; ++seq) {
      log.produced.add(seq);
      if (q.try_push(Message(seq, std::string(199, 'f')))) {
        ++log.accepted;
      } else {
        log.kept.add(seq);
      }
    }
  }
  const auto end = Clock::now() + spec.length;
  std::vector<std::thread> threads;
  for (int c = 0; c < spec.consumers; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(spec.seed * 131 + static_cast<std::uint64_t>(c));
      const bool slow = rng() % 3 == 0;
      for (std::uint64_t k = 0;; ++k) {
        std::optional<Message> m;
        switch (rng() % 4) {
          case 0: m = q.try_pop(); break;
          case 1: m = q.pop_for(1ms); break;
          default: m = q.pop(); break;
        }
        if (m) {
          popped[static_cast<std::size_t>(c)].add(m->id);
          if (slow && k % 64 == 0) std::this_thread::sleep_for(200us);
        } else if (q.is_closed()) {
          // Drain with pop(): its nullopt alone means closed *and* drained. A nullopt from
          // try_pop() or a timed pop does not: a push that claimed its position before the
          // close may still be writing its item (docs/guarantees.md, "Draining after close").
          while ((m = q.pop())) popped[static_cast<std::size_t>(c)].add(m->id);
          return;
        }
      }
    });
  }
  for (int p = 0; p < spec.producers; ++p) {
    threads.emplace_back([&, p] {
      ProducerLog& log = producer_logs[static_cast<std::size_t>(p)];
      tl_log = &log;
      std::mt19937_64 rng(spec.seed * 7919 + static_cast<std::uint64_t>(p));
      std::uint64_t seq = 0;
      while (Clock::now() < end && !q.is_closed()) {
        const std::uint64_t burst = 1 + rng() % (rng() % 8 == 0 ? 4096 : 64);
        for (std::uint64_t i = 0; i < burst; ++i) {
          Message m{(static_cast<std::uint64_t>(p) << 48) | seq++, std::string(rng() % 200, 'x')};
          const std::uint64_t id = m.id;
          log.produced.add(id);
          bq::PushResult result = bq::PushResult::pushed;
          switch (rng() % 8) {
            case 0: {
              const bool ok = q.try_push(std::move(m));
              if (ok) {
                ++log.accepted;
              } else {
                log.kept.add(id);
              }
              continue;
            }
            case 1: {
              auto r = q.force_push(std::move(m));
              if (r.evicted) log.evicted.add(r.evicted->id);
              result = r.result;
              break;
            }
            case 2: result = q.push_for(std::move(m), 500us); break;
            case 3: result = q.emplace(id, std::string(16, 'e')); break;
            default: result = q.push(std::move(m)); break;
          }
          switch (result) {
            case bq::PushResult::pushed:
            case bq::PushResult::replaced_oldest: ++log.accepted; continue;
            case bq::PushResult::dropped_newest: ++log.dropped_newest; break;
            case bq::PushResult::timed_out: ++log.timed_out; break;
            case bq::PushResult::closed: ++log.closed; break;
            case bq::PushResult::cancelled: break;  // (no stop token here: never returned)
          }
          log.kept.add(id);
        }
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
      }
      tl_log = nullptr;
    });
  }
  // Close mid-stream: at the end of the round, while producers are still pushing.
  std::this_thread::sleep_until(end);
  q.close();
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(live.mutex);
    live.metrics = nullptr;
  }

  Tally produced, kept, evicted, received;
  std::uint64_t accepted = 0, dropped_newest = 0, timed_out = 0, closed = 0;
  for (const auto& log : producer_logs) {
    produced.add(log.produced);
    kept.add(log.kept);
    evicted.add(log.evicted);
    accepted += log.accepted;
    dropped_newest += log.dropped_newest;
    timed_out += log.timed_out;
    closed += log.closed;
  }
  for (const auto& t : popped) received.add(t);
  Tally placed = received;
  placed.add(evicted);
  placed.add(kept);
  std::string errors;
  if (!(placed == produced)) {
    errors += fmt::format("{} produced but {} popped + {} evicted + {} kept (checksum {}); ",
                          produced.count, received.count, evicted.count, kept.count,
                          placed.sum == produced.sum ? "equal" : "differs");
  }
  const bq::QueueMetrics m = q.metrics();
  const auto expect = [&](const char* name, std::uint64_t metric, std::uint64_t tally) {
    if (metric != tally) errors += fmt::format("metrics.{} {} != tally {}; ", name, metric, tally);
  };
  expect("pushed", m.pushed, accepted);
  expect("popped", m.popped, received.count);
  expect("dropped_oldest", m.dropped_oldest, evicted.count);
  expect("dropped_newest", m.dropped_newest, dropped_newest);
  expect("timed_out", m.timed_out, timed_out);
  expect("rejected_closed", m.rejected_closed, closed);
  expect("size", m.size, 0);
  if (m.high_watermark > spec.capacity) errors += "high watermark above capacity; ";
  return errors;
}

std::string run_round(const RoundSpec& spec, Live& live, std::uint64_t round) {
  switch (spec.policy) {
    case 0: return run_round<bq::DropOldest>(spec, live, round);
    case 1: return run_round<bq::DropNewest>(spec, live, round);
    case 2: return run_round<bq::Block>(spec, live, round);
    case 3: return run_round<bq::BlockThen<bq::DropOldest>>(spec, live, round);
    default: return run_round<bq::Dynamic>(spec, live, round);
  }
}

int usage() {
  std::fprintf(stderr, "usage: soak [--seconds N] [--seed S] [--rss-growth-mb M]\n");
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::uint64_t seed = 1;
  double growth_limit_mib = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (i + 1 >= argc) return usage();
    const char* value = argv[++i];
    if (arg == "--seconds") {
      seconds = std::atof(value);
    } else if (arg == "--seed") {
      seed = std::strtoull(value, nullptr, 10);
    } else if (arg == "--rss-growth-mb") {
      growth_limit_mib = std::atof(value);
    } else {
      return usage();
    }
  }
  if (!(seconds > 0) || !(growth_limit_mib > 0)) return usage();

  fmt::print("soak: {} s, seed {}, RSS may grow at most {} MiB past the warm-up peak\n", seconds,
             seed, growth_limit_mib);
  Live live;
  std::atomic<bool> done{false};
  std::atomic<int> rss_failed{0};
  const auto start = Clock::now();
  const double warmup = std::min(5.0, seconds / 4);
  std::thread reporter([&] {
    double peak_warmup = 0;
    double peak = 0;
    for (int tick = 1; !done; ++tick) {
      std::this_thread::sleep_until(start + std::chrono::seconds(tick));
      if (done) break;
      const double rss = rss_mib();
      peak = std::max(peak, rss);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (elapsed <= warmup) peak_warmup = std::max(peak_warmup, rss);
      std::lock_guard lock(live.mutex);
      std::string metrics = "(between rounds)";
      if (live.metrics) {
        const bq::QueueMetrics m = live.metrics();
        metrics = fmt::format("size {}/{} hwm {} pushed {} popped {} dropped {}/{}/{} closed {}",
                              m.size, m.capacity, m.high_watermark, m.pushed, m.popped,
                              m.dropped_oldest, m.dropped_newest, m.timed_out, m.rejected_closed);
      }
      fmt::print("[{:4}s] rss {:7.1f} MiB | round {} {} | {}\n", tick, rss, live.round, live.what,
                 metrics);
      std::fflush(stdout);
      if (elapsed > warmup && rss > peak_warmup + growth_limit_mib) {
        fmt::print("soak: RSS {:.1f} MiB grew more than {} MiB past the warm-up peak {:.1f} MiB\n",
                   rss, growth_limit_mib, peak_warmup);
        rss_failed = 1;
      }
    }
  });

  std::mt19937_64 rng(seed);
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  static constexpr std::size_t kCapacities[] = {1, 2, 3, 7, 64, 1000, 4096, 100000};
  std::uint64_t rounds = 0;
  int failures = 0;
  while (Clock::now() < deadline && failures == 0 && rss_failed == 0) {
    RoundSpec spec;
    spec.policy = static_cast<int>(rng() % std::size(kPolicyNames));
    // The first round uses the largest capacity, so its memory is part of the warm-up peak.
    spec.capacity = rounds == 0 ? kCapacities[std::size(kCapacities) - 1]
                                : kCapacities[rng() % std::size(kCapacities)];
    spec.fill_first = rounds == 0;
    spec.producers = 1 + static_cast<int>(rng() % 4);
    spec.consumers = 1 + static_cast<int>(rng() % 4);
    spec.dynamic = static_cast<bq::OverflowPolicy>(rng() % 3);
    spec.seed = rng();
    const auto left = deadline - Clock::now();
    spec.length = std::min<Clock::duration>(left, std::chrono::milliseconds(200 + rng() % 1300));
    const std::string errors = run_round(spec, live, rounds);
    if (!errors.empty()) {
      fmt::print("soak: round {} ({} cap {} {}P/{}C) FAILED: {}\n", rounds,
                 kPolicyNames[spec.policy], spec.capacity, spec.producers, spec.consumers, errors);
      ++failures;
    }
    ++rounds;
  }
  done = true;
  reporter.join();
  fmt::print("soak: {} rounds, {} failed accounting, final RSS {:.1f} MiB\n", rounds, failures,
             rss_mib());
  if (failures != 0) return 1;
  if (rss_failed != 0) return 2;
  fmt::print("soak: OK\n");
  return 0;
}
