// Tests for the {fmt} integration in <bq/fmt.hpp>.
#include <bq/fmt.hpp>
#include <bq/monitor.hpp>  // fmt.hpp has the event types, not the monitor

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

namespace {

bq::QueueMetrics sample_metrics() {
  bq::QueueMetrics m;
  m.capacity = 1000;
  m.size = 12;
  m.high_watermark = 850;
  m.pushed = 100000;
  m.popped = 99648;
  m.dropped_oldest = 340;
  m.dropped_newest = 0;
  m.timed_out = 0;
  m.rejected_closed = 2;
  m.discarded = 9;
  return m;
}

bq::MonitorEvent event_of(bq::MonitorEventKind kind) {
  bq::MonitorEvent event;
  event.kind = kind;
  event.queue = "ingest";
  event.time = std::chrono::system_clock::time_point(1'700'000'000s + 123ms);
  event.period = 5s;
  event.metrics = sample_metrics();
  event.peak = 850;
  event.threshold = 0.8;
  return event;
}

// Returns what was written to `file` so far.
std::string contents_of(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

}  // namespace

TEST_CASE("fmt formats enums by name and honours string specs", "[fmt]") {
  CHECK(fmt::format("{}", bq::PushResult::replaced_oldest) == "replaced_oldest");
  CHECK(fmt::format("[{:>8}]", bq::PushResult::closed) == "[  closed]");
  CHECK(fmt::format("{:*<13}|", bq::OverflowPolicy::block) == "block********|");
  CHECK(fmt::format("{}", bq::OverflowPolicy::drop_newest) == "drop_newest");
  CHECK(fmt::format("{}", bq::MonitorEventKind::utilization_normal) == "utilization_normal");
  CHECK(fmt::format("{}", bq::HealthStatus::critical) == "critical");
}

TEST_CASE("fmt formats QueueMetrics as key=value pairs", "[fmt]") {
  CHECK(fmt::format("{}", sample_metrics()) ==
        "size=12 capacity=1000 utilization=1.2% high_watermark=850 pushed=100000 popped=99648 "
        "lost=349 refused=2 dropped_oldest=340 dropped_newest=0 timed_out=0 rejected_closed=2 "
        "discarded=9");
  CHECK_THROWS_AS(fmt::format(fmt::runtime("{:x}"), sample_metrics()), fmt::format_error);
}

TEST_CASE("fmt formats QueueConfig in the text form parse_config reads", "[fmt]") {
  bq::QueueConfig config;
  config.block_timeout = 250ms;
  const auto text = fmt::format("{}", config);
  CHECK(text == bq::to_string(config));
  CHECK(bq::parse_config(text) == config);
}

TEST_CASE("fmt formats each monitor event as one readable sentence", "[fmt]") {
  CHECK(fmt::format("{}", event_of(bq::MonitorEventKind::utilization_high)) ==
        "queue \"ingest\" utilization high: peak 850/1000 (85.0%) in the last 5s reached the 80% "
        "threshold; size now 12/1000 (1.2%)");

  auto normal = event_of(bq::MonitorEventKind::utilization_normal);
  normal.peak = 100;
  normal.period = 1500ms;
  normal.excursion_peak = 1000;
  normal.excursion_duration = 35s;
  CHECK(fmt::format("{}", normal) ==
        "queue \"ingest\" utilization back to normal: peak 100/1000 (10.0%) in the last 1.5s; the "
        "excursion lasted 35s and peaked at 1000/1000 (100.0%)");

  auto drops = event_of(bq::MonitorEventKind::drops);
  drops.dropped = {120, 3, 2, 1, 4};
  drops.period = 250ms;
  CHECK(fmt::format("{}", drops) ==
        "queue \"ingest\" in the last 250ms: lost 124 items (evicted 120, discarded 4), refused 6 "
        "and returned them to the caller (queue full 3, timed out 2, closed 1); totals: lost 349, "
        "refused 2, pushed 100000");

  CHECK(fmt::format("{}", event_of(bq::MonitorEventKind::high_watermark)) ==
        "queue \"ingest\" high watermark 850/1000 (85.0%) in the last 5s; size now 12/1000 (1.2%)");
}

TEST_CASE("fmt escapes quotes, backslashes and control characters in queue names", "[fmt]") {
  auto event = event_of(bq::MonitorEventKind::high_watermark);
  event.queue = "a\"b\\c\nd\x01";
  CHECK_THAT(fmt::format("{}", event), Catch::StartsWith(R"(queue "a\"b\\c\nd\x01" high)"));
}

TEST_CASE("fmt formats a health report with its reasons", "[fmt]") {
  CHECK(fmt::format("{}", bq::HealthReport{}) == "ok");
  const bq::HealthReport report{bq::HealthStatus::warning, {"one", "two"}};
  CHECK(fmt::format("{}", report) == "warning: one; two");
}

TEST_CASE("LogSink writes a UTC-timestamped line with a level per event", "[fmt]") {
  CHECK(bq::LogSink::format_line(event_of(bq::MonitorEventKind::drops)) ==
        "2023-11-14T22:13:20.123Z WARN bq: queue \"ingest\" in the last 5s: lost 0 items "
        "(evicted 0, discarded 0), refused 0 and returned them to the caller (queue full 0, "
        "timed out 0, closed 0); totals: lost 349, refused 2, pushed 100000\n");
  CHECK_THAT(bq::LogSink::format_line(event_of(bq::MonitorEventKind::utilization_high)),
             Catch::StartsWith("2023-11-14T22:13:20.123Z WARN bq: queue \"ingest\" utilization "
                               "high"));
  CHECK_THAT(bq::LogSink::format_line(event_of(bq::MonitorEventKind::utilization_normal)),
             Catch::StartsWith("2023-11-14T22:13:20.123Z INFO "));
  CHECK_THAT(bq::LogSink::format_line(event_of(bq::MonitorEventKind::high_watermark)),
             Catch::StartsWith("2023-11-14T22:13:20.123Z INFO "));
}

TEST_CASE("LogSink rejects a null FILE* when it is made, not at the first event", "[fmt]") {
  CHECK_THROWS_WITH(
      bq::LogSink{nullptr},
      "bq: LogSink was given a null FILE*; it needs an open stream (default: stderr)");
}

TEST_CASE("LogSink logs a monitor's events to a FILE", "[fmt][monitor]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  bq::MonitorOptions options;
  options.start_thread = false;
  options.wall_clock = [] { return std::chrono::system_clock::time_point(86'400s); };
  bq::QueueMonitor monitor(bq::LogSink{file}, options);
  bq::QueueMetrics metrics;
  metrics.capacity = 10;
  monitor.watch("replies", [&] { return metrics; });
  metrics.dropped_newest = 4;
  metrics.pushed = 10;
  monitor.sample_now();
  const auto text = contents_of(file);
  std::fclose(file);
  CHECK_THAT(text, Catch::StartsWith("1970-01-02T00:00:00.000Z WARN bq: queue \"replies\" in "
                                     "the last 0ms: lost 0 items (evicted 0, discarded 0), "
                                     "refused 4 and returned them to the caller (queue full 4,"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("LogSink reports a failed write, and the monitor contains it", "[fmt][monitor]") {
  std::FILE* read_only = std::fopen("/dev/null", "r");
  REQUIRE(read_only != nullptr);
  const bq::LogSink failing(read_only);
  CHECK_THROWS_AS(failing(event_of(bq::MonitorEventKind::drops)), std::system_error);

  std::string error;
  bq::MonitorOptions options;
  options.start_thread = false;
  options.on_error = [&](std::string_view message) { error = message; };
  bq::QueueMonitor monitor(failing, options);
  bq::QueueMetrics metrics;
  monitor.watch("q", [&] { return metrics; });
  metrics.timed_out = 1;
  monitor.sample_now();
  std::fclose(read_only);
  CHECK(monitor.sink_errors() == 1);
  CHECK_THAT(error, Catch::Contains("LogSink failed to write"));
}
