// The text form of QueueConfig: parse_config() and to_string(const QueueConfig&).
// (QueueConfig, OverflowPolicy and validate() are in queue_config.hpp, which
// this header includes, so code written against it keeps compiling.)
//
// parse_config() reads `key=value` entries separated by commas:
//
//   capacity=1000, policy=drop_oldest, block_timeout=250ms, monitor_interval=5s,
//   warn_utilization=0.8
//
// and to_string(const QueueConfig&) writes it back, so that for every valid
// config `parse_config(to_string(c)) == c`. Every bad value is rejected with a
// ConfigError that quotes the value and says what is allowed.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

#include "detail/text.hpp"
#include "queue_config.hpp"

namespace bq {

namespace detail {

inline constexpr std::string_view kConfigSpace = " \t\n\r\f\v";

[[nodiscard]] constexpr std::string_view trim_config_space(std::string_view text) noexcept {
  const auto first = text.find_first_not_of(kConfigSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kConfigSpace);
  return text.substr(first, last - first + 1);
}

/// Returns `text` quoted for an error message, cut off after 64 bytes.
[[nodiscard]] inline std::string quote_config_text(std::string_view text) {
  return quoted(text, 64);
}

}  // namespace detail

/// Returns the policy spelled exactly (case-sensitively) "drop_oldest",
/// "drop_newest" or "block"; throws ConfigError quoting anything else.
[[nodiscard]] inline OverflowPolicy parse_overflow_policy(std::string_view name) {
  for (auto policy :
       {OverflowPolicy::drop_oldest, OverflowPolicy::drop_newest, OverflowPolicy::block}) {
    if (name == to_string(policy)) return policy;
  }
  throw ConfigError("bq: unknown overflow policy " + detail::quote_config_text(name) +
                    "; valid policies are drop_oldest, drop_newest, block");
}

namespace detail {

[[nodiscard]] constexpr bool is_config_digit(char c) noexcept { return c >= '0' && c <= '9'; }

[[nodiscard]] inline std::size_t parse_config_capacity(std::string_view value) {
  constexpr auto kMax = std::numeric_limits<std::size_t>::max();
  const std::string allowed = "; capacity must be a whole number from 1 to " + std::to_string(kMax);
  if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos) {
    throw ConfigError("bq: capacity " + quote_config_text(value) + " is not a number" + allowed);
  }
  std::size_t capacity = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), capacity);
  if (error == std::errc::result_out_of_range) {
    throw ConfigError("bq: capacity " + quote_config_text(value) + " is out of range" + allowed);
  }
  if (capacity == 0) {
    throw ConfigError("bq: capacity " + quote_config_text(value) +
                      " is invalid; capacity must be at least 1");
  }
  return capacity;
}

/// Parses a whole number of ms, s or min ("250ms", "5s", "1min"; space before
/// the unit allowed). `key` names the entry in error messages.
[[nodiscard]] inline std::chrono::milliseconds parse_config_duration(std::string_view key,
                                                                     std::string_view value) {
  const std::string what = "bq: " + std::string(key) + " " + quote_config_text(value);
  const std::string allowed =
      "; a duration is a whole number >= 0 followed by ms, s or min (e.g. 250ms, 5s, 1min)";
  if (!value.empty() && value.front() == '-') throw ConfigError(what + " is negative" + allowed);
  std::size_t digits = 0;
  while (digits < value.size() && is_config_digit(value[digits])) ++digits;
  if (digits == 0) throw ConfigError(what + " is not a duration" + allowed);
  const std::string_view unit = trim_config_space(value.substr(digits));
  if (unit.empty()) throw ConfigError(what + " has no unit" + allowed);
  if (unit.front() == '.' || unit.front() == ',') {
    throw ConfigError(what + " is not a whole number" + allowed +
                      "; write fractions in a smaller unit (1500ms, not 1.5s)");
  }
  std::int64_t per_unit = 0;
  if (unit == "ms") {
    per_unit = 1;
  } else if (unit == "s") {
    per_unit = 1000;
  } else if (unit == "min") {
    per_unit = 60'000;
  } else {
    throw ConfigError(what + " has unknown unit " + quote_config_text(unit) + allowed);
  }
  constexpr auto kMaxMs = std::numeric_limits<std::chrono::milliseconds::rep>::max();
  std::chrono::milliseconds::rep count = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + digits, count);
  if (error == std::errc::result_out_of_range || count > kMaxMs / per_unit) {
    throw ConfigError(what + " is out of range; the longest duration is " + std::to_string(kMaxMs) +
                      "ms");
  }
  return std::chrono::milliseconds(count * per_unit);
}

