// Health checks for services that run their own health endpoint.
//
// check_health() is a pure function from a QueueMetrics snapshot and a set of
// thresholds to ok / warning / critical, with one readable reason per finding.
// It looks at three things: how full the queue is now (utilization, size /
// capacity), what fraction of the items offered to it were evicted (lost: the
// oldest pushed out by a newer one), and what fraction were refused because it
// was full (dropped_newest or timed_out: returned to the caller, who may have
// lost them in turn). The counters in a snapshot run since the queue was built,
// so a queue that once evicted items stays "lossy" forever; to judge a recent
// window, pass metrics_delta(now, before) of two snapshots instead:
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

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/text.hpp"
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
  /// evicted / offered items above this is a warning; 0 means any eviction warns.
  double warn_loss_ratio = 0.0;
  /// evicted / offered items above this is critical.
  double critical_loss_ratio = 0.01;
  /// refused-because-full / offered items above this is a warning; 0 means any refusal warns.
  double warn_refusal_ratio = 0.0;
  /// refused-because-full / offered items above this is critical.
  double critical_refusal_ratio = 0.01;

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

/// Throws ConfigError naming the first threshold of `thresholds` that is negative
/// or not a number. (Zero and values above the largest possible one are fine.)
/// check_health() calls it.
inline void validate(const HealthThresholds& thresholds) {
  const std::pair<std::string_view, double> fields[] = {
      {"warn_utilization", thresholds.warn_utilization},
      {"critical_utilization", thresholds.critical_utilization},
      {"warn_loss_ratio", thresholds.warn_loss_ratio},
      {"critical_loss_ratio", thresholds.critical_loss_ratio},
      {"warn_refusal_ratio", thresholds.warn_refusal_ratio},
      {"critical_refusal_ratio", thresholds.critical_refusal_ratio},
  };
  for (const auto& [name, value] : fields) {
    if (!(value >= 0.0)) {  // also NaN
      detail::throw_or_abort(ConfigError(
          "bq: health threshold " + std::string(name) + " " + detail::shortest_text(value) +
          " is invalid; it must be a number >= 0 (one above its largest possible value never "
          "fires)"));
    }
  }
}

/// The result of check_health(): the worst status found and why.
struct HealthReport {
  HealthStatus status = HealthStatus::ok;
  /// One sentence per finding, most severe first; empty when the status is ok.
  std::vector<std::string> reasons;

  /// Returns true if the status is ok.
  [[nodiscard]] bool ok() const noexcept { return status == HealthStatus::ok; }
};

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
/// else ok. Pure: same input, same report; safe from any thread. Throws
/// ConfigError if a threshold is negative or not a number (see validate()).
[[nodiscard]] inline HealthReport check_health(const QueueMetrics& metrics,
                                               const HealthThresholds& thresholds = {}) {
  validate(thresholds);
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
    const double utilization = metrics.utilization();
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

  // A snapshot taken under load may read `dropped_oldest` after an eviction whose
  // push it missed: the denominator is at least the count, so a ratio is at most 1.
  const std::uint64_t evicted = metrics.evicted();
  const std::uint64_t refused_full = metrics.dropped_newest + metrics.timed_out;
  const std::uint64_t total = std::max({offered(metrics), evicted, refused_full});
  const auto judge = [&](std::uint64_t count, double warn, double critical_ratio,
                         std::string_view verb, const std::string& why) {
    if (count == 0) return;
    const double ratio = static_cast<double>(count) / static_cast<double>(total);
    const bool critical = ratio > critical_ratio;
    if (critical || ratio > warn) {
      find(critical ? HealthStatus::critical : HealthStatus::warning,
           std::string(verb) + " " + std::to_string(count) + " of " + std::to_string(total) +
               " offered items (" + detail::health_percent(ratio) + ") " + why + ", above the " +
               (critical ? "critical" : "warning") + " threshold " +
               detail::health_percent(critical ? critical_ratio : warn));
    }
  };
  judge(evicted, thresholds.warn_loss_ratio, thresholds.critical_loss_ratio, "evicted",
        "to make room for newer ones (lost)");
  judge(refused_full, thresholds.warn_refusal_ratio, thresholds.critical_refusal_ratio, "refused",
        "because the queue was full (" + std::to_string(metrics.dropped_newest) +
            " dropped_newest, " + std::to_string(metrics.timed_out) +
            " timed_out; returned to the caller)");

  report.reasons.insert(report.reasons.end(), std::make_move_iterator(warnings.begin()),
                        std::make_move_iterator(warnings.end()));
  return report;
}

}  // namespace bq
