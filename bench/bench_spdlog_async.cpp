// bq::AsyncSink against spdlog's own async_logger: the same logging calls, the same
// formatting sink, one writer thread each, queues of the same capacity.
//
//   build/bench/bench/bq_bench_spdlog [messages per producer] [rounds] [row filter]
//
// A row filter ("bq/drop_oldest/1", "spdlog/block/2", "bq/" ...) runs only the rows whose
// name contains it, e.g. to profile one of them with perf; the table then lists those rows.
//
// Rows: policy (drop oldest: spdlog's overrun_oldest vs bq::DropOldest; block: spdlog's
// block vs bq::Block) x producers (1, 2) x implementation. Each run starts the producers
// together; each logs `messages` lines ("request {} from producer {} took {} us"). Reported:
//   producer rate   messages logged / time until the last producer returned
//   delivered rate  messages written by the sink / time until the writer drained and joined
// Rounds are interleaved (every row once per round), so each row's median sees the same
// machine conditions; the ratios are bq's median over spdlog's. Numbers are comparable only
// within one run. Every run checks its counts: delivered <= logged, and under block every
// message was delivered.
#include <bq/spdlog.hpp>

#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/version.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Formats every message with spdlog's default pattern into a buffer it then discards,
/// counting what it wrote: the work of a file sink without the disk.
class FormattingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
  std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    bytes_.store(bytes_.load(std::memory_order_relaxed) + formatted.size(),
                 std::memory_order_relaxed);
    written_.store(written_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void flush_() override {}

 private:
  std::atomic<std::uint64_t> written_{0};  // written by the one writer thread only
  std::atomic<std::uint64_t> bytes_{0};
};

enum class Impl { spdlog_async, bq_async_sink };
enum class Overflow { drop_oldest, block };

struct Row {
  Overflow overflow;
  int producers;
  Impl impl;
  std::vector<double> producer_rates;   // messages per second
  std::vector<double> delivered_rates;  // messages per second
  std::vector<double> delivered_share;  // delivered / logged
};

constexpr std::size_t kCapacity = 8192;  // spdlog's default async queue size

/// Runs the producers against `logger` from a common start; returns their wall time.
double run_producers(spdlog::logger& logger, int producers, std::uint64_t messages,
                     Clock::time_point& start) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (std::uint64_t i = 0; i < messages; ++i) {
        logger.info("request {} from producer {} took {} us", i, p, i % 977);
      }
    });
  }
  while (ready.load() < producers) std::this_thread::yield();
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& thread : threads) thread.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void run_once(Row& row, std::uint64_t messages) {
  auto sink = std::make_shared<FormattingSink>();
  const double logged = static_cast<double>(messages) * row.producers;
  Clock::time_point start;
  double producer_seconds = 0;
  if (row.impl == Impl::spdlog_async) {
    auto pool = std::make_shared<spdlog::details::thread_pool>(kCapacity, 1);
    auto logger = std::make_shared<spdlog::async_logger>(
        "spdlog", sink, pool,
        row.overflow == Overflow::block ? spdlog::async_overflow_policy::block
                                        : spdlog::async_overflow_policy::overrun_oldest);
    producer_seconds = run_producers(*logger, row.producers, messages, start);
    logger.reset();
    pool.reset();  // posts the terminate message after everything queued, and joins
  } else if (row.overflow == Overflow::block) {
    bq::QueueConfig config;
    config.capacity = kCapacity;
    config.block_timeout = std::chrono::minutes(10);  // block delivers all: never time out
    auto async =
        std::make_shared<bq::AsyncSink<bq::Block>>(config, std::vector<spdlog::sink_ptr>{sink});
    spdlog::logger logger("bq", async);
    producer_seconds = run_producers(logger, row.producers, messages, start);
    async->close();  // drains, writes, flushes, joins
  } else {
    auto async = std::make_shared<bq::AsyncSink<bq::DropOldest>>(kCapacity, sink);
    spdlog::logger logger("bq", async);
    producer_seconds = run_producers(logger, row.producers, messages, start);
    async->close();
  }
  const double total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double delivered = static_cast<double>(sink->written());
  if (delivered > logged || (row.overflow == Overflow::block && delivered != logged)) {
    std::fprintf(stderr, "bench_spdlog_async: bad count: delivered %.0f of %.0f\n", delivered,
                 logged);
    std::exit(1);
  }
  row.producer_rates.push_back(logged / producer_seconds);
  row.delivered_rates.push_back(delivered / total_seconds);
  row.delivered_share.push_back(delivered / logged);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

const char* name(Overflow overflow) {
  return overflow == Overflow::block ? "block" : "drop oldest";
}

/// Returns "bq/drop_oldest/1", "spdlog/block/2", ...
std::string row_name(const Row& row) {
  return std::string(row.impl == Impl::bq_async_sink ? "bq" : "spdlog") +
         (row.overflow == Overflow::block ? "/block/" : "/drop_oldest/") +
         std::to_string(row.producers);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t messages = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string filter = argc > 3 ? argv[3] : "";
  std::vector<Row> rows;
  for (Overflow overflow : {Overflow::drop_oldest, Overflow::block}) {
    for (int producers : {1, 2}) {
      for (Impl impl : {Impl::spdlog_async, Impl::bq_async_sink}) {
        rows.push_back(Row{overflow, producers, impl, {}, {}, {}});
      }
    }
  }
  std::printf(
      "bq::AsyncSink vs spdlog %d.%d.%d async_logger: capacity %zu, one writer thread, "
      "%llu messages per producer, %d interleaved rounds\n",
      SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH, kCapacity,
      static_cast<unsigned long long>(messages), rounds);
  for (int round = 0; round < rounds; ++round) {
    for (Row& row : rows) {
      if (row_name(row).find(filter) != std::string::npos) run_once(row, messages);
    }
    std::fprintf(stderr, "round %d of %d done\n", round + 1, rounds);
  }
  std::printf(
      "\n| policy | producers | producer rate, spdlog | producer rate, bq | ratio | "
      "delivered rate, spdlog | delivered rate, bq | ratio | delivered share, spdlog | "
      "delivered share, bq |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i + 1 < rows.size(); i += 2) {
    const Row& theirs = rows[i];
    const Row& ours = rows[i + 1];
    if (theirs.producer_rates.empty() || ours.producer_rates.empty()) {
      for (const Row* row : {&theirs, &ours}) {
        if (row->producer_rates.empty()) continue;
        std::printf("%s: producer rate %.2f M/s, delivered rate %.2f M/s, delivered %.0f%%\n",
                    row_name(*row).c_str(), median(row->producer_rates) / 1e6,
                    median(row->delivered_rates) / 1e6, 100 * median(row->delivered_share));
      }
      continue;
    }
    const double p_spd = median(theirs.producer_rates);
    const double p_bq = median(ours.producer_rates);
    const double d_spd = median(theirs.delivered_rates);
    const double d_bq = median(ours.delivered_rates);
    std::printf(
        "| %s | %d | %.2f M/s | %.2f M/s | %.2fx | %.2f M/s | %.2f M/s | %.2fx | %.0f%% | "
        "%.0f%% |\n",
        name(theirs.overflow), theirs.producers, p_spd / 1e6, p_bq / 1e6, p_bq / p_spd, d_spd / 1e6,
        d_bq / 1e6, d_bq / d_spd, 100 * median(theirs.delivered_share),
        100 * median(ours.delivered_share));
  }
  std::printf("\nMedians over the rounds; ratio = bq / spdlog (above 1: bq is faster).\n");
  return 0;
}
