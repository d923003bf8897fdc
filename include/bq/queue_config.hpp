// QueueConfig, the names of the overflow policies, and validate(): what a queue
// is configured with, without the text parser (see config.hpp for
// parse_config() and to_string(const QueueConfig&)). The core header includes
// this one, so a program that never parses config text does not compile the parser.
//
// Each component validates the fields it uses: validate(config) checks the
// queue's own (capacity, policy, block_timeout), and a queue's constructor calls
// it; the monitor fields (monitor_interval, warn_utilization) are checked by the
// monitor that uses them (validate(const MonitorOptions&) in monitor.hpp, and
// QueueMonitor::watch()), so a queue never throws for a setting it ignores.
// Every bad value is rejected with a ConfigError that quotes the value and says
// what is allowed.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "detail/platform.hpp"

namespace bq {

/// Thrown for an invalid configuration value; the message names the value and
/// what is allowed.
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// What a queue does with a push when it is full, chosen at run time
/// (see bq::Dynamic).
enum class OverflowPolicy {
  drop_oldest,  ///< Evict the oldest queued item to make room.
  drop_newest,  ///< Refuse the new item (the caller keeps it).
  block,        ///< Wait for room up to a timeout.
};

/// Returns "drop_oldest", "drop_newest" or "block".
[[nodiscard]] constexpr std::string_view to_string(OverflowPolicy policy) noexcept {
  switch (policy) {
    case OverflowPolicy::drop_oldest: return "drop_oldest";
    case OverflowPolicy::drop_newest: return "drop_newest";
    case OverflowPolicy::block: return "block";
  }
  return "unknown";
}

/// The longest monitor interval, 365 days: any longer is surely a mistake in a
/// unit, and the monitor's schedule (now + interval) must not overflow.
inline constexpr std::chrono::milliseconds kMaxMonitorInterval = std::chrono::hours(24 * 365);

/// Everything a queue (and its monitor) can be configured with. Defaults are
/// the values a service gets when it configures nothing.
struct QueueConfig {
  /// Maximum number of queued items; any value >= 1.
  std::size_t capacity = 1000;
  /// What push does when the queue is full (used by bq::Dynamic).
  OverflowPolicy policy = OverflowPolicy::drop_oldest;
  /// How long push() waits for room under a blocking policy; >= 0.
  std::chrono::milliseconds block_timeout{1000};
  /// How often a QueueMonitor samples the queue; > 0 and at most
  /// kMaxMonitorInterval (checked by the monitor, not by validate()).
  std::chrono::milliseconds monitor_interval{5000};
  /// Utilization (size / capacity, 0-1) at which a monitor warns; in (0, 1]
  /// (checked by the monitor, not by validate()).
  double warn_utilization = 0.8;

  friend bool operator==(const QueueConfig&, const QueueConfig&) = default;
};

/// Throws ConfigError if a field the queue itself uses (capacity, policy,
/// block_timeout) is out of range. The monitor fields are not looked at.
inline void validate(const QueueConfig& config) {
  if (config.capacity == 0) {
    detail::throw_or_abort(ConfigError("bq: capacity 0 is invalid; capacity must be at least 1"));
  }
  if (to_string(config.policy) == "unknown") {
    // Only a cast can make one (OverflowPolicy{42}); a Dynamic queue would treat it as block.
    detail::throw_or_abort(ConfigError(
        "bq: policy " +
        std::to_string(static_cast<std::underlying_type_t<OverflowPolicy>>(config.policy)) +
        " is not an OverflowPolicy; it must be drop_oldest, drop_newest or block"));
  }
  if (config.block_timeout.count() < 0) {
    detail::throw_or_abort(ConfigError("bq: block_timeout " +
                                       std::to_string(config.block_timeout.count()) +
                                       "ms is negative; it must be >= 0ms"));
  }
}

}  // namespace bq
