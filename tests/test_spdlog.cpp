// Tests for bq::AsyncSink in <bq/spdlog.hpp>: spdlog loggers made asynchronous
// through a BoundedQueue.
//
// The overflow tests are deterministic: a GatedSink holds the worker inside its
// first write until the test opens the gate, so the queue fills exactly as the
// test logs. Nothing asserts on timing; waits have generous deadlines that only
// a hang would reach.
#include <bq/config.hpp>
#include <bq/monitor.hpp>
#include <bq/spdlog.hpp>

#include <spdlog/details/os.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

using namespace std::chrono_literals;

namespace {

/// What a wrapped sink saw: one entry per message, plus "<flush>" per flush.
struct Written {
  std::string payload;
  std::string logger;
  spdlog::level::level_enum level = spdlog::level::off;
  std::size_t thread_id = 0;
  spdlog::log_clock::time_point time;
  int line = 0;
};

/// Records every message and flush; optionally waits at a gate before its first write.
class RecordingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RecordingSink(bool gated = false) : gate_open_(!gated) {}

  /// Lets the writes through; until then the first write waits (with `gated`).
  void open_gate() {
    std::lock_guard lock(state_mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }

  /// Waits until the worker is inside a write held at the gate.
  void wait_until_held() {
    std::unique_lock lock(state_mutex_);
    REQUIRE(changed_.wait_for(lock, 30s, [&] { return held_; }));
  }

  std::vector<Written> messages() {
    std::lock_guard lock(state_mutex_);
    return messages_;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(state_mutex_);
    return events_;
  }
  std::size_t flushes() {
    std::lock_guard lock(state_mutex_);
    return flushes_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::unique_lock lock(state_mutex_);
    if (!gate_open_) {
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return gate_open_; });
    }
    messages_.push_back({std::string(msg.payload.data(), msg.payload.size()),
                         std::string(msg.logger_name.data(), msg.logger_name.size()), msg.level,
                         msg.thread_id, msg.time, msg.source.line});
    events_.push_back(messages_.back().payload);
  }
  void flush_() override {
    std::lock_guard lock(state_mutex_);
    ++flushes_;
    events_.push_back("<flush>");
  }

 private:
  std::mutex state_mutex_;
  std::condition_variable changed_;
  bool gate_open_;
  bool held_ = false;
  std::vector<Written> messages_;
  std::vector<std::string> events_;
  std::size_t flushes_ = 0;
};

/// Throws from log() for a payload "boom", and from flush() when told to.
class ThrowingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::atomic<bool> throw_on_flush{false};

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (std::string_view(msg.payload.data(), msg.payload.size()) == "boom") {
      throw std::runtime_error("disk on fire");
    }
  }
  void flush_() override {
    if (throw_on_flush) throw std::runtime_error("flush on fire");
  }
};

/// Collects what the drop handler saw (it runs in the logging threads).
struct Drops {
  std::mutex mutex;
  std::vector<std::string> payloads;
  std::vector<bq::PushResult> reasons;
  std::vector<spdlog::level::level_enum> levels;

  auto handler() {
    return [this](const bq::DroppedLogMessage& dropped) {
      std::lock_guard lock(mutex);
      payloads.emplace_back(dropped.payload);
      reasons.push_back(dropped.reason);
      levels.push_back(dropped.level);
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return payloads.size();
  }
};

bq::QueueConfig config_of(std::size_t capacity, bq::OverflowPolicy policy = {},
                          std::chrono::milliseconds block_timeout = 10s) {
  bq::QueueConfig config;
  config.capacity = capacity;
  config.policy = policy;
  config.block_timeout = block_timeout;
  return config;
}

std::vector<std::string> payloads_of(const std::vector<Written>& written) {
  std::vector<std::string> out;
  for (const auto& w : written) out.push_back(w.payload);
  return out;
}

std::vector<std::string> numbered(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
  return out;
}

/// Holds the worker at the gate with message "0", then logs "1".."n-1" into a
/// queue of `capacity`, opens the gate and closes the sink. Returns what was written.
template <class Policy>
std::vector<std::string> overflow_scenario(const bq::QueueConfig& config, int n, Drops& drops,
                                           bq::QueueMetrics& metrics) {
  auto recording = std::make_shared<RecordingSink>(/*gated=*/true);
  auto async = std::make_shared<bq::AsyncSink<Policy>>(
      config, std::vector<spdlog::sink_ptr>{recording}, drops.handler());
  spdlog::logger logger("overflow", async);
  logger.info("0");
  recording->wait_until_held();
  for (int i = 1; i < n; ++i) logger.info("{}", i);
  recording->open_gate();
  async->close();
  metrics = async->metrics();
  return payloads_of(recording->messages());
}

}  // namespace

