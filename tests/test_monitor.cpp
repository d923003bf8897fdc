// Tests for QueueMonitor in <bq/monitor.hpp>.
//
// Most tests drive the monitor by hand (MonitorOptions::start_thread = false,
// sample_now()) with injected clocks, so they neither sleep nor depend on
// timing. The threaded tests use an interval of an hour and sample_now(), or
// wait for an event with a generous deadline that only a hang would reach.
#include <bq/bounded_queue.hpp>
#include <bq/config.hpp>
#include <bq/export.hpp>
#include <bq/monitor.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Kind = bq::MonitorEventKind;

namespace {

// Collects events from any thread; lets a test wait for one.
class EventLog {
 public:
  bq::MonitorSink sink() {
    return [this](const bq::MonitorEvent& event) {
      const std::lock_guard lock(mutex_);
      events_.push_back(event);
      threads_.push_back(std::this_thread::get_id());
      changed_.notify_all();
    };
  }

  std::vector<bq::MonitorEvent> take() {
    const std::lock_guard lock(mutex_);
    auto events = std::move(events_);
    events_.clear();
    return events;
  }

  std::vector<std::thread::id> threads() {
    const std::lock_guard lock(mutex_);
    return threads_;
  }

  // Waits (at most a minute: only a hang gets there) for an event of `kind`.
  bool wait_for(Kind kind) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 60s, [&] {
      for (const auto& event : events_) {
        if (event.kind == kind) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bq::MonitorEvent> events_;
  std::vector<std::thread::id> threads_;
};

// A queue whose metrics the test sets directly.
struct FakeQueue {
  bq::QueueMetrics current{10, 0, 0, 0, 0, 0, 0, 0, 0};
  int resets = 0;

  bq::QueueMetrics metrics() const noexcept { return current; }
  void reset_high_watermark() noexcept {
    current.high_watermark = current.size;
    ++resets;
  }
  void set_size(std::size_t size) {
    current.size = size;
    current.high_watermark = std::max(current.high_watermark, size);
  }
};

// Manual-mode options with clocks the test moves.
struct ManualClock {
  std::chrono::steady_clock::time_point steady{};
  std::chrono::system_clock::time_point wall{};

  bq::MonitorOptions options() {
    bq::MonitorOptions options;
    options.start_thread = false;
    options.steady_clock = [this] { return steady; };
    options.wall_clock = [this] { return wall; };
    return options;
  }
  void advance(std::chrono::milliseconds by) {
    steady += by;
    wall += by;
  }
};

std::vector<Kind> kinds(const std::vector<bq::MonitorEvent>& events) {
  std::vector<Kind> result;
  for (const auto& event : events) result.push_back(event.kind);
  return result;
}

}  // namespace

static_assert(bq::MonitorableQueue<bq::BoundedQueue<int, bq::DropOldest>>);
static_assert(bq::MonitorableQueue<bq::BoundedQueue<std::string, bq::Block, bq::Spsc>>);
static_assert(bq::MonitorableQueue<FakeQueue>);
static_assert(!bq::MonitorableQueue<int>);
static_assert(bq::NamedMetricsRange<std::vector<bq::NamedMetrics>>,
              "snapshot() must feed write_prometheus directly");

TEST_CASE("monitor reports utilization_high once per excursion and normal after hysteresis",
          "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  FakeQueue queue;
  queue.current.capacity = 100;
  monitor.watch("q", queue, {.warn_utilization = 0.8});

  queue.set_size(79);
  clock.advance(5s);
  monitor.sample_now();
  CHECK(log.take().empty());  // 79% < 80%.

  queue.set_size(80);
  clock.advance(5s);
  monitor.sample_now();
  auto events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::utilization_high});
  CHECK(events[0].queue == "q");
  CHECK(events[0].peak == 80);
  CHECK(events[0].metrics.size == 80);
  CHECK(events[0].threshold == 0.8);
  CHECK(events[0].period == 5s);
  CHECK(events[0].peak_utilization() == Approx(0.8));

  // Staying high, then settling in the hysteresis band (70% to 80%), says nothing.
  for (std::size_t size : {100u, 90u, 75u, 71u}) {
    queue.set_size(size);
    clock.advance(5s);
    monitor.sample_now();
    CHECK(log.take().empty());
  }

