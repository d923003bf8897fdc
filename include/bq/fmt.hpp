// Optional {fmt} integration: formatters for bq's types and a ready log sink.
//
// Include this header only where you use {fmt}; no other bq header includes it.
// It pulls in the event types (monitor_event.hpp), not the monitor's thread:
// include <bq/monitor.hpp> too to run a QueueMonitor.
//
//   fmt::print("{}\n", queue.metrics());   // size=3 capacity=10 utilization=30.0% ...
//   fmt::print("{:>12}\n", result);       // PushResult, OverflowPolicy, enums: string specs
//   bq::QueueMonitor monitor(bq::LogSink{stderr});   // with <bq/monitor.hpp>
//
// {fmt} versions: 9 and newer (formatters with a const format(); fmt::join from
// <fmt/ranges.h>, where fmt 11 moved it). Tested with fmt 9.1 (Debian bookworm's
// libfmt-dev), the version CI installs; a newer major is expected to work but is
// not built in CI.
//
// Formatted: QueueMetrics (logfmt-style key=value pairs), QueueConfig (its text
// form, see to_string), PushResult, OverflowPolicy, MonitorEventKind and
// HealthStatus (their names; width, fill and alignment work), MonitorEvent (one
// readable sentence) and HealthReport (status and reasons).
#pragma once

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "config.hpp"
#include "detail/text.hpp"
#include "health.hpp"
#include "metrics.hpp"
#include "monitor_event.hpp"
#include "policy.hpp"

namespace bq::detail {

/// A formatter for a type that takes no format spec: "{}" only.
struct PlainFormatter {
  constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
    const auto it = ctx.begin();
    if (it != ctx.end() && *it != '}')
      throw fmt::format_error("bq: this type takes no format spec");
    return it;
  }
};

/// Returns "5s", "1.5s" or "250ms".
inline std::string readable_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0 && ms != 0) return fmt::format("{}s", ms / 1000);
  if (ms >= 1000 || ms <= -1000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  return fmt::format("{}ms", ms);
}

/// Returns "850/1000 (85.0%)".
inline std::string fill_level(std::size_t size, std::size_t capacity) {
  return fmt::format("{}/{} ({:.1f}%)", size, capacity, 100.0 * fraction_of(size, capacity));
}

/// Formats an enum through its to_string(), honouring string specs (width, fill, alignment).
template <class Enum>
struct NameFormatter : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(Enum value, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(to_string(value), ctx);
  }
};

}  // namespace bq::detail

template <>
struct fmt::formatter<bq::PushResult> : bq::detail::NameFormatter<bq::PushResult> {};
template <>
struct fmt::formatter<bq::OverflowPolicy> : bq::detail::NameFormatter<bq::OverflowPolicy> {};
template <>
struct fmt::formatter<bq::MonitorEventKind> : bq::detail::NameFormatter<bq::MonitorEventKind> {};
template <>
struct fmt::formatter<bq::HealthStatus> : bq::detail::NameFormatter<bq::HealthStatus> {};

/// "size=3 capacity=10 utilization=30.0% high_watermark=8 pushed=100 popped=90
/// lost=5 refused=2 dropped_oldest=5 dropped_newest=2 timed_out=0 rejected_closed=0
/// discarded=0": lost items are gone (evicted + discarded), refused ones went back to
/// the caller (dropped_newest + timed_out + rejected_closed); utilization is printed as
/// a percent of capacity.
template <>
struct fmt::formatter<bq::QueueMetrics> : bq::detail::PlainFormatter {
  template <class FormatContext>
  auto format(const bq::QueueMetrics& m, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::format_to(ctx.out(),
                          "size={} capacity={} utilization={:.1f}% high_watermark={} pushed={} "
                          "popped={} lost={} refused={} dropped_oldest={} dropped_newest={} "
                          "timed_out={} rejected_closed={} discarded={}",
                          m.size, m.capacity, 100.0 * m.utilization(), m.high_watermark, m.pushed,
                          m.popped, m.lost(), m.refused(), m.dropped_oldest, m.dropped_newest,
                          m.timed_out, m.rejected_closed, m.discarded);
  }
};

/// The text form parse_config() reads: "capacity=1000,policy=drop_oldest,...".
template <>
struct fmt::formatter<bq::QueueConfig> : bq::detail::PlainFormatter {
  template <class FormatContext>
  auto format(const bq::QueueConfig& config, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::format_to(ctx.out(), "{}", bq::to_string(config));
  }
};

