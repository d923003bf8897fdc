// Tests for check_health / metrics_delta in <bq/health.hpp>.
#include <bq/health.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <string>

namespace {

bq::QueueMetrics with_size(std::size_t size, std::size_t capacity = 100) {
  bq::QueueMetrics metrics;
  metrics.capacity = capacity;
  metrics.size = size;
  metrics.high_watermark = size;
  metrics.pushed = size;
  return metrics;
}

}  // namespace

static_assert(bq::HealthStatus::ok < bq::HealthStatus::warning &&
                  bq::HealthStatus::warning < bq::HealthStatus::critical,
              "statuses are ordered by severity");
static_assert(noexcept(bq::metrics_delta(bq::QueueMetrics{}, bq::QueueMetrics{})));

TEST_CASE("check_health reports ok with no reasons for a quiet queue", "[health]") {
  const auto report = bq::check_health(with_size(10));
  CHECK(report.status == bq::HealthStatus::ok);
  CHECK(report.ok());
  CHECK(report.reasons.empty());
  CHECK(bq::check_health(bq::QueueMetrics{}).ok());  // Default snapshot: capacity 0.
}

TEST_CASE("check_health warns at the warning utilization and is critical at the critical one",
          "[health]") {
  CHECK(bq::check_health(with_size(79)).status == bq::HealthStatus::ok);

  const auto warning = bq::check_health(with_size(80));
  CHECK(warning.status == bq::HealthStatus::warning);
  REQUIRE(warning.reasons.size() == 1);
  CHECK(warning.reasons[0] ==
        "utilization 80% (80 of 100) is at or above the warning threshold 80%");

  CHECK(bq::check_health(with_size(94)).status == bq::HealthStatus::warning);
  const auto critical = bq::check_health(with_size(95));
  CHECK(critical.status == bq::HealthStatus::critical);
  REQUIRE(critical.reasons.size() == 1);
  CHECK_THAT(critical.reasons[0], Catch::Contains("critical threshold 95%"));
}

TEST_CASE("check_health judges evicted items, which are lost, against the items offered",
          "[health]") {
  auto metrics = with_size(0);
  metrics.pushed = 1000;
  metrics.popped = 990;
  metrics.dropped_oldest = 10;  // 10 of 1000 offered: exactly the critical ratio, not above.
  auto report = bq::check_health(metrics);
  CHECK(report.status == bq::HealthStatus::warning);
  REQUIRE(report.reasons.size() == 1);
  CHECK(report.reasons[0] ==
        "evicted 10 of 1000 offered items (1%) to make room for newer ones (lost), above the "
        "warning threshold 0%");

  metrics.dropped_oldest = 11;
  report = bq::check_health(metrics);
  CHECK(report.status == bq::HealthStatus::critical);
  CHECK_THAT(report.reasons[0],
             Catch::StartsWith("evicted 11 of 1000") && Catch::EndsWith("critical threshold 1%"));

  bq::HealthThresholds lenient;
  lenient.warn_loss_ratio = 0.05;
  lenient.critical_loss_ratio = 0.5;
  CHECK(bq::check_health(metrics, lenient).ok());
}

TEST_CASE(
    "check_health reports items refused because full apart from lost ones, as returned "
    "to the caller",
    "[health]") {
  auto metrics = with_size(0);
  metrics.pushed = 1000;
  metrics.dropped_newest = 6;
  metrics.timed_out = 5;  // 11 of 1011 offered: above the critical 1%.
  auto report = bq::check_health(metrics);
  CHECK(report.status == bq::HealthStatus::critical);
  REQUIRE(report.reasons.size() == 1);
  CHECK(report.reasons[0] ==
        "refused 11 of 1011 offered items (1.088%) because the queue was full (6 dropped_newest, "
        "5 timed_out; returned to the caller), above the critical threshold 1%");

  // Refusals have their own thresholds: lenient loss thresholds do not excuse them.
  bq::HealthThresholds lenient_loss;
  lenient_loss.critical_loss_ratio = 0.5;
  CHECK(bq::check_health(metrics, lenient_loss).status == bq::HealthStatus::critical);
  bq::HealthThresholds lenient_refusal;
  lenient_refusal.warn_refusal_ratio = 0.05;
  lenient_refusal.critical_refusal_ratio = 0.5;
  CHECK(bq::check_health(metrics, lenient_refusal).ok());

  // Both at once: one finding each, evictions first.
  metrics.dropped_oldest = 1;
  report = bq::check_health(metrics, lenient_loss);
  REQUIRE(report.reasons.size() == 2);
  CHECK_THAT(report.reasons[0], Catch::StartsWith("refused 11 of 1011"));  // the critical one
  CHECK_THAT(report.reasons[1], Catch::StartsWith("evicted 1 of 1011"));
}

TEST_CASE("check_health does not count pushes refused after close", "[health]") {
  auto metrics = with_size(0);
  metrics.rejected_closed = 500;
  CHECK(bq::check_health(metrics).ok());
}

TEST_CASE("check_health does not count items discarded on purpose", "[health][discard]") {
  auto metrics = with_size(0);
  metrics.pushed = 1000;
  metrics.discarded = 900;
  CHECK(bq::check_health(metrics).ok());
}