  // Below the band: the interval in which it fell still peaked at 71%...
  queue.set_size(60);
  clock.advance(5s);
  monitor.sample_now();
  CHECK(log.take().empty());
  // ...the next one, spent entirely below 70%, ends the excursion.
  clock.advance(5s);
  monitor.sample_now();
  events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::utilization_normal});
  CHECK(events[0].peak == 60);
  CHECK(events[0].excursion_peak == 100);
  CHECK(events[0].excursion_duration == 30s);

  // A new excursion is reported again.
  queue.set_size(85);
  monitor.sample_now();
  CHECK(kinds(log.take()) == std::vector{Kind::utilization_high});
}

TEMPLATE_TEST_CASE("monitor sees a burst that filled and drained the queue between two samples",
                   "[monitor]", bq::DropNewest, bq::Block, bq::BlockThen<bq::DropNewest>,
                   bq::BlockThen<bq::DropOldest>) {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, TestType> queue(10);
  monitor.watch("bursty", queue);

  for (int i = 0; i < 9; ++i) REQUIRE(queue.push(i) == bq::PushResult::pushed);
  while (queue.try_pop()) {
  }
  monitor.sample_now();
  auto events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::utilization_high});
  CHECK(events[0].peak == 9);
  CHECK(events[0].metrics.size == 0);

  // The monitor reset the watermark: a quiet interval peaks at 0 and ends the excursion.
  CHECK(queue.metrics().high_watermark == 0);
  monitor.sample_now();
  events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::utilization_normal});
  CHECK(events[0].peak == 0);
  CHECK(events[0].excursion_peak == 9);
}

// Regression: the evicting push path once skipped the watermark sampling, so a
// burst that did not fill a DropOldest queue was invisible.
TEMPLATE_TEST_CASE("monitor sees a burst below capacity in a queue that may evict", "[monitor]",
                   bq::DropOldest, bq::Dynamic) {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, TestType> queue(10);
  monitor.watch("bursty", queue);
  for (int i = 0; i < 9; ++i) REQUIRE(queue.push(i) == bq::PushResult::pushed);
  while (queue.try_pop()) {
  }
  monitor.sample_now();
  const auto events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::utilization_high});
  CHECK(events[0].peak == 9);
}

TEST_CASE("monitor uses the queue's own warn_utilization unless told otherwise", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::QueueConfig config;
  config.capacity = 10;
  config.warn_utilization = 0.5;
  bq::BoundedQueue<int, bq::Dynamic> half(config);
  bq::BoundedQueue<int, bq::Dynamic> strict(config);
  monitor.watch("half", half);
  monitor.watch("strict", strict, {.warn_utilization = 0.9});
  for (int i = 0; i < 5; ++i) {
    half.push(i);
    strict.push(i);
  }
  monitor.sample_now();
  const auto events = log.take();
  REQUIRE(events.size() == 1);
  CHECK(events[0].queue == "half");
  CHECK(events[0].threshold == 0.5);
}

TEST_CASE("monitor aggregates drops since the previous sample into one event per queue",
          "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, bq::DropOldest> oldest(4);
  bq::BoundedQueue<int, bq::DropNewest> newest(4);
  bq::QueueConfig blocking;
  blocking.capacity = 2;
  blocking.block_timeout = 0ms;
  bq::BoundedQueue<int, bq::Block> block(blocking);
  monitor.watch("oldest", oldest);
  monitor.watch("newest", newest);
  monitor.watch("block", block);

  for (int i = 0; i < 10; ++i) {
    oldest.push(i);
    newest.push(i);
  }
  for (int i = 0; i < 5; ++i) block.push(i);
  block.close();
  block.push(99);
  clock.advance(5s);
  monitor.sample_now();

  auto events = log.take();
  std::vector<bq::MonitorEvent> drops;
  for (const auto& event : events) {
    if (event.kind == Kind::drops) drops.push_back(event);
  }
  REQUIRE(drops.size() == 3);  // One per queue, not one per item.
  CHECK(drops[0].queue == "oldest");
  CHECK(drops[0].dropped == bq::DropCounts{6, 0, 0, 0});
  CHECK(drops[0].metrics.dropped_oldest == 6);
  CHECK(drops[0].period == 5s);
  CHECK(drops[1].queue == "newest");
  CHECK(drops[1].dropped == bq::DropCounts{0, 6, 0, 0});
  CHECK(drops[2].queue == "block");
  CHECK(drops[2].dropped == bq::DropCounts{0, 0, 3, 1});
  CHECK(drops[2].dropped.dropped() == 3);

  // Nothing new: no drops event. Two more evictions: only those are reported,
  // with the running total in the metrics.
  monitor.sample_now();
  for (const auto& event : log.take()) CHECK(event.kind != Kind::drops);
  oldest.push(10);
  oldest.push(11);
  monitor.sample_now();
  events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::drops});
  CHECK(events[0].dropped == bq::DropCounts{2, 0, 0, 0});
  CHECK(events[0].metrics.dropped_oldest == 8);
}

