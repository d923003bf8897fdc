// QueueMonitor: watches named queues from a background thread and reports what
// matters, in aggregate, to a sink.
//
// Every `interval` (QueueConfig::monitor_interval, 5 s by default) the monitor
// takes a QueueMetrics snapshot of each watched queue and calls the sink with
// at most one event of each kind per queue:
//   utilization_high    the queue's peak size during the interval reached its
//                       warn_utilization (0.8 of capacity by default). Once per
//                       excursion: nothing more while it stays high.
//   utilization_normal  the excursion is over: a whole interval peaked below
//                       warn_utilization - hysteresis (0.1 by default).
//   drops               items were lost (evicted, or discarded by
//                       close_and_discard() or clear()) or refused (returned to
//                       the caller: full, timed out, closed) since the previous
//                       sample: one event with the counts split by reason, plus
//                       the totals in `metrics`. Never one per item.
//   high_watermark      (opt-in, MonitorOptions::report_high_watermark) the peak
//                       size of the interval, for every queue, every interval.
//
// The peak of an interval. By default the monitor owns each BoundedQueue's high
// watermark: after each snapshot it calls reset_high_watermark(), so the next
// snapshot's high_watermark is the largest size since this one, and a burst
// that fills and drains the queue between two samples is still seen (up to the
// engine's sampling granularity for capacities above 64, see HighWatermark in
// detail/ring_storage.hpp).
// The price: the queue's own metrics().high_watermark then means "since the
// monitor's last sample" for everyone else too. Pass
// WatchOptions{.owns_high_watermark = false} to leave it alone; the monitor then
// knows the interval's peak only when it set a new record, and otherwise
// reports the size at the sample (a lower bound). One queue should be watched
// by at most one owning monitor.
//
// Threads. The sink is called only by the monitor thread (in manual mode, by
// the thread calling sample_now()), never concurrently with itself and never
// with an internal lock held, so it may call watch(), unwatch() and snapshot().
// An exception thrown by the sink is caught, counted (sink_errors()) and
// reported to MonitorOptions::on_error (stderr by default); the monitor goes on.
// watch() and unwatch() are safe from any thread at any time; once unwatch()
// returns, the monitor never touches that queue again (events it already
// built may still be delivered: they hold copies). stop() and the destructor
// wake the thread at once and return as soon as a sink call in progress ends.
//
// Tests and services with their own timer can drive the monitor by hand:
// MonitorOptions{.start_thread = false} and sample_now(). Event timestamps and
// periods come from injectable clocks.
//
// The pieces: the events are in monitor_event.hpp, what one queue's snapshots
// mean (excursions, drop counts) is decided by an IntervalTracker
// (interval_tracker.hpp, thread-free); this header adds the sampling thread, the
// watch list and the sink. The monitor validates its own settings
// (validate(const MonitorOptions&), and each queue's warn_utilization on
// watch()): a queue accepts a config whose monitor fields are out of range.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "detail/text.hpp"
#include "interval_tracker.hpp"
#include "metrics.hpp"
#include "monitor_event.hpp"
#include "queue_config.hpp"

namespace bq {

/// How a QueueMonitor runs. Every field has a default that works.
struct MonitorOptions {
  /// Time between samples; > 0. Default: QueueConfig's monitor_interval (5 s).
  std::chrono::milliseconds interval = QueueConfig{}.monitor_interval;
  /// utilization_normal needs a whole interval below warn_utilization minus
  /// this (at most half of warn_utilization); in [0, 1]. Default 0.1.
  double hysteresis = 0.1;
  /// Warning utilization for sources without a config() (custom samplers);
  /// a BoundedQueue's own config().warn_utilization is used for it. In (0, 1].
  double warn_utilization = QueueConfig{}.warn_utilization;
  /// Also emit a high_watermark event per queue per interval. Default off.
  bool report_high_watermark = false;
  /// Start the background thread. false: manual mode, call sample_now().
  bool start_thread = true;
  /// Called with a one-line message when the sink (or a custom sampler) throws.
  /// Default: written to stderr. Its own exceptions are swallowed.
  std::function<void(std::string_view message)> on_error;
  /// Event timestamps. Default: std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  /// Event periods and excursion durations (not the sampling schedule, which
  /// always runs on the real steady clock). Default: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> steady_clock;