TEST_CASE("metrics_delta subtracts the discarded count too", "[health][discard]") {
  bq::QueueMetrics before{};
  before.discarded = 5;
  bq::QueueMetrics now{};
  now.discarded = 12;
  CHECK(bq::metrics_delta(now, before).discarded == 7);
  CHECK(bq::metrics_delta(before, now).discarded == 0);
}

TEST_CASE("check_health lists critical reasons before warnings", "[health]") {
  auto metrics = with_size(99);
  metrics.pushed = 1000;
  metrics.dropped_newest = 1;  // 1 of 1001: a warning.
  const auto report = bq::check_health(metrics);
  CHECK(report.status == bq::HealthStatus::critical);
  REQUIRE(report.reasons.size() == 2);
  CHECK_THAT(report.reasons[0], Catch::StartsWith("utilization 99%"));
  CHECK_THAT(report.reasons[1], Catch::StartsWith("refused 1 of 1001"));
}

TEST_CASE("check_health never divides by zero on a torn snapshot", "[health]") {
  bq::QueueMetrics metrics;
  metrics.capacity = 4;
  metrics.dropped_oldest = 3;  // Evictions seen, their pushes not.
  const auto report = bq::check_health(metrics);
  CHECK(report.status == bq::HealthStatus::critical);
  CHECK_THAT(report.reasons[0], Catch::StartsWith("evicted 3 of 3 offered items (100%)"));
}

TEST_CASE("HealthThresholds::from takes the warning utilization from a config", "[health]") {
  bq::QueueConfig config;
  config.warn_utilization = 0.5;
  auto thresholds = bq::HealthThresholds::from(config);
  CHECK(thresholds.warn_utilization == 0.5);
  CHECK(thresholds.critical_utilization == 0.95);
  CHECK(bq::check_health(with_size(50), thresholds).status == bq::HealthStatus::warning);

  config.warn_utilization = 0.99;
  thresholds = bq::HealthThresholds::from(config);
  CHECK(thresholds.critical_utilization == 0.99);
}

TEST_CASE("check_health rejects a threshold that is negative or not a number, naming it",
          "[health][config]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto error_of = [](const bq::HealthThresholds& thresholds) {
    try {
      bq::validate(thresholds);
    } catch (const bq::ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  bq::HealthThresholds thresholds;
  thresholds.critical_loss_ratio = -0.5;
  CHECK(error_of(thresholds) ==
        "bq: health threshold critical_loss_ratio -0.5 is invalid; it must be a number >= 0 (one "
        "above its largest possible value never fires)");
  CHECK_THROWS_AS(bq::check_health(with_size(1), thresholds), bq::ConfigError);
  // Each field by name, NaN or negative.
  struct BadField {
    double bq::HealthThresholds::*field;
    double value;
    const char* message_part;
  };
  const BadField bad_fields[] = {
      {&bq::HealthThresholds::warn_utilization, nan, "warn_utilization nan is invalid"},
      {&bq::HealthThresholds::critical_utilization, -1.0, "critical_utilization -1 is invalid"},
      {&bq::HealthThresholds::warn_loss_ratio, nan, "warn_loss_ratio nan is invalid"},
      {&bq::HealthThresholds::warn_refusal_ratio, -0.01, "warn_refusal_ratio -0.01 is invalid"},
      {&bq::HealthThresholds::critical_refusal_ratio, nan, "critical_refusal_ratio nan is invalid"},
  };
  for (const BadField& bad : bad_fields) {
    thresholds = {};
    thresholds.*bad.field = bad.value;
    CHECK_THAT(error_of(thresholds), Catch::Contains(bad.message_part));
  }

  // Zero and values above the largest possible one are allowed (any loss; never).
  thresholds = {};
  thresholds.warn_utilization = 1.5;
  thresholds.critical_utilization = 2.0;
  thresholds.critical_loss_ratio = 0.0;
  CHECK(error_of(thresholds) == "no error");
  CHECK(bq::check_health(with_size(100), thresholds).status == bq::HealthStatus::ok);
}

TEST_CASE("metrics_delta subtracts counters and keeps the gauges of the later snapshot",
          "[health]") {
  bq::QueueMetrics before{10, 5, 9, 100, 95, 3, 2, 1, 0};
  bq::QueueMetrics now{10, 2, 7, 150, 148, 4, 2, 5, 6};
  const auto delta = bq::metrics_delta(now, before);
  CHECK(delta == bq::QueueMetrics{10, 2, 7, 50, 53, 1, 0, 4, 6});
  // A counter that went down (another queue, a restart) counts as no increase.
  CHECK(bq::metrics_delta(before, now).pushed == 0);
  // A window with losses is judged on the window alone.
  CHECK(bq::check_health(delta).status == bq::HealthStatus::critical);
  CHECK(bq::check_health(bq::metrics_delta(now, now)).ok());
}

TEST_CASE("to_string names every health status", "[health]") {
  CHECK(bq::to_string(bq::HealthStatus::ok) == "ok");
  CHECK(bq::to_string(bq::HealthStatus::warning) == "warning");
  CHECK(bq::to_string(bq::HealthStatus::critical) == "critical");
}