/// Returns true if `text` is a number as std::from_chars reads one in its
/// general format: an optional '-', then digits with at most one '.' (at least
/// one digit) and an optional exponent, or inf, infinity or nan (any case).
[[nodiscard]] inline bool is_config_number(std::string_view text) noexcept {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  const auto equals_nocase = [text](std::string_view word) {
    if (text.size() != word.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if ((text[i] | 0x20) != word[i]) return false;  // ASCII letters only
    }
    return true;
  };
  if (equals_nocase("inf") || equals_nocase("infinity") || equals_nocase("nan")) return true;
  std::size_t i = 0, digits = 0;
  for (; i < text.size() && is_config_digit(text[i]); ++i) ++digits;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && is_config_digit(text[i]); ++i) ++digits;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exponent_start = i;
    while (i < text.size() && is_config_digit(text[i])) ++i;
    if (i == exponent_start) return false;
  }
  return i == text.size();
}

/// Returns the double nearest to `text`, a number is_config_number() accepts,
/// as the "C" locale reads it whatever the global locale is, rounding what is
/// too small to 0 and what is too large to infinity.
/// std::from_chars for double is missing from libc++ before 20, a stream in the
/// classic locale fails on libc++ when the result is subnormal (5e-324, which
/// to_string writes), and std::strtod reads the global locale's decimal point
/// (',' in de_DE). So std::strtod is given the number without its point, the
/// exponent moved to match ("0.25e-3" becomes "25e-5"): digits, 'e' and signs
/// read the same in every locale.
[[nodiscard]] inline double parse_config_double(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.front() != '.' && !is_config_digit(text.front())) {  // inf, infinity or nan
    const double special = (text.front() | 0x20) == 'n' ? std::numeric_limits<double>::quiet_NaN()
                                                        : std::numeric_limits<double>::infinity();
    return negative ? -special : special;
  }
  std::string digits;                // The significant digits, without leading zeros.
  std::int64_t fraction_digits = 0;  // How many of the digits written came after the point.
  std::size_t i = 0;
  for (bool after_point = false; i < text.size() && (is_config_digit(text[i]) || text[i] == '.');
       ++i) {
    if (text[i] == '.') {
      after_point = true;
      continue;
    }
    if (after_point) ++fraction_digits;
    if (!digits.empty() || text[i] != '0') digits += text[i];
  }
  // The exponent saturates at +-10^15, far beyond any exponent that a string
  // which fits in memory can bring back into range.
  constexpr std::int64_t kExponentLimit = 1'000'000'000'000'000;
  std::int64_t exponent = 0;
  if (i < text.size()) {  // 'e' or 'E', then an optional sign and digits.
    const bool negative_exponent = text[i + 1] == '-';
    for (i += (text[i + 1] == '-' || text[i + 1] == '+') ? std::size_t{2} : std::size_t{1};
         i < text.size(); ++i) {
      exponent = std::min(exponent * 10 + (text[i] - '0'), kExponentLimit);
    }
    if (negative_exponent) exponent = -exponent;
  }
  // The value is digits * 10^scale, in [10^(digits-1+scale), 10^(digits+scale)).
  const std::int64_t scale = exponent - fraction_digits;
  const auto size = static_cast<std::int64_t>(digits.size());
  double magnitude = 0.0;
  if (digits.empty() || size + scale < -400) {
    magnitude = 0.0;  // Below 10^-400: rounds to 0 (the smallest double is ~4.9e-324).
  } else if (size - 1 + scale > 400) {
    magnitude = std::numeric_limits<double>::infinity();  // Above 10^400 (max is ~1.8e308).
  } else {
    digits += 'e';
    digits += std::to_string(scale);
    magnitude = std::strtod(digits.c_str(), nullptr);
  }
  return negative ? -magnitude : magnitude;
}

[[nodiscard]] inline double parse_config_fraction(std::string_view key, std::string_view value) {
  const std::string what = "bq: " + std::string(key) + " " + quote_config_text(value);
  const std::string allowed = "; it must be a number in (0, 1], e.g. 0.8 for 80% of capacity";
  if (!is_config_number(value)) throw ConfigError(what + " is not a number" + allowed);
  const double fraction = parse_config_double(value);
  if (fraction > 0.0 && fraction <= 1.0) return fraction;
  const bool positive = value.front() != '-';
  const bool nonzero = value.substr(0, value.find_first_of("eE")).find_first_of("123456789") !=
                       std::string_view::npos;
  if (fraction == 0.0 && positive && nonzero) {
    throw ConfigError(what + " is too small: it rounds to 0 as a double, whose smallest " +
                      "positive value is 5e-324" + allowed);
  }
  throw ConfigError(what + " is outside (0, 1]" + allowed);
}

