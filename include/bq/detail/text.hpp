// Text for messages: the one quoting function bq's error messages and log lines
// use for names and values, and the shortest exact form of a double.
// (Exports use the escaping their formats require: see export.hpp.)
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

namespace bq::detail {

/// Returns `text` in double quotes: quotes and backslashes escaped with a backslash, a
/// line feed as \n, other control bytes as \xNN. Past `max_shown` bytes the rest is cut
/// off and its size is appended: `"xxxx"... (1000 bytes)`.
[[nodiscard]] inline std::string quoted(std::string_view text,
                                        std::size_t max_shown = std::string_view::npos) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text.substr(0, max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  if (text.size() > max_shown) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

/// Returns the shortest text that reads back to exactly `value`, whatever the locale.
[[nodiscard]] inline std::string shortest_text(double value) {
  char text[32];
  const auto written = std::to_chars(text, text + sizeof text, value);
  return std::string(text, written.ptr);
}

}  // namespace bq::detail