TEST_CASE(
    "AsyncSink writes each message to every wrapped sink with its level, name, time, "
    "thread and source",
    "[spdlog]") {
  auto first = std::make_shared<RecordingSink>();
  auto second = std::make_shared<RecordingSink>();
  auto async = std::make_shared<bq::AsyncSink<>>(bq::QueueConfig{},
                                                 std::vector<spdlog::sink_ptr>{first, second});
  spdlog::logger logger("app", async);
  logger.set_level(spdlog::level::trace);
  const auto before = spdlog::log_clock::now();
  logger.warn("disk {}% full", 91);
  logger.log(spdlog::source_loc{__FILE__, __LINE__, "test"}, spdlog::level::err, "located");
  logger.info(std::string(1000, 'x'));  // longer than the inline buffer
  REQUIRE(async->flush_for(30s));

  for (const auto& sink : {first, second}) {
    const auto written = sink->messages();
    REQUIRE(written.size() == 3);
    CHECK(written[0].payload == "disk 91% full");
    CHECK(written[0].logger == "app");
    CHECK(written[0].level == spdlog::level::warn);
    CHECK(written[0].thread_id == spdlog::details::os::thread_id());  // the logging thread's
    CHECK(written[0].time >= before);
    CHECK(written[1].level == spdlog::level::err);
    CHECK(written[1].line > 0);
    CHECK(written[2].payload == std::string(1000, 'x'));
    CHECK(sink->flushes() >= 1);
  }
  CHECK(async->metrics().pushed == 3);
  CHECK(async->metrics().popped == 3);
  CHECK(async->sink_errors() == 0);
}