/// One sentence, without a timestamp: `queue "ingest" lost 120 items in the last 5s ...`.
template <>
struct fmt::formatter<bq::MonitorEvent> : bq::detail::PlainFormatter {
  template <class FormatContext>
  auto format(const bq::MonitorEvent& e, FormatContext& ctx) const -> decltype(ctx.out()) {
    using bq::detail::fill_level;
    using bq::detail::readable_duration;
    const std::string queue = bq::detail::quoted(e.queue);
    const auto& m = e.metrics;
    switch (e.kind) {
      case bq::MonitorEventKind::utilization_high:
        return fmt::format_to(ctx.out(),
                              "queue {} utilization high: peak {} in the last {} reached the "
                              "{:.0f}% threshold; size now {}",
                              queue, fill_level(e.peak, m.capacity), readable_duration(e.period),
                              100.0 * e.threshold, fill_level(m.size, m.capacity));
      case bq::MonitorEventKind::utilization_normal:
        return fmt::format_to(ctx.out(),
                              "queue {} utilization back to normal: peak {} in the last {}; the "
                              "excursion lasted {} and peaked at {}",
                              queue, fill_level(e.peak, m.capacity), readable_duration(e.period),
                              readable_duration(e.excursion_duration),
                              fill_level(e.excursion_peak, m.capacity));
      case bq::MonitorEventKind::drops: {
        const auto& d = e.dropped;
        return fmt::format_to(ctx.out(),
                              "queue {} in the last {}: lost {} items (evicted {}, discarded {}), "
                              "refused {} and returned them to the caller (queue full {}, timed "
                              "out {}, closed {}); totals: lost {}, refused {}, pushed {}",
                              queue, readable_duration(e.period), d.lost(), d.oldest, d.discarded,
                              d.refused(), d.newest, d.timed_out, d.rejected_closed, m.lost(),
                              m.refused(), m.pushed);
      }
      case bq::MonitorEventKind::high_watermark:
        return fmt::format_to(ctx.out(), "queue {} high watermark {} in the last {}; size now {}",
                              queue, fill_level(e.peak, m.capacity), readable_duration(e.period),
                              fill_level(m.size, m.capacity));
    }
    return fmt::format_to(ctx.out(), "queue {} {}", queue, e.kind);
  }
};

/// "ok", or "warning: reason; reason".
template <>
struct fmt::formatter<bq::HealthReport> : bq::detail::PlainFormatter {
  template <class FormatContext>
  auto format(const bq::HealthReport& report, FormatContext& ctx) const -> decltype(ctx.out()) {
    if (report.reasons.empty()) return fmt::format_to(ctx.out(), "{}", report.status);
    return fmt::format_to(ctx.out(), "{}: {}", report.status, fmt::join(report.reasons, "; "));
  }
};

namespace bq {

/// A MonitorSink that writes one line per event to a std::FILE* (stderr by
/// default), each written whole with one call:
///   2025-11-27T10:45:05.123Z WARN bq: queue "ingest" in the last 5s: lost 120 items (...)
/// The timestamp is the event's time in UTC; utilization_high and drops are
/// WARN, the others INFO. The FILE must stay open while the monitor runs.
class LogSink {
 public:
  /// Throws std::invalid_argument if `out` is null.
  explicit LogSink(std::FILE* out = stderr) : out_(out) {
    if (out_ == nullptr) {
      throw std::invalid_argument(
          "bq: LogSink was given a null FILE*; it needs an open stream (default: stderr)");
    }
  }

  /// Writes `event` as one line; throws std::system_error if the write fails.
  void operator()(const MonitorEvent& event) const {
    const std::string line = format_line(event);
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
      throw std::system_error(errno, std::generic_category(), "bq: LogSink failed to write");
    }
  }

  /// Returns the line operator() writes, newline included.
  [[nodiscard]] static std::string format_line(const MonitorEvent& event) {
    const auto since_epoch = event.time.time_since_epoch();
    const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
    const std::tm utc = fmt::gmtime(static_cast<std::time_t>(seconds.count()));
    const bool warn =
        event.kind == MonitorEventKind::utilization_high || event.kind == MonitorEventKind::drops;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z {} bq: {}\n", utc, millis.count(),
                       warn ? "WARN" : "INFO", event);
  }

 private:
  std::FILE* out_;
};

}  // namespace bq
