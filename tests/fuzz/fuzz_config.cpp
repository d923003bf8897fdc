// libFuzzer target for bq::parse_config.
//
// Property: for any input, parse_config either throws bq::ConfigError or
// returns a config that validate() accepts and whose text form reads back to an
// equal config (and to the same text). Any other exception, crash, sanitizer
// report or mismatch is a bug.
#include <bq/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bq::QueueConfig config;
  try {
    config = bq::parse_config(text);
  } catch (const bq::ConfigError& error) {
    if (std::string_view(error.what()).empty()) std::abort();  // Errors must explain.
    return 0;
  }
  bq::validate(config);  // Must not throw: parse_config returned it.
  const std::string written = bq::to_string(config);
  const bq::QueueConfig reread = bq::parse_config(written);
  if (!(reread == config) || bq::to_string(reread) != written) {
    std::fprintf(stderr, "round trip mismatch: %s\n", written.c_str());
    std::abort();
  }
  return 0;
}