TEST_CASE("AsyncSink rejects a null wrapped sink", "[spdlog]") {
  CHECK_THROWS_AS(bq::AsyncSink<>(8, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(bq::AsyncSink<>(0, std::make_shared<RecordingSink>()), bq::ConfigError);
}

TEST_CASE("a slow wrapped sink under DropOldest keeps the newest messages and the counts add up",
          "[spdlog][policy]") {
  Drops drops;
  bq::QueueMetrics m;
  const auto written =
      overflow_scenario<bq::DropOldest>(config_of(8), 100, drops, m);  // "0" held by the worker
  std::vector<std::string> expected{"0"};
  for (const auto& s : numbered(92, 100)) expected.push_back(s);
  CHECK(written == expected);
  CHECK(drops.payloads == numbered(1, 92));
  CHECK(std::all_of(drops.reasons.begin(), drops.reasons.end(),
                    [](bq::PushResult r) { return r == bq::PushResult::replaced_oldest; }));
  CHECK(std::all_of(drops.levels.begin(), drops.levels.end(),
                    [](auto level) { return level == spdlog::level::info; }));
  // received + dropped == logged, and the metrics agree.
  CHECK(written.size() + drops.size() == 100);
  CHECK(m.pushed == 100);
  CHECK(m.popped == written.size());
  CHECK(m.dropped_oldest == drops.size());
  CHECK(m.size == 0);
}

TEST_CASE("DropNewest keeps the first messages and refuses the rest", "[spdlog][policy]") {
  Drops drops;
  bq::QueueMetrics m;
  const auto written = overflow_scenario<bq::DropNewest>(config_of(8), 100, drops, m);
  CHECK(written == numbered(0, 9));
  CHECK(drops.payloads == numbered(9, 100));
  CHECK(std::all_of(drops.reasons.begin(), drops.reasons.end(),
                    [](bq::PushResult r) { return r == bq::PushResult::dropped_newest; }));
  CHECK(m.pushed == 9);
  CHECK(m.dropped_newest == 91);
}

TEST_CASE("Block with a zero timeout refuses like DropNewest and reports timed_out",
          "[spdlog][policy]") {
  Drops drops;
  bq::QueueMetrics m;
  const auto written = overflow_scenario<bq::Block>(config_of(8, {}, 0ms), 30, drops, m);
  CHECK(written == numbered(0, 9));
  CHECK(drops.payloads == numbered(9, 30));
  CHECK(drops.reasons.front() == bq::PushResult::timed_out);
  CHECK(m.timed_out == 21);
}

TEST_CASE("Dynamic takes its policy from parse_config text", "[spdlog][policy][config]") {
  Drops oldest_drops;
  Drops newest_drops;
  bq::QueueMetrics m;
  const auto config = bq::parse_config("capacity=8192, policy=drop_oldest");
  {
    // The configured queue, as a service would build it.
    bq::AsyncSink<bq::Dynamic> async(config, {std::make_shared<RecordingSink>()});
    CHECK(async.queue().capacity() == 8192);
    CHECK(async.queue().policy().policy() == bq::OverflowPolicy::drop_oldest);
  }
  auto small = bq::parse_config("capacity=8, policy=drop_oldest");
  auto written = overflow_scenario<bq::Dynamic>(small, 50, oldest_drops, m);
  CHECK(written.size() == 9);
  CHECK(written.back() == "49");
  CHECK(oldest_drops.size() == 41);

  small = bq::parse_config("capacity=8, policy=drop_newest");
  written = overflow_scenario<bq::Dynamic>(small, 50, newest_drops, m);
  CHECK(written == numbered(0, 9));
  CHECK(newest_drops.reasons.front() == bq::PushResult::dropped_newest);
}

TEST_CASE("Block delivers every message from several logging threads, in order per thread",
          "[spdlog][policy][thread]") {
  constexpr int kThreads = 4;
  const int per_thread = BQ_TEST_SANITIZED ? 2000 : 20000;
  bq_test::Watchdog watchdog("spdlog Block delivery", std::chrono::seconds(240));
  auto recording = std::make_shared<RecordingSink>();
  // A small queue so the producers really wait; a timeout only a hang reaches.
  auto async = std::make_shared<bq::AsyncSink<bq::Block>>(
      config_of(16, bq::OverflowPolicy::block, 60s), std::vector<spdlog::sink_ptr>{recording});
  spdlog::logger logger("blocking", async);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) logger.info("{} {}", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  async->close();

  std::vector<int> next(kThreads, 0);
  bool in_order = true;
  for (const auto& w : recording->messages()) {
    std::istringstream in(w.payload);
    int t = 0;
    int i = 0;
    in >> t >> i;
    if (next[static_cast<std::size_t>(t)]++ != i) in_order = false;
  }
  CHECK(in_order);
  CHECK(next == std::vector<int>(kThreads, per_thread));
  const bq::QueueMetrics m = async->metrics();
  CHECK(m.pushed == static_cast<std::uint64_t>(kThreads * per_thread));
  CHECK(m.dropped() == 0);
}

TEMPLATE_TEST_CASE("flush returns once everything logged before it was written and flushed",
                   "[spdlog][flush]", bq::DropOldest, bq::DropNewest, bq::Block,
                   bq::BlockThen<bq::DropOldest>, bq::Dynamic) {
  auto recording = std::make_shared<RecordingSink>();
  auto async =
      std::make_shared<bq::AsyncSink<TestType>>(config_of(64, bq::OverflowPolicy::drop_oldest, 30s),
                                                std::vector<spdlog::sink_ptr>{recording});
  spdlog::logger logger("flushing", async);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) logger.info("{}", round * 20 + i);
    logger.flush();
    const auto events = recording->events();
    REQUIRE(events.size() >= 21);
    CHECK(events.back() == "<flush>");
    CHECK(payloads_of(recording->messages()) == numbered(0, round * 20 + 20));
  }
  CHECK(async->flush_timeouts() == 0);
  // Flush markers are not messages.
  CHECK(async->metrics().pushed == 60);
  CHECK(async->queue().metrics().pushed == 63);
}

TEST_CASE("a flush whose marker newer messages evicted still completes", "[spdlog][flush]") {
  Drops drops;
  auto recording = std::make_shared<RecordingSink>(/*gated=*/true);
  auto async = std::make_shared<bq::AsyncSink<bq::DropOldest>>(
      config_of(4, bq::OverflowPolicy::drop_oldest, 60s), std::vector<spdlog::sink_ptr>{recording},
      drops.handler());
  spdlog::logger logger("evicting", async);
  logger.info("held");
  recording->wait_until_held();
  for (int i = 0; i < 4; ++i) logger.info("{}", i);

  std::atomic<bool> flushed{false};
  std::atomic<bool> completed{false};
  std::thread flusher([&] {
    completed = async->flush_for(60s);
    flushed = true;
  });
  // The marker is queued once the queue counts it; then four messages evict it.
  bq_test::Watchdog watchdog("evicted flush marker", std::chrono::seconds(120));
  while (async->queue().metrics().pushed < 6) std::this_thread::yield();
  for (int i = 4; i < 8; ++i) logger.info("{}", i);
  CHECK_FALSE(flushed);
  recording->open_gate();
  flusher.join();
  CHECK(completed);
  CHECK(async->flush_timeouts() == 0);
  CHECK(recording->flushes() >= 1);
  // The marker's force push evicted "0"; the four messages after it evicted 1-3 and the marker.
  // Each handler call runs in its pushing thread after the push (docs/guarantees.md), so the
  // flusher's call for "0" may come after the logging thread's calls for 1-3 (seen in CI).
  std::vector<std::string> dropped = drops.payloads;
  std::sort(dropped.begin(), dropped.end());
  CHECK(dropped == numbered(0, 4));
  async->close();
  CHECK(payloads_of(recording->messages()) == std::vector<std::string>{"held", "4", "5", "6", "7"});
  CHECK(async->metrics().dropped_oldest == 4);
}