TEST_CASE("monitor reports items discarded by clear and close_and_discard as drops",
          "[monitor][discard]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, bq::Block> queue(8);
  monitor.watch("q", queue);
  for (int i = 0; i < 5; ++i) REQUIRE(queue.push(i) == bq::PushResult::pushed);
  CHECK(queue.clear() == 5);
  REQUIRE(queue.push(5) == bq::PushResult::pushed);
  clock.advance(5s);
  monitor.sample_now();
  auto events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::drops});
  CHECK(events[0].dropped == bq::DropCounts{0, 0, 0, 0, 5});
  CHECK(events[0].dropped.dropped() == 0);  // not lost to a full queue
  CHECK(events[0].dropped.any());
  CHECK(events[0].metrics.discarded == 5);

  CHECK(queue.close_and_discard() == 1);
  clock.advance(5s);
  monitor.sample_now();
  events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::drops});
  CHECK(events[0].dropped == bq::DropCounts{0, 0, 0, 0, 1});
  CHECK(events[0].metrics.discarded == 6);
}

TEST_CASE("monitor does not report drops that happened before watch", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, bq::DropNewest> queue(1);
  queue.push(1);
  queue.push(2);  // Dropped before anyone watched.
  (void)queue.try_pop();
  monitor.watch("late", queue);
  monitor.sample_now();
  CHECK(log.take().empty());
}

TEST_CASE("monitor resets the high watermark it owns and leaves it alone when told to",
          "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::MonitorOptions options = clock.options();
  options.report_high_watermark = true;
  bq::QueueMonitor monitor(log.sink(), options);
  FakeQueue owned;
  FakeQueue shared;
  monitor.watch("owned", owned, {.warn_utilization = 1.0});
  monitor.watch("shared", shared, {.warn_utilization = 1.0, .owns_high_watermark = false});
  CHECK(owned.resets == 1);  // The baseline at watch() starts the first interval.
  CHECK(shared.resets == 0);

  for (FakeQueue* queue : {&owned, &shared}) {
    queue->set_size(7);
    queue->set_size(3);
  }
  monitor.sample_now();
  auto events = log.take();
  REQUIRE(kinds(events) == std::vector{Kind::high_watermark, Kind::high_watermark});
  CHECK(events[0].peak == 7);
  CHECK(events[1].peak == 7);  // A new record: known exactly even without resets.
  CHECK(owned.current.high_watermark == 3);
  CHECK(shared.current.high_watermark == 7);

  // A smaller burst: the owner sees it; without resets only the size is known.
  for (FakeQueue* queue : {&owned, &shared}) {
    queue->set_size(5);
    queue->set_size(2);
  }
  monitor.sample_now();
  events = log.take();
  REQUIRE(events.size() == 2);
  CHECK(events[0].peak == 5);
  CHECK(events[1].peak == 2);
  CHECK(owned.resets == 3);
  CHECK(shared.resets == 0);
}

TEST_CASE("monitor reports a high_watermark event per queue per interval only when asked",
          "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor quiet(log.sink(), clock.options());
  FakeQueue queue;
  quiet.watch("q", queue);
  quiet.sample_now();
  quiet.sample_now();
  CHECK(log.take().empty());

  auto options = clock.options();
  options.report_high_watermark = true;
  bq::QueueMonitor chatty(log.sink(), options);
  chatty.watch("a", queue);
  chatty.watch("b", queue, {.warn_utilization = {}, .owns_high_watermark = false});
  chatty.sample_now();
  chatty.sample_now();
  CHECK(kinds(log.take()) == std::vector(4, Kind::high_watermark));
}

