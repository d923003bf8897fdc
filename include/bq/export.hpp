// Metrics export: Prometheus text exposition and JSON.
//
// write_prometheus() writes one or more named queues' QueueMetrics in the
// Prometheus text format (version 0.0.4), ready to serve from a /metrics
// endpoint. Every family gets its HELP and TYPE lines once, then one sample per
// queue, labelled queue="<name>":
//
//   bq_capacity, bq_size, bq_high_watermark      gauges (items)
//   bq_utilization_ratio                         gauge, size / capacity in [0, 1]
//   bq_pushed_total, bq_popped_total             counters
//   bq_dropped_total{reason=..., outcome=...}    counter, items not delivered:
//     outcome="lost"     gone: reason="oldest" (evicted), reason="discarded"
//     outcome="refused"  returned to the caller: reason="newest" (full),
//                        reason="timed_out"
//   bq_rejected_closed_total                     counter (refused: the queue was closed)
//
// Sum bq_dropped_total{outcome="lost"} for items that are gone; the refused ones
// are still the caller's (see the glossary in metrics.hpp).
//
// write_json() writes the same numbers as a JSON object per queue (an array of
// them for several queues). Names may hold any bytes: label values and JSON
// strings are escaped, and bytes that are not valid UTF-8 become U+FFFD.
// Numbers are written with std::to_chars, so the stream's locale never changes
// the output. Queue names should be unique within one exposition (Prometheus
// rejects two samples with the same labels).
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <ranges>
#include <string>
#include <string_view>
#include <utility>

#include "metrics.hpp"

namespace bq {

namespace detail {

/// Appends `text` to `out`, replacing each byte that does not start a valid
/// UTF-8 sequence (overlong forms and surrogates included) with U+FFFD and
/// passing every other code point to `escape(out, code_point_bytes)`.
template <class Escape>
void append_utf8(std::string& out, std::string_view text, Escape escape) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    // Sequence length, payload bits of the lead byte, smallest code point that
    // needs this length (anything smaller is an overlong form).
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    std::uint32_t min = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
      min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
      min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
      min = 0x10000;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3Fu);
    }
    valid = valid && code_point >= min && code_point <= 0x10FFFF &&
            !(code_point >= 0xD800 && code_point <= 0xDFFF);
    if (valid) {
      escape(out, text.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
}

/// Appends a Prometheus label value: backslash, double quote and line feed escaped.
inline void append_label_value(std::string& out, std::string_view value) {
  append_utf8(out, value, [](std::string& o, std::string_view c) {
    if (c == "\\") {
      o += "\\\\";
    } else if (c == "\"") {
      o += "\\\"";
    } else if (c == "\n") {
      o += "\\n";
    } else {
      o += c;
    }
  });
}

/// Appends a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view value) {
  out += '"';
  append_utf8(out, value, [](std::string& o, std::string_view c) {
    constexpr std::string_view kHex = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c.front());
    if (c == "\"" || c == "\\") {
      o += '\\';
      o += c;
    } else if (c == "\n") {
      o += "\\n";
    } else if (c == "\t") {
      o += "\\t";
    } else if (c == "\r") {
      o += "\\r";
    } else if (byte < 0x20) {
      o += "\\u00";
      o += kHex[byte >> 4];
      o += kHex[byte & 0xF];
    } else {
      o += c;
    }
  });
  out += '"';
}

/// Appends a number in the shortest form that reads back exactly, whatever the locale.
template <class Number>
void append_number(std::string& out, Number value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  out.append(text, result.ptr);
}

/// An element with `.name` and `.metrics` members.
template <class Named>
concept HasNameAndMetrics = requires(const Named& named) {
  { named.name } -> std::convertible_to<std::string_view>;
  { named.metrics } -> std::convertible_to<const QueueMetrics&>;
};

/// A pair of name and metrics, e.g. an element of std::map<std::string, QueueMetrics>.
template <class Named>
concept IsNameMetricsPair = requires(const Named& named) {
  { named.first } -> std::convertible_to<std::string_view>;
  { named.second } -> std::convertible_to<const QueueMetrics&>;
};

template <class Named>
[[nodiscard]] std::string_view name_of(const Named& named) {
  if constexpr (HasNameAndMetrics<Named>) {
    return std::string_view(named.name);
  } else {
    return std::string_view(named.first);
  }
}

template <class Named>
[[nodiscard]] const QueueMetrics& metrics_of(const Named& named) {
  if constexpr (HasNameAndMetrics<Named>) {
    return named.metrics;
  } else {
    return named.second;
  }
}

/// A family of the exposition: name, type, help, and how to read its value.
struct PrometheusFamily {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  std::string_view reason;   ///< Value of the `reason` label, or empty for none.
  std::string_view outcome;  ///< Value of the `outcome` label ("lost", "refused"), or empty.
  void (*append_value)(std::string&, const QueueMetrics&);
};