TEST_CASE("a flush that times out returns false, is counted, and loses nothing",
          "[spdlog][flush]") {
  auto recording = std::make_shared<RecordingSink>(/*gated=*/true);
  auto async = std::make_shared<bq::AsyncSink<bq::Block>>(
      config_of(16, bq::OverflowPolicy::block, 50ms), std::vector<spdlog::sink_ptr>{recording});
  spdlog::logger logger("stuck", async);
  logger.info("0");
  recording->wait_until_held();
  for (int i = 1; i < 5; ++i) logger.info("{}", i);
  async->flush();  // the worker is held: block_timeout passes
  CHECK(async->flush_timeouts() == 1);
  CHECK_FALSE(async->flush_for(1ms));
  CHECK(async->flush_timeouts() == 2);
  recording->open_gate();
  CHECK(async->flush_for(30s));
  CHECK(payloads_of(recording->messages()) == numbered(0, 5));
  CHECK(recording->flushes() >= 1);
}

TEST_CASE("close and the destructor drain, write and flush everything queued",
          "[spdlog][close][timing]") {
  Drops drops;
  auto recording = std::make_shared<RecordingSink>(/*gated=*/true);
  {
    auto async = std::make_shared<bq::AsyncSink<bq::Block>>(
        config_of(1000, bq::OverflowPolicy::block), std::vector<spdlog::sink_ptr>{recording},
        drops.handler());
    spdlog::logger logger("closing", async);
    logger.info("0");
    recording->wait_until_held();
    for (int i = 1; i < 500; ++i) logger.info("{}", i);
    std::thread opener([&] {
      std::this_thread::sleep_for(10ms);
      recording->open_gate();
    });
    async->close();  // waits for the worker, held until the gate opens
    opener.join();
    CHECK(payloads_of(recording->messages()) == numbered(0, 500));
    CHECK(recording->events().back() == "<flush>");
    logger.info("late");
    CHECK(drops.payloads == std::vector<std::string>{"late"});
    CHECK(drops.reasons == std::vector<bq::PushResult>{bq::PushResult::closed});
    CHECK(async->metrics().rejected_closed == 1);
    logger.flush();  // after close: flushes the sinks directly
    async->close();  // idempotent
  }
  {
    auto open = std::make_shared<RecordingSink>();
    {
      auto async = std::make_shared<bq::AsyncSink<>>(1000, open);
      spdlog::logger logger("destroyed", async);
      for (int i = 0; i < 300; ++i) logger.info("{}", i);
    }  // the destructor drains
    CHECK(payloads_of(open->messages()) == numbered(0, 300));
    CHECK(open->events().back() == "<flush>");
  }
}

TEST_CASE("a throwing wrapped sink is counted and reported, and logging goes on",
          "[spdlog][errors]") {
  auto throwing = std::make_shared<ThrowingSink>();
  auto recording = std::make_shared<RecordingSink>();
  auto async = std::make_shared<bq::AsyncSink<>>(
      bq::QueueConfig{}, std::vector<spdlog::sink_ptr>{throwing, recording});
  std::mutex mutex;
  std::vector<std::string> reported;
  async->set_error_handler([&](const std::string& what) {
    std::lock_guard lock(mutex);
    reported.push_back(what);
  });
  spdlog::logger logger("fragile", async);
  logger.info("a");
  logger.info("boom");
  logger.info("b");
  REQUIRE(async->flush_for(30s));
  CHECK(payloads_of(recording->messages()) == std::vector<std::string>{"a", "boom", "b"});
  CHECK(async->sink_errors() == 1);
  throwing->throw_on_flush = true;
  REQUIRE(async->flush_for(30s));
  CHECK(async->sink_errors() == 2);
  throwing->throw_on_flush = false;
  async->close();  // before `reported` goes
  std::lock_guard lock(mutex);
  REQUIRE(reported.size() == 2);
  CHECK(reported[0].find("disk on fire") != std::string::npos);
  CHECK(reported[0].find("fragile") != std::string::npos);
  CHECK(reported[1].find("flush on fire") != std::string::npos);
}

