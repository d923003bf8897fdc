// MonitorEvent: what a QueueMonitor (or an IntervalTracker) reports about one
// queue, and the per-reason DropCounts it carries. Plain data with no threads, so
// a formatter or a sink can include this header without <bq/monitor.hpp>.
//
// The words (evicted, lost, refused, dropped, utilization) are defined once, in
// the glossary at the top of <bq/metrics.hpp>.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "metrics.hpp"

namespace bq {

/// What a MonitorEvent reports.
enum class MonitorEventKind {
  utilization_high,    ///< The interval's peak reached warn_utilization (excursion starts).
  utilization_normal,  ///< A whole interval stayed below warn_utilization - hysteresis.
  drops,               ///< Items were lost (evicted, discarded) or refused since the last sample.
  high_watermark,      ///< The interval's peak (only with report_high_watermark).
};

/// Returns "utilization_high", "utilization_normal", "drops" or "high_watermark".
[[nodiscard]] constexpr std::string_view to_string(MonitorEventKind kind) noexcept {
  switch (kind) {
    case MonitorEventKind::utilization_high: return "utilization_high";
    case MonitorEventKind::utilization_normal: return "utilization_normal";
    case MonitorEventKind::drops: return "drops";
    case MonitorEventKind::high_watermark: return "high_watermark";
  }
  return "unknown";
}

/// Items a queue did not deliver, by reason, over some period. Lost items are
/// gone (`oldest`, `discarded`); refused ones went back to the caller (`newest`,
/// `timed_out`, `rejected_closed`).
struct DropCounts {
  std::uint64_t oldest = 0;     ///< Lost: evicted to make room (QueueMetrics::dropped_oldest).
  std::uint64_t newest = 0;     ///< Refused because full (dropped_newest).
  std::uint64_t timed_out = 0;  ///< Refused after waiting for room in vain (timed_out).
  std::uint64_t rejected_closed = 0;  ///< Refused because closed (rejected_closed).
  std::uint64_t discarded = 0;        ///< Lost: removed by close_and_discard() or clear().

  /// Returns the counts of a metrics_delta() (or of totals since construction).
  [[nodiscard]] static constexpr DropCounts from(const QueueMetrics& m) noexcept {
    return {m.dropped_oldest, m.dropped_newest, m.timed_out, m.rejected_closed, m.discarded};
  }

  /// Returns `oldest + discarded`: the items that are gone.
  [[nodiscard]] constexpr std::uint64_t lost() const noexcept { return oldest + discarded; }
  /// Returns `newest + timed_out + rejected_closed`: the items returned to the caller.
  [[nodiscard]] constexpr std::uint64_t refused() const noexcept {
    return newest + timed_out + rejected_closed;
  }
  /// Returns `oldest + newest + timed_out` (QueueMetrics::dropped(): evicted and refused
  /// because full, together). Kept for compatibility; prefer lost() and refused().
  [[nodiscard]] constexpr std::uint64_t dropped() const noexcept {
    return oldest + newest + timed_out;
  }
  /// Returns true if any count is non-zero.
  [[nodiscard]] constexpr bool any() const noexcept { return lost() + refused() > 0; }

  friend constexpr bool operator==(const DropCounts&, const DropCounts&) = default;
};

/// One report from a QueueMonitor about one queue.
struct MonitorEvent {
  MonitorEventKind kind = MonitorEventKind::drops;
  /// The name the queue was watched under.
  std::string queue;
  /// Wall-clock time of the sample (MonitorOptions::wall_clock).
  std::chrono::system_clock::time_point time;
  /// Time since this queue's previous sample, or since watch() for the first.
  std::chrono::milliseconds period{0};
  /// The snapshot taken at this sample: size now, totals since construction.
  QueueMetrics metrics;
  /// The largest size during `period` (see "The peak of an interval" in monitor.hpp).
  std::size_t peak = 0;
  /// The utilization (fraction of capacity, 0-1) at which this queue warns.
  double threshold = 0.0;
  /// drops: what was lost or refused during `period`; zero for other kinds.
  DropCounts dropped;
  /// utilization_normal: the largest size during the whole excursion, and how
  /// long it lasted (from the sample that started it); zero for other kinds.
  std::size_t excursion_peak = 0;
  std::chrono::milliseconds excursion_duration{0};

  /// Returns `peak / metrics.capacity`, from 0 to 1 (0 for capacity 0).
  [[nodiscard]] double peak_utilization() const noexcept {
    return detail::fraction_of(peak, metrics.capacity);
  }
};

/// Receives the monitor's events; see QueueMonitor for the threading rules.
using MonitorSink = std::function<void(const MonitorEvent&)>;

}  // namespace bq