  /// Returns the defaults with the interval and warn_utilization of `config`.
  [[nodiscard]] static MonitorOptions from(const QueueConfig& config) {
    MonitorOptions options;
    options.interval = config.monitor_interval;
    options.warn_utilization = config.warn_utilization;
    return options;
  }
};

/// Throws ConfigError if a field of `options` is out of range: an interval <= 0 or
/// above kMaxMonitorInterval, a hysteresis outside [0, 1] or a warn_utilization
/// outside (0, 1]. QueueMonitor calls
/// it; MonitorOptions::from(config) is how a QueueConfig's monitor fields are checked.
inline void validate(const MonitorOptions& options) {
  if (options.interval.count() <= 0) {
    throw ConfigError("bq: monitor interval " + std::to_string(options.interval.count()) +
                      "ms is invalid; it must be > 0ms");
  }
  if (options.interval > kMaxMonitorInterval) {
    throw ConfigError("bq: monitor interval " + std::to_string(options.interval.count()) +
                      "ms is too long; it must be at most " +
                      std::to_string(kMaxMonitorInterval.count()) + "ms (365 days)");
  }
  detail::check_hysteresis(options.hysteresis);
  detail::check_warn_utilization(options.warn_utilization, "monitor");
}

/// Per-queue settings for QueueMonitor::watch().
struct WatchOptions {
  /// Utilization at which this queue warns, in (0, 1]. Default: the queue's
  /// config().warn_utilization, else MonitorOptions::warn_utilization.
  std::optional<double> warn_utilization;
  /// Reset the queue's high watermark after each sample (see "The peak of an
  /// interval" above). Ignored for custom samplers, which cannot be reset.
  bool owns_high_watermark = true;
};

/// A queue the monitor can watch: a BoundedQueue of any T, policy and
/// concurrency, or anything else with the same two members.
template <class Queue>
concept MonitorableQueue = requires(Queue& queue) {
  { queue.metrics() } -> std::convertible_to<QueueMetrics>;
  queue.reset_high_watermark();
};

/// A queue's name and a snapshot of its metrics (QueueMonitor::snapshot()); a
/// vector of them can be passed straight to write_prometheus / write_json.
struct NamedMetrics {
  std::string name;
  QueueMetrics metrics;
};

/// Watches named queues and reports utilization excursions and drops to a sink.
/// Not copyable or movable (its thread refers to it).
class QueueMonitor {
 public:
  /// Starts monitoring (the thread, unless options.start_thread is false) with
  /// no queues. Throws ConfigError for an interval <= 0 or a hysteresis or
  /// warn_utilization out of range, std::invalid_argument for an empty sink.
  explicit QueueMonitor(MonitorSink sink, MonitorOptions options = {})
      : sink_(std::move(sink)), options_(std::move(options)) {
    if (!sink_) throw std::invalid_argument("bq: QueueMonitor needs a sink");
    validate(options_);
    if (!options_.wall_clock) options_.wall_clock = [] { return std::chrono::system_clock::now(); };
    if (!options_.steady_clock) {
      options_.steady_clock = [] { return std::chrono::steady_clock::now(); };
    }
    if (options_.start_thread) {
      running_ = true;
      // Last: every member the thread uses is initialized.
      thread_ = std::thread([this] { run(); });
    }
  }

  QueueMonitor(const QueueMonitor&) = delete;
  QueueMonitor& operator=(const QueueMonitor&) = delete;

  /// Stops the thread (see stop()).
  ~QueueMonitor() { stop(); }

  /// Starts watching `queue` under `name`; its counters at this moment are the
  /// baseline for the first report. The queue must outlive the watch: call
  /// unwatch() before destroying it. Thread-safe. Throws std::invalid_argument
  /// if `name` is already watched, ConfigError for a warn_utilization (the queue's
  /// config().warn_utilization, or options.warn_utilization) outside (0, 1].
  template <MonitorableQueue Queue>
  void watch(std::string name, Queue& queue, WatchOptions options = {}) {
    double threshold = options_.warn_utilization;
    if constexpr (requires { queue.config().warn_utilization; }) {
      threshold = queue.config().warn_utilization;
    }
    const bool owns = options.owns_high_watermark;
    add(
        std::move(name), options.warn_utilization.value_or(threshold), owns,
        [&queue, owns]() -> QueueMetrics {
          QueueMetrics metrics = queue.metrics();
          // A push between these two calls that raises the watermark and is
          // popped again before the reset is not seen: a window of two loads.
          if (owns) queue.reset_high_watermark();
          return metrics;
        },
        [&queue]() -> QueueMetrics { return queue.metrics(); });
  }