TEST_CASE("set_pattern, set_formatter and levels reach the wrapped sinks", "[spdlog]") {
  std::ostringstream out_a;
  std::ostringstream out_b;
  auto a = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_a);
  auto b = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_b);
  auto async =
      std::make_shared<bq::AsyncSink<>>(bq::QueueConfig{}, std::vector<spdlog::sink_ptr>{a, b});
  spdlog::logger logger("patterned", async);
  logger.set_pattern("[%n] %l: %v");  // the logger calls the AsyncSink's set_formatter
  logger.info("one");
  REQUIRE(async->flush_for(30s));
  CHECK(out_a.str() == "[patterned] info: one\n");
  CHECK(out_b.str() == "[patterned] info: one\n");

  async->set_pattern("%v!");
  b->set_level(spdlog::level::warn);  // a wrapped sink's own level is honoured
  logger.info("two");
  logger.warn("three");
  REQUIRE(async->flush_for(30s));
  CHECK(out_a.str() == "[patterned] info: one\ntwo!\nthree!\n");
  CHECK(out_b.str() == "[patterned] info: one\nthree!\n");

  async->set_level(spdlog::level::err);  // filters before the message is queued
  logger.warn("four");
  REQUIRE(async->flush_for(30s));
  CHECK(out_a.str() == "[patterned] info: one\ntwo!\nthree!\n");
  CHECK(async->metrics().pushed == 3);
}

TEST_CASE("the AsyncSink's queue works with QueueMonitor unchanged", "[spdlog][monitor]") {
  std::vector<bq::MonitorEvent> events;
  bq::MonitorOptions options;
  options.start_thread = false;
  bq::QueueMonitor monitor([&](const bq::MonitorEvent& e) { events.push_back(e); }, options);
  Drops drops;
  auto recording = std::make_shared<RecordingSink>(/*gated=*/true);
  auto async = std::make_shared<bq::AsyncSink<>>(
      config_of(4), std::vector<spdlog::sink_ptr>{recording}, drops.handler());
  monitor.watch("log", async->queue());
  spdlog::logger logger("monitored", async);
  logger.info("0");
  recording->wait_until_held();
  for (int i = 1; i < 20; ++i) logger.info("{}", i);
  monitor.sample_now();
  recording->open_gate();
  async->close();
  monitor.unwatch("log");
  const auto drop_event = std::find_if(events.begin(), events.end(), [](const bq::MonitorEvent& e) {
    return e.kind == bq::MonitorEventKind::drops;
  });
  REQUIRE(drop_event != events.end());
  CHECK(drop_event->dropped.oldest == 15);
  CHECK(drop_event->queue == "log");
}

TEMPLATE_TEST_CASE("several threads log, flush and change the pattern at once; the counts add up",
                   "[spdlog][thread][stress]", bq::DropOldest, bq::DropNewest, bq::Block,
                   bq::Dynamic) {
  constexpr int kThreads = 4;
  const int per_thread = BQ_TEST_SANITIZED ? 3000 : 30000;
  bq_test::Watchdog watchdog("spdlog stress", std::chrono::seconds(240));
  Drops drops;
  auto recording = std::make_shared<RecordingSink>();
  auto async = std::make_shared<bq::AsyncSink<TestType>>(
      config_of(64, bq::OverflowPolicy::drop_oldest, 60s), std::vector<spdlog::sink_ptr>{recording},
      drops.handler());
  spdlog::logger logger("stress", async);
  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done) {
      async->flush();
      async->set_pattern("%v");
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) logger.info("{} {}", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  flusher.join();
  async->close();

  const auto written = recording->messages();
  std::vector<int> last(kThreads, -1);
  bool in_order = true;
  for (const auto& w : written) {
    std::istringstream in(w.payload);
    int t = 0;
    int i = 0;
    in >> t >> i;
    if (i <= last[static_cast<std::size_t>(t)]) in_order = false;
    last[static_cast<std::size_t>(t)] = i;
  }
  CHECK(in_order);
  const std::uint64_t logged = static_cast<std::uint64_t>(kThreads) * per_thread;
  CHECK(written.size() + drops.size() == logged);
  const bq::QueueMetrics m = async->metrics();
  CHECK(m.pushed + m.dropped_newest + m.timed_out == logged);
  CHECK(m.popped == written.size());
  CHECK(m.dropped() == drops.size());
  CHECK(async->sink_errors() == 0);
}
