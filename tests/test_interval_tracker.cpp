// Tests for IntervalTracker in <bq/interval_tracker.hpp>: the monitor's per-queue
// judgement, driven here without a thread, a monitor or a clock.
#include <bq/interval_tracker.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Kind = bq::MonitorEventKind;

namespace {

using Steady = std::chrono::steady_clock::time_point;
using Wall = std::chrono::system_clock::time_point;

bq::QueueMetrics at(std::size_t size, std::size_t peak, std::size_t capacity = 100) {
  bq::QueueMetrics m;
  m.capacity = capacity;
  m.size = size;
  m.high_watermark = peak;
  return m;
}

// Feeds snapshots to a tracker, one interval of 1 s each, and returns each interval's events.
struct Driver {
  bq::IntervalTracker tracker;
  Steady now{};

  explicit Driver(bq::IntervalTracker::Options options, bq::QueueMetrics baseline = at(0, 0))
      : tracker("q", options, baseline, Steady{}) {}

  std::vector<bq::MonitorEvent> step(const bq::QueueMetrics& m) {
    now += 1s;
    std::vector<bq::MonitorEvent> events;
    // duration_cast: system_clock counts microseconds in libc++, nanoseconds in libstdc++.
    tracker.observe(
        m, now, Wall(std::chrono::duration_cast<Wall::duration>(now.time_since_epoch())), events);
    return events;
  }
};

std::vector<Kind> kinds(const std::vector<bq::MonitorEvent>& events) {
  std::vector<Kind> result;
  for (const auto& event : events) result.push_back(event.kind);
  return result;
}

}  // namespace

TEST_CASE("tracker reports one utilization_high per excursion and normal after the hysteresis",
          "[monitor][tracker]") {
  Driver d({.warn_utilization = 0.8, .hysteresis = 0.1});
  CHECK(d.step(at(79, 79)).empty());
  const auto high = d.step(at(10, 80));  // The peak counts, not the size at the sample.
  REQUIRE(kinds(high) == std::vector<Kind>{Kind::utilization_high});
  CHECK(high[0].peak == 80);
  CHECK(high[0].peak_utilization() == 0.8);
  CHECK(high[0].threshold == 0.8);
  CHECK(high[0].queue == "q");
  CHECK(high[0].period == 1s);
  CHECK(d.tracker.in_excursion());

  CHECK(d.step(at(95, 95)).empty());  // Still high: nothing more.
  CHECK(d.step(at(72, 72)).empty());  // Below 0.8 but not below 0.7.
  const auto normal = d.step(at(69, 69));
  REQUIRE(kinds(normal) == std::vector<Kind>{Kind::utilization_normal});
  CHECK(normal[0].excursion_peak == 95);
  CHECK(normal[0].excursion_duration == 3s);
  CHECK_FALSE(d.tracker.in_excursion());
}

TEST_CASE("tracker caps the hysteresis at half the threshold", "[monitor][tracker]") {
  Driver d({.warn_utilization = 0.2, .hysteresis = 0.5});
  REQUIRE(kinds(d.step(at(20, 20))) == std::vector<Kind>{Kind::utilization_high});
  CHECK(d.step(at(10, 10)).empty());  // 0.1 is not below 0.2 - min(0.5, 0.1).
  CHECK(kinds(d.step(at(9, 9))) == std::vector<Kind>{Kind::utilization_normal});
}

TEST_CASE("tracker without an exact peak uses the watermark only when it set a record",
          "[monitor][tracker]") {
  Driver d({.warn_utilization = 0.8, .exact_peak = false}, at(0, 90));
  // The watermark (90) is not new since the baseline: the size is the best lower bound.
  CHECK(d.step(at(30, 90)).empty());
  const auto high = d.step(at(30, 91));
  REQUIRE(kinds(high) == std::vector<Kind>{Kind::utilization_high});
  CHECK(high[0].peak == 91);
}

TEST_CASE("tracker reports the increase of each drop counter since the previous snapshot",
          "[monitor][tracker]") {
  bq::QueueMetrics baseline = at(0, 0);
  baseline.dropped_oldest = 100;  // Before tracking began: never reported.
  Driver d({}, baseline);
  bq::QueueMetrics m = baseline;
  CHECK(d.step(m).empty());
  m.dropped_oldest = 103;
  m.discarded = 1;
  m.dropped_newest = 2;
  m.timed_out = 4;
  m.rejected_closed = 5;
  const auto drops = d.step(m);
  REQUIRE(kinds(drops) == std::vector<Kind>{Kind::drops});
  CHECK(drops[0].dropped == bq::DropCounts{3, 2, 4, 5, 1});
  CHECK(drops[0].dropped.lost() == 4);      // evicted + discarded: gone
  CHECK(drops[0].dropped.refused() == 11);  // full, timed out, closed: the callers kept them
  CHECK(drops[0].metrics == m);             // totals since construction
  CHECK(d.step(m).empty());                 // no increase, no event
}

TEST_CASE("tracker appends utilization, drops and high_watermark events in that order",
          "[monitor][tracker]") {
  Driver d({.warn_utilization = 0.5, .report_high_watermark = true});
  bq::QueueMetrics m = at(60, 70);
  m.dropped_newest = 1;
  const auto events = d.step(m);
  CHECK(kinds(events) ==
        std::vector<Kind>{Kind::utilization_high, Kind::drops, Kind::high_watermark});
  CHECK(events[2].peak == 70);
  CHECK(kinds(d.step(m)) == std::vector<Kind>{Kind::high_watermark});
}

TEST_CASE("tracker rejects a threshold or hysteresis out of range, naming the queue",
          "[monitor][tracker][config]") {
  const auto make = [](double threshold, double hysteresis) {
    return bq::IntervalTracker("ingest", {.warn_utilization = threshold, .hysteresis = hysteresis},
                               bq::QueueMetrics{}, Steady{});
  };
  CHECK_THROWS_WITH(make(1.5, 0.1), Catch::StartsWith("bq: queue \"ingest\" warn_utilization 1.5 "
                                                      "is outside (0, 1]"));
  CHECK_THROWS_AS(make(0.0, 0.1), bq::ConfigError);
  CHECK_THROWS_WITH(make(0.8, -0.5), Catch::Contains("hysteresis -0.5 is outside [0, 1]"));
  CHECK_NOTHROW(make(1.0, 0.0));
}