// bq_dropped_total spans four entries (one per reason) that share HELP and TYPE.
inline constexpr PrometheusFamily kPrometheusFamilies[] = {
    {"bq_capacity", "gauge", "Maximum number of items the queue holds.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.capacity); }},
    {"bq_size", "gauge", "Items queued when the metrics were read.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.size); }},
    {"bq_high_watermark", "gauge",
     "Largest size since the queue was built or its high watermark was last reset.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.high_watermark); }},
    {"bq_utilization_ratio", "gauge", "Size divided by capacity, from 0 to 1.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.utilization()); }},
    {"bq_pushed_total", "counter", "Items accepted by a push.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.pushed); }},
    {"bq_popped_total", "counter", "Items returned by a pop.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.popped); }},
    {"bq_dropped_total", "counter",
     "Items not delivered. outcome=lost: gone (reason=oldest: evicted to make room for a "
     "newer item; reason=discarded: removed by close_and_discard() or clear()). "
     "outcome=refused: returned to the caller, who still holds them (reason=newest: the "
     "queue was full; reason=timed_out: no room before the deadline).",
     "oldest", "lost",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.dropped_oldest); }},
    {"bq_dropped_total", "counter", "", "discarded", "lost",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.discarded); }},
    {"bq_dropped_total", "counter", "", "newest", "refused",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.dropped_newest); }},
    {"bq_dropped_total", "counter", "", "timed_out", "refused",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.timed_out); }},
    {"bq_rejected_closed_total", "counter",
     "Pushes refused because the queue was closed; the caller still holds the items.", "", "",
     [](std::string& o, const QueueMetrics& m) { append_number(o, m.rejected_closed); }},
};

inline void append_json_object(std::string& out, std::string_view name, const QueueMetrics& m) {
  const auto field = [&out](std::string_view key, auto value) {
    out += ",\"";
    out += key;
    out += "\":";
    append_number(out, value);
  };
  out += "{\"queue\":";
  append_json_string(out, name);
  field("capacity", m.capacity);
  field("size", m.size);
  field("high_watermark", m.high_watermark);
  field("utilization", m.utilization());
  field("pushed", m.pushed);
  field("popped", m.popped);
  field("lost", m.lost());
  field("refused", m.refused());
  field("dropped", m.dropped());
  field("dropped_oldest", m.dropped_oldest);
  field("dropped_newest", m.dropped_newest);
  field("timed_out", m.timed_out);
  field("discarded", m.discarded);
  field("rejected_closed", m.rejected_closed);
  out += '}';
}

}  // namespace detail

/// A range of named queues, read more than once: elements with `.name` and
/// `.metrics` members, or pairs of name and QueueMetrics (so a
/// std::map<std::string, QueueMetrics> or a std::vector of pairs works).
template <class Range>
concept NamedMetricsRange = std::ranges::forward_range<Range> &&
    (detail::HasNameAndMetrics<std::ranges::range_value_t<Range>> ||
     detail::IsNameMetricsPair<std::ranges::range_value_t<Range>>);

/// Writes the Prometheus exposition of every queue in `queues`: each family's
/// HELP and TYPE once, then one sample per queue, in range order. Writes
/// nothing for an empty range.
template <NamedMetricsRange Range>
void write_prometheus(std::ostream& out, const Range& queues) {
  if (std::ranges::begin(queues) == std::ranges::end(queues)) return;
  std::string text;
  for (const auto& family : detail::kPrometheusFamilies) {
    if (!family.help.empty()) {
      text += "# HELP ";
      text += family.name;
      text += ' ';
      text += family.help;  // Constant text without backslashes or line feeds.
      text += "\n# TYPE ";
      text += family.name;
      text += ' ';
      text += family.type;
      text += '\n';
    }
    for (const auto& named : queues) {
      text += family.name;
      text += "{queue=\"";
      detail::append_label_value(text, detail::name_of(named));
      if (!family.reason.empty()) {
        text += "\",reason=\"";
        text += family.reason;
      }
      if (!family.outcome.empty()) {
        text += "\",outcome=\"";
        text += family.outcome;
      }
      text += "\"} ";
      family.append_value(text, detail::metrics_of(named));
      text += '\n';
    }
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

/// Writes the Prometheus exposition of several queues given in place:
/// `write_prometheus(out, {{"ingest", a.metrics()}, {"replies", b.metrics()}})`.
inline void write_prometheus(
    std::ostream& out, std::initializer_list<std::pair<std::string_view, QueueMetrics>> queues) {
  write_prometheus<std::initializer_list<std::pair<std::string_view, QueueMetrics>>>(out, queues);
}

/// Writes the Prometheus exposition of one queue named `queue_name`.
inline void write_prometheus(std::ostream& out, std::string_view queue_name,
                             const QueueMetrics& metrics) {
  write_prometheus(out, {{queue_name, metrics}});
}

/// Writes a JSON array with one object per queue (see the single-queue form).
template <NamedMetricsRange Range>
void write_json(std::ostream& out, const Range& queues) {
  std::string text = "[";
  for (const auto& named : queues) {
    if (text.size() > 1) text += ',';
    detail::append_json_object(text, detail::name_of(named), detail::metrics_of(named));
  }
  text += ']';
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

/// Writes a JSON array for several queues given in place.
inline void write_json(std::ostream& out,
                       std::initializer_list<std::pair<std::string_view, QueueMetrics>> queues) {
  write_json<std::initializer_list<std::pair<std::string_view, QueueMetrics>>>(out, queues);
}

/// Writes one queue as a JSON object on one line, without a trailing newline:
/// {"queue":"ingest","capacity":1000,"size":3,"high_watermark":870,
/// "utilization":0.003,"pushed":...,"popped":...,"lost":...,"refused":...,"dropped":...,
/// "dropped_oldest":...,"dropped_newest":...,"timed_out":...,"discarded":...,
/// "rejected_closed":...} (`lost`, `refused` and `dropped` are QueueMetrics::lost(),
/// refused() and dropped(); `utilization` is size / capacity, from 0 to 1).
inline void write_json(std::ostream& out, std::string_view queue_name,
                       const QueueMetrics& metrics) {
  std::string text;
  detail::append_json_object(text, queue_name, metrics);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace bq
