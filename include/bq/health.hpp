// Health checks for services that run their own health endpoint.
//
// check_health() is a pure function from a QueueMetrics snapshot and a set of
// thresholds to ok / warning / critical, with one readable reason per finding.
// It looks at two things: how full the queue is now (size / capacity) and what
// fraction of the items offered to it were lost (evicted, refused or timed
// out). The counters in a snapshot run since the queue was built, so a queue
// that once lost items stays "lossy" forever; to judge a recent window, pass
// metrics_delta(now, before) of two snapshots instead:
//
//   auto now = queue.metrics();
//   auto report = bq::check_health(bq::metrics_delta(now, last_check), thresholds);
//   last_check = now;
//
// Pushes refused because the queue was closed are not counted against health:
// closing is how a queue shuts down. Nor are items discarded by
// close_and_discard() or clear(): the owner removed them on purpose. Both are
// in metrics_delta(), for callers that judge them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics.hpp"
#include "queue_config.hpp"

namespace bq {

/// How healthy a queue is; the order is the order of severity.
enum class HealthStatus { ok, warning, critical };

/// Returns "ok", "warning" or "critical".
[[nodiscard]] constexpr std::string_view to_string(HealthStatus status) noexcept {
  switch (status) {
    case HealthStatus::ok: return "ok";
    case HealthStatus::warning: return "warning";
    case HealthStatus::critical: return "critical";
  }
  return "unknown";
}

/// Where check_health() draws its lines. A check whose threshold is above its
/// largest possible value (e.g. a utilization above 1) never fires.
struct HealthThresholds {
  /// size / capacity at or above this is a warning (QueueConfig::warn_utilization).
  double warn_utilization = 0.8;
  /// size / capacity at or above this is critical.
  double critical_utilization = 0.95;
  /// lost / offered items above this is a warning; 0 means any loss warns.
  double warn_loss_ratio = 0.0;
  /// lost / offered items above this is critical.
  double critical_loss_ratio = 0.01;

  /// Returns the defaults with warn_utilization taken from `config`
  /// (critical_utilization raised to it if it was lower).
  [[nodiscard]] static HealthThresholds from(const QueueConfig& config) noexcept {
    HealthThresholds thresholds;
    thresholds.warn_utilization = config.warn_utilization;
    if (thresholds.critical_utilization < config.warn_utilization) {
      thresholds.critical_utilization = config.warn_utilization;
    }
    return thresholds;
  }
};

/// The result of check_health(): the worst status found and why.
struct HealthReport {
  HealthStatus status = HealthStatus::ok;
  /// One sentence per finding, most severe first; empty when the status is ok.
  std::vector<std::string> reasons;

  /// Returns true if the status is ok.
  [[nodiscard]] bool ok() const noexcept { return status == HealthStatus::ok; }
};

/// Returns `now` with every counter replaced by its increase since `before`
/// (0 if it went down, e.g. `before` is from another queue); capacity, size and
/// high watermark are taken from `now`.
[[nodiscard]] constexpr QueueMetrics metrics_delta(const QueueMetrics& now,
                                                   const QueueMetrics& before) noexcept {
  const auto since = [](std::uint64_t later, std::uint64_t earlier) {
    return later > earlier ? later - earlier : std::uint64_t{0};
  };
  QueueMetrics delta = now;
  delta.pushed = since(now.pushed, before.pushed);
  delta.popped = since(now.popped, before.popped);
  delta.dropped_oldest = since(now.dropped_oldest, before.dropped_oldest);
  delta.dropped_newest = since(now.dropped_newest, before.dropped_newest);
  delta.timed_out = since(now.timed_out, before.timed_out);
  delta.rejected_closed = since(now.rejected_closed, before.rejected_closed);
  delta.discarded = since(now.discarded, before.discarded);
  return delta;
}

/// Returns the number of items offered to the queue: accepted pushes plus
/// pushes refused because it was full (`pushed + dropped_newest + timed_out`).
[[nodiscard]] constexpr std::uint64_t offered(const QueueMetrics& metrics) noexcept {
  return metrics.pushed + metrics.dropped_newest + metrics.timed_out;
}

namespace detail {

[[nodiscard]] inline std::string health_percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g%%", 100.0 * fraction);
  return text;
}

}  // namespace detail

/// Returns the health of a queue whose snapshot is `metrics`: critical if any
/// critical threshold is crossed, else warning if any warning threshold is,
/// else ok. Pure: same input, same report; safe from any thread.
[[nodiscard]] inline HealthReport check_health(const QueueMetrics& metrics,
                                               const HealthThresholds& thresholds = {}) {
  HealthReport report;
  std::vector<std::string> warnings;
  const auto find = [&](HealthStatus status, std::string reason) {
    if (status == HealthStatus::critical) {
      report.reasons.push_back(std::move(reason));
    } else {
      warnings.push_back(std::move(reason));
    }
    if (status > report.status) report.status = status;
  };

  if (metrics.capacity > 0) {
    const double utilization =
        static_cast<double>(metrics.size) / static_cast<double>(metrics.capacity);
    const bool critical = utilization >= thresholds.critical_utilization;
    if (critical || utilization >= thresholds.warn_utilization) {
      const double limit = critical ? thresholds.critical_utilization : thresholds.warn_utilization;
      find(critical ? HealthStatus::critical : HealthStatus::warning,
           "utilization " + detail::health_percent(utilization) + " (" +
               std::to_string(metrics.size) + " of " + std::to_string(metrics.capacity) +
               ") is at or above the " + (critical ? "critical" : "warning") + " threshold " +
               detail::health_percent(limit));
    }
  }

  const std::uint64_t lost = metrics.dropped();
  if (lost > 0) {
    // A snapshot taken under load may read `dropped_oldest` after an eviction
    // whose push it missed: cap the ratio at 1 rather than divide by 0.
    const std::uint64_t total = offered(metrics) > lost ? offered(metrics) : lost;
    const double ratio = static_cast<double>(lost) / static_cast<double>(total);
    const bool critical = ratio > thresholds.critical_loss_ratio;
    if (critical || ratio > thresholds.warn_loss_ratio) {
      const double limit = critical ? thresholds.critical_loss_ratio : thresholds.warn_loss_ratio;
      find(critical ? HealthStatus::critical : HealthStatus::warning,
           "lost " + std::to_string(lost) + " of " + std::to_string(total) + " offered items (" +
               detail::health_percent(ratio) + ": " + std::to_string(metrics.dropped_oldest) +
               " oldest evicted, " + std::to_string(metrics.dropped_newest) + " newest dropped, " +
               std::to_string(metrics.timed_out) + " timed out), above the " +
               (critical ? "critical" : "warning") + " threshold " + detail::health_percent(limit));
    }
  }

  report.reasons.insert(report.reasons.end(), std::make_move_iterator(warnings.begin()),
                        std::make_move_iterator(warnings.end()));
  return report;
}

}  // namespace bq