/// Writes a duration in the largest unit that holds it exactly (1min, 5s, 250ms).
[[nodiscard]] inline std::string format_config_duration(std::chrono::milliseconds duration) {
  const auto count = duration.count();
  if (count != 0 && count % 60'000 == 0) return std::to_string(count / 60'000) + "min";
  if (count != 0 && count % 1000 == 0) return std::to_string(count / 1000) + "s";
  return std::to_string(count) + "ms";
}

}  // namespace detail

/// Returns the config described by `text`: `key=value` entries separated by
/// commas, keys capacity, policy, block_timeout, monitor_interval and
/// warn_utilization, each at most once, in any order. Keys not given keep their
/// value from `base`. Whitespace around keys, values and commas is ignored, and
/// so are empty entries (a trailing comma). Keys, policy names and units are
/// case-sensitive; durations take the units ms, s and min.
/// Throws ConfigError, quoting the offending key or value and saying what is
/// allowed, for an unknown key, a duplicate key, a bad value, or a queue field
/// from `base` that validate() rejects (a monitor field from `base` is left for
/// the monitor to check).
[[nodiscard]] inline QueueConfig parse_config(std::string_view text,
                                              const QueueConfig& base = QueueConfig{}) {
  constexpr std::string_view kKeys[] = {"capacity", "policy", "block_timeout", "monitor_interval",
                                        "warn_utilization"};
  QueueConfig config = base;
  bool seen[std::size(kKeys)] = {};
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view entry = detail::trim_config_space(text.substr(0, comma));
    if (!entry.empty()) {
      const std::size_t equals = entry.find('=');
      if (equals == std::string_view::npos) {
        throw ConfigError("bq: config entry " + detail::quote_config_text(entry) +
                          " has no '='; entries are key=value separated by commas");
      }
      const std::string_view key = detail::trim_config_space(entry.substr(0, equals));
      const std::string_view value = detail::trim_config_space(entry.substr(equals + 1));
      std::size_t index = 0;
      while (index < std::size(kKeys) && kKeys[index] != key) ++index;
      if (index == std::size(kKeys)) {
        throw ConfigError("bq: unknown config key " + detail::quote_config_text(key) +
                          "; valid keys are capacity, policy, block_timeout, monitor_interval, "
                          "warn_utilization");
      }
      if (seen[index]) {
        throw ConfigError("bq: duplicate config key " + detail::quote_config_text(key) +
                          "; each key may appear once");
      }
      seen[index] = true;
      switch (index) {
        case 0: config.capacity = detail::parse_config_capacity(value); break;
        case 1: config.policy = parse_overflow_policy(value); break;
        case 2: config.block_timeout = detail::parse_config_duration(key, value); break;
        case 3:
          config.monitor_interval = detail::parse_config_duration(key, value);
          if (config.monitor_interval.count() == 0) {
            throw ConfigError("bq: monitor_interval " + detail::quote_config_text(value) +
                              " is invalid; it must be > 0ms");
          }
          if (config.monitor_interval > kMaxMonitorInterval) {
            throw ConfigError("bq: monitor_interval " + detail::quote_config_text(value) +
                              " is too long; it must be at most " +
                              std::to_string(kMaxMonitorInterval.count()) + "ms (365 days)");
          }
          break;
        default: config.warn_utilization = detail::parse_config_fraction(key, value); break;
      }
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  validate(config);  // Catches a bad queue field inherited from `base`.
  return config;
}

/// Returns the text form of `config`, all five keys in a fixed order, durations
/// in the largest exact unit: "capacity=1000,policy=drop_oldest,
/// block_timeout=1s,monitor_interval=5s,warn_utilization=0.8" for the defaults.
/// parse_config() reads it back to an equal config whenever every field is in
/// range: validate(config) for the queue's, validate(MonitorOptions::from(config))
/// (monitor.hpp) for the monitor's.
[[nodiscard]] inline std::string to_string(const QueueConfig& config) {
  std::string out = "capacity=" + std::to_string(config.capacity);
  out += ",policy=";
  out += to_string(config.policy);
  out += ",block_timeout=" + detail::format_config_duration(config.block_timeout);
  out += ",monitor_interval=" + detail::format_config_duration(config.monitor_interval);
  // Shortest form that reads back to the same double (std::to_chars guarantees it).
  out += ",warn_utilization=" + detail::shortest_text(config.warn_utilization);
  return out;
}

}  // namespace bq
