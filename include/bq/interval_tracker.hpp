// IntervalTracker: what a QueueMonitor decides about one queue, without threads,
// locks or clocks of its own. Give it one QueueMetrics snapshot per interval and
// the time the snapshot was taken; it appends the events that interval produced:
//
//   utilization_high    the interval's peak reached the threshold (once per excursion);
//   utilization_normal  a whole interval peaked below threshold - hysteresis;
//   drops               the counters of lost or refused items grew (one event, the
//                       increases by reason, never one per item);
//   high_watermark      (opt-in) the interval's peak, every interval.
//
// The peak of an interval is the snapshot's high_watermark when the caller resets
// the queue's watermark after each snapshot (Options::exact_peak, what the monitor
// does by default); otherwise it is the watermark if it set a new record, else the
// size at the snapshot (a lower bound).
//
// QueueMonitor uses one per watched queue; a service with its own scheduler can use
// it directly:
//
//   bq::IntervalTracker tracker("ingest", {.warn_utilization = 0.8}, queue.metrics(),
//                               std::chrono::steady_clock::now());
//   queue.reset_high_watermark();  // the first interval starts now
//   // ...every interval:
//   std::vector<bq::MonitorEvent> events;
//   tracker.observe(queue.metrics(), std::chrono::steady_clock::now(),
//                   std::chrono::system_clock::now(), events);
//   queue.reset_high_watermark();
//
// Not thread-safe: one thread at a time calls observe().
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/platform.hpp"
#include "detail/text.hpp"
#include "metrics.hpp"
#include "monitor_event.hpp"
#include "queue_config.hpp"

namespace bq {

namespace detail {

/// Throws ConfigError unless `value` is a warn_utilization in (0, 1]; `whose` says where
/// it came from ("monitor", "queue \"ingest\"").
inline void check_warn_utilization(double value, std::string_view whose) {
  if (!(value > 0.0 && value <= 1.0)) {
    detail::throw_or_abort(
        ConfigError("bq: " + std::string(whose) + " warn_utilization " + shortest_text(value) +
                    " is outside (0, 1]; it is a fraction of capacity above 0 and at most 1"));
  }
}

/// Throws ConfigError unless `value` is a hysteresis in [0, 1].
inline void check_hysteresis(double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    detail::throw_or_abort(ConfigError("bq: monitor hysteresis " + shortest_text(value) +
                                       " is outside [0, 1]; it is a fraction of capacity"));
  }
}

}  // namespace detail

/// Turns one queue's snapshots, one per interval, into monitor events.
class IntervalTracker {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  /// How the tracker judges a queue.
  struct Options {
    /// Utilization (fraction of capacity, 0-1) whose reaching starts an excursion; in (0, 1].
    double warn_utilization = QueueConfig{}.warn_utilization;
    /// An excursion ends after a whole interval below warn_utilization minus this
    /// (at most half of warn_utilization); in [0, 1].
    double hysteresis = 0.1;
    /// true: the caller resets the queue's high watermark after each snapshot, so a
    /// snapshot's high_watermark is the interval's peak.
    bool exact_peak = true;
    /// Also append a high_watermark event every interval.
    bool report_high_watermark = false;
  };

  /// Starts tracking the queue named `queue` from `baseline`, a snapshot taken at
  /// `start`: the first interval's drops are counted from it. Throws ConfigError for a
  /// warn_utilization outside (0, 1] or a hysteresis outside [0, 1].
  IntervalTracker(std::string queue, const Options& options, const QueueMetrics& baseline,
                  SteadyTime start)
      : queue_(std::move(queue)), options_(options), last_(baseline), last_time_(start) {
    detail::check_warn_utilization(options_.warn_utilization, "queue " + detail::quoted(queue_));
    detail::check_hysteresis(options_.hysteresis);
  }

  /// Ends the interval with snapshot `now`, taken at `steady_now` (periods and
  /// durations) and `wall_now` (event times), and appends its events to `events`, in
  /// the order utilization, drops, high_watermark.
  void observe(const QueueMetrics& now, SteadyTime steady_now, WallTime wall_now,
               std::vector<MonitorEvent>& events) {
    MonitorEvent base;
    base.queue = queue_;
    base.time = wall_now;
    base.period = std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - last_time_);
    base.metrics = now;
    base.threshold = options_.warn_utilization;
    const bool new_record = now.high_watermark > last_.high_watermark;
    base.peak =
        std::max(options_.exact_peak || new_record ? now.high_watermark : now.size, now.size);

    const double peak = base.peak_utilization();
    if (!high_ && peak >= options_.warn_utilization) {
      high_ = true;
      excursion_peak_ = base.peak;
      excursion_start_ = steady_now;
      events.push_back(base);
      events.back().kind = MonitorEventKind::utilization_high;
    } else if (high_) {
      excursion_peak_ = std::max(excursion_peak_, base.peak);
      if (peak < clear_level()) {
        high_ = false;
        events.push_back(base);
        events.back().kind = MonitorEventKind::utilization_normal;
        events.back().excursion_peak = excursion_peak_;
        events.back().excursion_duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - excursion_start_);
      }
    }

    const DropCounts dropped = DropCounts::from(metrics_delta(now, last_));
    if (dropped.any()) {
      events.push_back(base);
      events.back().kind = MonitorEventKind::drops;
      events.back().dropped = dropped;
    }

    if (options_.report_high_watermark) {
      events.push_back(std::move(base));
      events.back().kind = MonitorEventKind::high_watermark;
    }
    last_ = now;
    last_time_ = steady_now;
  }

  /// Returns the name of the tracked queue.
  [[nodiscard]] const std::string& queue() const noexcept { return queue_; }

  /// Returns true between a utilization_high event and the utilization_normal that ends it.
  [[nodiscard]] bool in_excursion() const noexcept { return high_; }

  /// Returns the options the tracker was built with.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  /// The utilization below which a whole interval ends an excursion.
  [[nodiscard]] double clear_level() const noexcept {
    return options_.warn_utilization -
           std::min(options_.hysteresis, options_.warn_utilization / 2.0);
  }

  std::string queue_;
  Options options_;
  QueueMetrics last_;     // The previous snapshot (or the baseline).
  SteadyTime last_time_;  // When it was taken.
  bool high_ = false;     // In a utilization excursion.
  std::size_t excursion_peak_ = 0;
  SteadyTime excursion_start_{};
};

}  // namespace bq