TEST_CASE("monitor stamps events with the injected clocks", "[monitor]") {
  EventLog log;
  ManualClock clock;
  clock.wall = std::chrono::system_clock::time_point(1'700'000'000s);
  bq::QueueMonitor monitor(log.sink(), clock.options());
  FakeQueue queue;
  monitor.watch("q", queue);
  clock.advance(1234ms);
  queue.current.dropped_newest = 1;
  monitor.sample_now();
  const auto events = log.take();
  REQUIRE(events.size() == 1);
  CHECK(events[0].time == std::chrono::system_clock::time_point(1'700'000'000s + 1234ms));
  CHECK(events[0].period == 1234ms);
}

TEST_CASE("monitor watches queues of different types, policies and custom samplers", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<std::string, bq::DropOldest, bq::Spsc> strings(2);
  bq::BoundedQueue<std::vector<int>, bq::BlockThen<bq::DropNewest>> vectors(3);
  std::uint64_t custom_drops = 0;
  monitor.watch("strings", strings);
  monitor.watch("vectors", vectors);
  monitor.watch("custom", [&] {
    bq::QueueMetrics m;
    m.capacity = 100;
    m.dropped_newest = custom_drops;
    return m;
  });
  CHECK(monitor.watched() == std::vector<std::string>{"strings", "vectors", "custom"});

  strings.push("a");
  strings.push("b");
  strings.push("c");
  custom_drops = 4;
  monitor.sample_now();
  std::vector<std::string> dropped_from;
  for (const auto& event : log.take()) {
    if (event.kind == Kind::drops) dropped_from.push_back(event.queue);
  }
  CHECK(dropped_from == std::vector<std::string>{"strings", "custom"});
}

TEST_CASE("monitor rejects duplicate names and unwatches by name", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  FakeQueue a;
  FakeQueue b;
  monitor.watch("a", a);
  CHECK_THROWS_AS(monitor.watch("a", b), std::invalid_argument);
  CHECK_THROWS_WITH(monitor.watch("a", b), Catch::Contains("\"a\""));
  CHECK(monitor.unwatch("a"));
  CHECK_FALSE(monitor.unwatch("a"));
  CHECK(monitor.watched().empty());

  a.current.dropped_oldest = 5;  // Not watched any more: never reported.
  monitor.sample_now();
  CHECK(log.take().empty());
  monitor.watch("a", b);  // The name is free again.
  CHECK(monitor.watched() == std::vector<std::string>{"a"});
}

TEST_CASE("monitor rejects bad options", "[monitor]") {
  EventLog log;
  bq::MonitorOptions options;
  options.start_thread = false;
  CHECK_THROWS_AS(bq::QueueMonitor(bq::MonitorSink{}, options), std::invalid_argument);
  options.interval = 0ms;
  CHECK_THROWS_AS(bq::QueueMonitor(log.sink(), options), bq::ConfigError);
  options.interval = 1s;
  options.hysteresis = -0.1;
  CHECK_THROWS_AS(bq::QueueMonitor(log.sink(), options), bq::ConfigError);
  options.hysteresis = 0.1;
  bq::QueueMonitor monitor(log.sink(), options);
  FakeQueue queue;
  CHECK_THROWS_AS(monitor.watch("q", queue, {.warn_utilization = 0.0}), bq::ConfigError);
  CHECK_THROWS_AS(monitor.watch("q", queue, {.warn_utilization = 1.5}), bq::ConfigError);
  CHECK_THROWS_AS(monitor.watch("q", std::function<bq::QueueMetrics()>{}), std::invalid_argument);
  CHECK(monitor.watched().empty());
}

TEST_CASE("monitor rejects bad settings with a message naming the value and what is allowed",
          "[monitor][config]") {
  EventLog log;
  bq::MonitorOptions options;
  options.start_thread = false;
  options.interval = -5ms;
  CHECK_THROWS_WITH(bq::QueueMonitor(log.sink(), options),
                    "bq: monitor interval -5ms is invalid; it must be > 0ms");
  CHECK_THROWS_WITH(bq::validate(options),
                    "bq: monitor interval -5ms is invalid; it must be > 0ms");
  options.interval = 1s;
  options.hysteresis = 1.25;
  CHECK_THROWS_WITH(bq::validate(options), Catch::Contains("hysteresis 1.25 is outside [0, 1]"));
  options.hysteresis = 0.1;
  options.warn_utilization = 0.0;
  CHECK_THROWS_WITH(bq::validate(options),
                    Catch::StartsWith("bq: monitor warn_utilization 0 is outside (0, 1]"));
  options.warn_utilization = 0.8;
  CHECK_NOTHROW(bq::validate(options));
  options.interval = bq::kMaxMonitorInterval;
  CHECK_NOTHROW(bq::validate(options));
  options.interval = bq::kMaxMonitorInterval + 1ms;
  CHECK_THROWS_WITH(bq::validate(options),
                    "bq: monitor interval 31536000001ms is too long; it must be at most "
                    "31536000000ms (365 days)");
  options.interval = std::chrono::milliseconds::max();
  CHECK_THROWS_WITH(bq::validate(options), Catch::Contains("9223372036854775807ms is too long"));
}

TEST_CASE(
    "a queue accepts monitor-only settings out of range; the monitor watching it rejects "
    "them, naming the queue",
    "[monitor][config]") {
  bq::QueueConfig config;
  config.capacity = 4;
  config.warn_utilization = 1.5;
  config.monitor_interval = 0ms;
  bq::BoundedQueue<int, bq::DropOldest> queue{config};  // Must not throw: not the queue's fields.
  REQUIRE(queue.push(1) == bq::PushResult::pushed);
  REQUIRE(queue.push(2) == bq::PushResult::pushed);
  REQUIRE(queue.try_pop() == 1);  // Size 1, high watermark 2.

  EventLog log;
  CHECK_THROWS_WITH(bq::QueueMonitor(log.sink(), bq::MonitorOptions::from(config)),
                    Catch::Contains("interval 0ms is invalid; it must be > 0ms"));

  bq::MonitorOptions options;
  options.start_thread = false;
  bq::QueueMonitor monitor(log.sink(), options);
  CHECK_THROWS_WITH(monitor.watch("ingest", queue),
                    "bq: queue \"ingest\" warn_utilization 1.5 is outside (0, 1]; it is a fraction "
                    "of capacity above 0 and at most 1");
  CHECK(monitor.watched().empty());
  CHECK(queue.metrics().high_watermark == 2);  // Rejected before the first sample reset it.
  monitor.watch("ingest", queue, {.warn_utilization = 0.5});  // An override in range works.
  CHECK(monitor.watched() == std::vector<std::string>{"ingest"});
}

TEST_CASE("monitor drop reports separate lost items from refused ones", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  FakeQueue queue;
  monitor.watch("q", queue);
  queue.current.dropped_oldest = 5;
  queue.current.discarded = 2;
  queue.current.dropped_newest = 3;
  queue.current.timed_out = 1;
  queue.current.rejected_closed = 4;
  monitor.sample_now();
  const auto events = log.take();
  REQUIRE(kinds(events) == std::vector<Kind>{Kind::drops});
  const auto& dropped = events[0].dropped;
  CHECK(dropped == bq::DropCounts{5, 3, 1, 4, 2});
  CHECK(dropped.lost() == 5 + 2);
  CHECK(dropped.refused() == 3 + 1 + 4);
  CHECK(dropped.dropped() == 5 + 3 + 1);  // The old umbrella, for compatibility.
  CHECK(events[0].metrics.lost() == dropped.lost());

  queue.current.rejected_closed = 5;  // Only a refusal: still reported.
  monitor.sample_now();
  const auto refused_only = log.take();
  REQUIRE(refused_only.size() == 1);
  CHECK(refused_only[0].dropped.lost() == 0);
  CHECK(refused_only[0].dropped.refused() == 1);
}

TEST_CASE("MonitorOptions::from takes the interval and threshold from a config", "[monitor]") {
  const auto defaults = bq::MonitorOptions{};
  CHECK(defaults.interval == 5s);
  const auto options =
      bq::MonitorOptions::from(bq::parse_config("monitor_interval=250ms,"
                                                "warn_utilization=0.6"));
  CHECK(options.interval == 250ms);
  CHECK(options.warn_utilization == 0.6);
}

TEST_CASE("monitor contains a throwing sink, counts it and reports it", "[monitor]") {
  std::vector<std::string> errors;
  std::vector<std::string> delivered;
  bq::MonitorOptions options;
  options.start_thread = false;
  options.on_error = [&](std::string_view message) { errors.emplace_back(message); };
  bq::QueueMonitor monitor(
      [&](const bq::MonitorEvent& event) {
        if (event.queue == "bad") throw std::runtime_error("sink is broken");
        delivered.push_back(event.queue);
      },
      options);
  FakeQueue bad;
  FakeQueue good;
  monitor.watch("bad", bad);
  monitor.watch("good", good);
  bad.current.dropped_oldest = 1;
  good.current.dropped_oldest = 1;
  REQUIRE_NOTHROW(monitor.sample_now());
  CHECK(monitor.sink_errors() == 1);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("\"bad\"") && Catch::Contains("sink is broken") &&
                            Catch::Contains("drops"));
  CHECK(delivered == std::vector<std::string>{"good"});  // The next event still went out.
}

TEST_CASE("monitor contains a throwing custom sampler and samples the other queues", "[monitor]") {
  std::vector<std::string> errors;
  EventLog log;
  ManualClock clock;
  auto options = clock.options();
  options.on_error = [&](std::string_view message) { errors.emplace_back(message); };
  bq::QueueMonitor monitor(log.sink(), options);
  bool fail = false;
  monitor.watch("flaky", [&] {
    if (fail) throw std::runtime_error("source gone");
    return bq::QueueMetrics{};
  });
  FakeQueue queue;
  monitor.watch("q", queue);
  fail = true;
  queue.current.timed_out = 2;
  monitor.sample_now();
  CHECK(monitor.sink_errors() == 1);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("\"flaky\"") && Catch::Contains("source gone"));
  CHECK(kinds(log.take()) == std::vector{Kind::drops});
}

TEST_CASE("monitor swallows an error handler that throws", "[monitor]") {
  bq::MonitorOptions options;
  options.start_thread = false;
  options.on_error = [](std::string_view) { throw 42; };
  bq::QueueMonitor monitor([](const bq::MonitorEvent&) { throw 7; }, options);
  FakeQueue queue;
  monitor.watch("q", queue);
  queue.current.dropped_newest = 1;
  CHECK_NOTHROW(monitor.sample_now());
  CHECK(monitor.sink_errors() == 1);
}

TEST_CASE("monitor calls the sink from its own thread, and sample_now waits for delivery",
          "[monitor][thread]") {
  EventLog log;
  bq::MonitorOptions options;
  options.interval = std::chrono::hours(1);  // Only sample_now() samples.
  bq::QueueMonitor monitor(log.sink(), options);
  CHECK(monitor.running());
  bq::BoundedQueue<int, bq::DropOldest> queue(2);
  monitor.watch("q", queue);
  for (int i = 0; i < 5; ++i) queue.push(i);
  monitor.sample_now();
  const auto events = log.take();  // Delivered before sample_now returned.
  REQUIRE(kinds(events) == std::vector{Kind::utilization_high, Kind::drops});
  CHECK(events[1].dropped.oldest == 3);
  const auto threads = log.threads();
  REQUIRE(threads.size() == 2);
  CHECK(threads[0] != std::this_thread::get_id());
  CHECK(threads[1] == threads[0]);
}

TEST_CASE("monitor samples on its own every interval", "[monitor][thread][timing]") {
  EventLog log;
  bq::MonitorOptions options;
  options.interval = 5ms;
  bq::QueueMonitor monitor(log.sink(), options);
  bq::BoundedQueue<int, bq::DropNewest> queue(1);
  monitor.watch("q", queue);
  queue.push(1);
  queue.push(2);
  CHECK(log.wait_for(Kind::drops));
}

TEST_CASE("monitor stops promptly, not after its interval", "[monitor][thread][timing]") {
  EventLog log;
  bq::MonitorOptions options;
  options.interval = std::chrono::hours(1);
  const auto start = std::chrono::steady_clock::now();
  {
    bq::QueueMonitor monitor(log.sink(), options);
    FakeQueue queue;
    monitor.watch("q", queue);
    monitor.sample_now();  // The thread is up and waiting on its hour-long interval.
    monitor.stop();
    CHECK_FALSE(monitor.running());
    monitor.stop();  // Idempotent.
  }
  { bq::QueueMonitor destroyed_at_once(log.sink(), options); }
  // Generous: an hour-long wait that is not interrupted would fail this; a loaded machine won't.
  CHECK(std::chrono::steady_clock::now() - start < 30s);
}

TEST_CASE("monitor samples on the caller after stop()", "[monitor][thread]") {
  EventLog log;
  bq::MonitorOptions options;
  options.interval = std::chrono::hours(1);
  bq::QueueMonitor monitor(log.sink(), options);
  FakeQueue queue;
  monitor.watch("q", queue);
  monitor.stop();
  queue.current.dropped_oldest = 1;
  monitor.sample_now();
  CHECK(kinds(log.take()) == std::vector{Kind::drops});
  CHECK(log.threads() == std::vector{std::this_thread::get_id()});
}

TEST_CASE("monitor's sink may watch, unwatch and stop, but not call sample_now",
          "[monitor][thread]") {
  FakeQueue first;
  FakeQueue second;
  std::atomic<bool> sample_now_refused{false};
  std::vector<std::string> seen;
  bq::MonitorOptions options;
  options.interval = std::chrono::hours(1);
  bq::QueueMonitor* self = nullptr;
  bq::QueueMonitor monitor(
      [&](const bq::MonitorEvent& event) {
        seen.push_back(event.queue);
        try {
          self->sample_now();
        } catch (const std::logic_error&) {
          sample_now_refused = true;
        }
        self->unwatch(event.queue);
        if (event.queue == "first") self->watch("second", second);
        if (event.queue == "second") self->stop();
      },
      options);
  self = &monitor;
  monitor.watch("first", first);
  first.current.dropped_oldest = 1;
  monitor.sample_now();
  CHECK(sample_now_refused);
  CHECK(monitor.watched() == std::vector<std::string>{"second"});
  second.current.dropped_oldest = 1;
  monitor.sample_now();
  CHECK(seen == std::vector<std::string>{"first", "second"});
  CHECK(monitor.watched().empty());
  // The sink stopped the monitor; later samples run here and find nothing to do.
  monitor.sample_now();
  CHECK_FALSE(monitor.running());
}

TEST_CASE("monitor survives queues being added and removed while it runs",
          "[monitor][thread][stress]") {
  std::atomic<std::uint64_t> events{0};
  bq::MonitorOptions options;
  options.interval = 1ms;
  options.report_high_watermark = true;
  bq::QueueMonitor monitor([&](const bq::MonitorEvent&) { ++events; }, options);

  std::atomic<int> failures{0};  // Catch2 assertions are not thread-safe.
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&monitor, &failures, t] {
      for (int round = 0; round < 200; ++round) {
        bq::BoundedQueue<int, bq::DropOldest> queue(4);
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(round);
        monitor.watch(name, queue);
        for (int i = 0; i < 10; ++i) queue.push(i);
        if (round % 10 == 0) monitor.sample_now();
        if (!monitor.unwatch(name)) ++failures;  // Before `queue` is destroyed.
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK(monitor.watched().empty());
  CHECK(events.load() > 0);  // The sample_now() calls alone guarantee some.
  CHECK(monitor.sink_errors() == 0);
}

TEST_CASE("monitor snapshot reads every queue without resetting, ready for export", "[monitor]") {
  EventLog log;
  ManualClock clock;
  bq::QueueMonitor monitor(log.sink(), clock.options());
  bq::BoundedQueue<int, bq::DropNewest> queue(4);
  monitor.watch("ingest", queue);
  queue.push(1);
  queue.push(2);
  (void)queue.try_pop();
  const auto snapshot = monitor.snapshot();
  REQUIRE(snapshot.size() == 1);
  CHECK(snapshot[0].name == "ingest");
  CHECK(snapshot[0].metrics.high_watermark == 2);
  CHECK(queue.metrics().high_watermark == 2);  // Not reset by snapshot().

  std::ostringstream out;
  bq::write_prometheus(out, monitor.snapshot());
  CHECK_THAT(out.str(), Catch::Contains("bq_high_watermark{queue=\"ingest\"} 2\n"));
  CHECK(log.take().empty());
}