  /// Starts watching a custom source: `sampler` returns its metrics. It is
  /// called with the monitor's lock held (so it must not call the monitor),
  /// from the monitor thread and from watch() and snapshot(). If it throws
  /// while sampling, that queue's sample is skipped and reported like a sink
  /// error. Its high watermark is never reset (owns_high_watermark is ignored).
  void watch(std::string name, std::function<QueueMetrics()> sampler, WatchOptions options = {}) {
    if (!sampler) throw std::invalid_argument("bq: QueueMonitor::watch needs a sampler");
    add(std::move(name), options.warn_utilization.value_or(options_.warn_utilization), false,
        std::move(sampler), {});
  }

  /// Stops watching the queue named `name`; returns false if there is none.
  /// After it returns, the monitor no longer touches that queue. Thread-safe.
  bool unwatch(std::string_view name) {
    const std::lock_guard lock(mutex_);
    const auto it = find(name);
    if (it == watched_.end()) return false;
    watched_.erase(it);
    return true;
  }

  /// Returns the names of the watched queues, in the order they were added.
  [[nodiscard]] std::vector<std::string> watched() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& queue : watched_) names.push_back(queue.tracker.queue());
    return names;
  }

  /// Returns the current metrics of every watched queue, e.g. for
  /// write_prometheus(out, monitor.snapshot()). Resets nothing, reports nothing.
  [[nodiscard]] std::vector<NamedMetrics> snapshot() const {
    const std::lock_guard lock(mutex_);
    std::vector<NamedMetrics> result;
    for (const auto& queue : watched_) {
      // A custom sampler may throw: let it propagate to this caller.
      result.push_back({queue.tracker.queue(), queue.read_without_reset()});
    }
    return result;
  }

  /// Samples every queue now and delivers the events before returning: on the
  /// monitor thread while it runs (waiting for it), else on the calling thread.
  /// The interval schedule is not shifted. Throws std::logic_error if called
  /// from the sink.
  void sample_now() {
    if (delivering_thread_.load(std::memory_order_acquire) == std::this_thread::get_id()) {
      throw std::logic_error("bq: QueueMonitor::sample_now called from the sink");
    }
    {
      std::unique_lock lock(wake_mutex_);
      if (running_) {
        const std::uint64_t ticket = ++requested_;
        wake_.notify_all();
        done_.wait(lock, [&] { return completed_ >= ticket || !running_; });
        if (completed_ >= ticket) return;
      }
    }
    sample_and_deliver();  // No thread (manual mode, or stopped meanwhile).
  }

  /// Stops the thread: wakes it at once and joins it, waiting only for a sink
  /// call in progress. Idempotent; called by the destructor. From the sink it
  /// only asks the thread to stop. Afterwards sample_now() runs on its caller.
  void stop() noexcept {
    {
      const std::lock_guard lock(wake_mutex_);
      stop_requested_ = true;
    }
    wake_.notify_all();
    if (thread_.get_id() == std::this_thread::get_id()) return;
    if (thread_.joinable()) thread_.join();
    const std::lock_guard lock(wake_mutex_);
    running_ = false;
    done_.notify_all();
  }

  /// Returns true while the background thread runs.
  [[nodiscard]] bool running() const {
    const std::lock_guard lock(wake_mutex_);
    return running_;
  }

  /// Returns the sampling interval.
  [[nodiscard]] std::chrono::milliseconds interval() const noexcept { return options_.interval; }

  /// Returns how many times the sink (or a custom sampler) threw.
  [[nodiscard]] std::uint64_t sink_errors() const noexcept {
    return sink_errors_.load(std::memory_order_relaxed);
  }

 private:
  struct Watched {
    IntervalTracker tracker;               // Holds the name; judges each sample.
    std::function<QueueMetrics()> sample;  // Resets the watermark if it owns it.
    std::function<QueueMetrics()> read;    // Never resets (for snapshot()); may be empty.

    [[nodiscard]] QueueMetrics read_without_reset() const { return read ? read() : sample(); }
  };

  std::vector<Watched>::iterator find(std::string_view name) {
    return std::find_if(watched_.begin(), watched_.end(),
                        [&](const Watched& queue) { return queue.tracker.queue() == name; });
  }

  void add(std::string name, double threshold, bool owns_reset,
           std::function<QueueMetrics()> sample, std::function<QueueMetrics()> read) {
    IntervalTracker::Options judge;
    judge.warn_utilization = threshold;
    judge.hysteresis = options_.hysteresis;
    judge.exact_peak = owns_reset;
    judge.report_high_watermark = options_.report_high_watermark;
    // Before the first sample, which resets the watermark the monitor owns.
    detail::check_warn_utilization(threshold, "queue " + detail::quoted(name));
    const std::lock_guard lock(mutex_);
    if (find(name) != watched_.end()) {
      throw std::invalid_argument("bq: QueueMonitor already watches a queue named " +
                                  detail::quoted(name));
    }
    const QueueMetrics baseline = sample();  // With owns_reset, starts the first interval.
    watched_.push_back({IntervalTracker(std::move(name), judge, baseline, options_.steady_clock()),
                        std::move(sample), std::move(read)});
  }

  void run() {
    auto next = std::chrono::steady_clock::now() + options_.interval;
    std::unique_lock lock(wake_mutex_);
    while (true) {
      // Sleeps in the condition variable; stop() and sample_now() set their
      // flag under wake_mutex_ and then notify wake_, so the predicate sees it
      // whether it is set before the wait or during it: the wait ends at once.
      wake_.wait_until(lock, next, [&] { return stop_requested_ || requested_ > completed_; });
      if (stop_requested_) break;
      const std::uint64_t serving = requested_;
      lock.unlock();
      sample_and_deliver();
      lock.lock();
      completed_ = serving;
      done_.notify_all();
      const auto now = std::chrono::steady_clock::now();
      if (now >= next) {
        next += options_.interval;
        if (next <= now) next = now + options_.interval;  // Fell behind: do not burst.
      }
    }
    // Stopped (perhaps from the sink): later sample_now() calls run on their caller.
    running_ = false;
    done_.notify_all();
  }

  void sample_and_deliver() {
    const std::lock_guard serialize(sample_mutex_);  // Sink calls never overlap.
    std::vector<MonitorEvent> events;
    std::vector<std::string> errors;
    try {
      collect(events, errors);
    } catch (...) {
      errors.push_back("bq: QueueMonitor failed to sample: " + describe(std::current_exception()));
    }
    // From here on user code runs (error handler, sink): sample_now() from it must throw.
    delivering_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    for (const auto& message : errors) report(message);
    for (const auto& event : events) {
      try {
        sink_(event);
      } catch (...) {
        report("bq: QueueMonitor sink threw on " + std::string(to_string(event.kind)) +
               " for queue " + detail::quoted(event.queue) + ": " +
               describe(std::current_exception()));
      }
    }
    delivering_thread_.store(std::thread::id(), std::memory_order_release);
  }

  void collect(std::vector<MonitorEvent>& events, std::vector<std::string>& errors) {
    const std::lock_guard lock(mutex_);
    const auto wall_now = options_.wall_clock();
    const auto steady_now = options_.steady_clock();
    for (auto& queue : watched_) {
      QueueMetrics now;
      try {
        now = queue.sample();
      } catch (...) {
        errors.push_back("bq: QueueMonitor sampler for queue " +
                         detail::quoted(queue.tracker.queue()) +
                         " threw: " + describe(std::current_exception()));
        continue;
      }
      queue.tracker.observe(now, steady_now, wall_now, events);
    }
  }

  static std::string describe(const std::exception_ptr& error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "an exception not derived from std::exception";
    }
  }

  void report(const std::string& message) noexcept {
    sink_errors_.fetch_add(1, std::memory_order_relaxed);
    try {
      if (options_.on_error) {
        options_.on_error(message);
      } else {
        std::fprintf(stderr, "%s\n", message.c_str());
      }
    } catch (...) {
      // The error handler failed too; the count above still records it.
    }
  }

  MonitorSink sink_;
  MonitorOptions options_;
  std::atomic<std::uint64_t> sink_errors_{0};
  std::atomic<std::thread::id> delivering_thread_{};

  mutable std::mutex mutex_;  // Guards watched_; held while sampling, never while delivering.
  std::vector<Watched> watched_;
  std::mutex sample_mutex_;  // Serializes sample_and_deliver().

  // The thread's schedule and sample_now()'s hand-off. requested_ counts
  // sample_now() calls, completed_ the last one served; both under wake_mutex_.
  mutable std::mutex wake_mutex_;
  // (A plain thread and flag rather than std::jthread and std::stop_token:
  // libc++ has those only from version 20.)
  std::condition_variable wake_;  // The thread waits here.
  std::condition_variable done_;  // sample_now() waits here.
  std::uint64_t requested_ = 0;
  std::uint64_t completed_ = 0;
  bool running_ = false;
  bool stop_requested_ = false;

  std::thread thread_;  // Last: started after, and joined before, everything above.
};

}  // namespace bq
