// Tests for parse_config / to_string(QueueConfig) in <bq/config.hpp>.
#include <bq/config.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <clocale>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

using namespace std::chrono_literals;

namespace {

// Returns the message of the ConfigError that parse_config(text) throws, or
// fails the test if it throws nothing.
std::string error_of(std::string_view text) {
  try {
    (void)bq::parse_config(text);
  } catch (const bq::ConfigError& error) {
    return error.what();
  }
  FAIL("parse_config accepted \"" << std::string(text) << "\"");
  return {};
}

}  // namespace

static_assert(std::is_base_of_v<std::invalid_argument, bq::ConfigError>,
              "ConfigError must be catchable as std::invalid_argument");

TEST_CASE("parse_config reads every key of the documented example", "[config]") {
  const auto config = bq::parse_config(
      "capacity=1000,policy=drop_oldest,block_timeout=250ms,monitor_interval=5s,"
      "warn_utilization=0.8");
  CHECK(config.capacity == 1000);
  CHECK(config.policy == bq::OverflowPolicy::drop_oldest);
  CHECK(config.block_timeout == 250ms);
  CHECK(config.monitor_interval == 5s);
  CHECK(config.warn_utilization == 0.8);
}

TEST_CASE("parse_config keeps the defaults for keys it is not given", "[config]") {
  CHECK(bq::parse_config("") == bq::QueueConfig{});
  CHECK(bq::parse_config("  \t\n ") == bq::QueueConfig{});

  auto expected = bq::QueueConfig{};
  expected.policy = bq::OverflowPolicy::block;
  CHECK(bq::parse_config("policy=block") == expected);

  auto base = bq::QueueConfig{};
  base.capacity = 7;
  base.warn_utilization = 0.5;
  const auto layered = bq::parse_config("policy=block", base);
  CHECK(layered.capacity == 7);
  CHECK(layered.warn_utilization == 0.5);
  CHECK(layered.policy == bq::OverflowPolicy::block);
}

TEST_CASE("parse_config tolerates whitespace, any key order and empty entries", "[config]") {
  const auto config = bq::parse_config(
      "\n  warn_utilization = 0.5 ,\tpolicy=\tdrop_newest ,capacity =12,\r\n"
      " block_timeout = 2 s , monitor_interval=1min ,");
  CHECK(config.capacity == 12);
  CHECK(config.policy == bq::OverflowPolicy::drop_newest);
  CHECK(config.block_timeout == 2s);
  CHECK(config.monitor_interval == 1min);
  CHECK(config.warn_utilization == 0.5);
  CHECK(bq::parse_config(",,capacity=3,,").capacity == 3);
}

TEST_CASE("parse_config reads durations in ms, s and min", "[config]") {
  CHECK(bq::parse_config("block_timeout=0ms").block_timeout == 0ms);
  CHECK(bq::parse_config("block_timeout=0s").block_timeout == 0ms);
  CHECK(bq::parse_config("block_timeout=1500ms").block_timeout == 1500ms);
  CHECK(bq::parse_config("block_timeout=3s").block_timeout == 3000ms);
  CHECK(bq::parse_config("block_timeout=2min").block_timeout == 120'000ms);
  CHECK(bq::parse_config("monitor_interval=007s").monitor_interval == 7s);
  CHECK(bq::parse_config("block_timeout=9223372036854775807ms").block_timeout ==
        std::chrono::milliseconds::max());
}

TEST_CASE("parse_config accepts the extremes of capacity and warn_utilization", "[config]") {
  CHECK(bq::parse_config("capacity=1").capacity == 1);
  CHECK(bq::parse_config("capacity=18446744073709551615").capacity ==
        std::numeric_limits<std::size_t>::max());
  CHECK(bq::parse_config("warn_utilization=1").warn_utilization == 1.0);
  CHECK(bq::parse_config("warn_utilization=1e-3").warn_utilization == 0.001);
}

TEST_CASE("parse_config rejects an unknown key, quoting it and listing the valid keys",
          "[config]") {
  const auto message = error_of("capacity=5, capacty=10");
  CHECK_THAT(message, Catch::Contains("\"capacty\""));
  CHECK_THAT(message, Catch::Contains("valid keys are capacity, policy, block_timeout, "
                                      "monitor_interval, warn_utilization"));
  // Keys are case-sensitive.
  CHECK_THAT(error_of("Capacity=5"), Catch::Contains("unknown config key \"Capacity\""));
}

TEST_CASE("parse_config rejects a duplicate key", "[config]") {
  const auto message = error_of("capacity=5,policy=block,capacity = 6");
  CHECK_THAT(message, Catch::Contains("duplicate config key \"capacity\""));
}

TEST_CASE("parse_config rejects an entry without '=' or without a key", "[config]") {
  CHECK_THAT(error_of("capacity"), Catch::Contains("\"capacity\" has no '='"));
  CHECK_THAT(error_of("capacity=5 policy=block"), Catch::Contains("is not a number"));
  CHECK_THAT(error_of("=5"), Catch::Contains("unknown config key \"\""));
}

TEST_CASE("parse_config rejects an unknown policy and names the valid ones", "[config]") {
  const auto message = error_of("policy=drop_everything");
  CHECK_THAT(message, Catch::Contains("\"drop_everything\""));
  CHECK_THAT(message, Catch::Contains("drop_oldest, drop_newest, block"));
  CHECK_THAT(error_of("policy=Block"), Catch::Contains("\"Block\""));
  CHECK_THAT(error_of("policy="), Catch::Contains("\"\""));
}

TEST_CASE("parse_config rejects a capacity that is 0, not a number or out of range", "[config]") {
  CHECK_THAT(error_of("capacity=0"),
             Catch::Contains("capacity \"0\" is invalid") && Catch::Contains("at least 1"));
  CHECK_THAT(error_of("capacity=000"), Catch::Contains("\"000\" is invalid"));
  for (const char* bad : {"capacity=ten", "capacity=-5", "capacity=+5", "capacity=1e3",
                          "capacity=10 00", "capacity=", "capacity=0x10", "capacity=5.0"}) {
    INFO(bad);
    CHECK_THAT(error_of(bad),
               Catch::Contains("is not a number") && Catch::Contains("whole number from 1 to"));
  }
  CHECK_THAT(error_of("capacity=18446744073709551616"),
             Catch::Contains("\"18446744073709551616\" is out of range"));
}

TEST_CASE("parse_config rejects negative, unit-less and malformed durations", "[config]") {
  CHECK_THAT(
      error_of("block_timeout=-5ms"),
      Catch::Contains("block_timeout \"-5ms\" is negative") && Catch::Contains("ms, s or min"));
  CHECK_THAT(error_of("block_timeout=250"), Catch::Contains("block_timeout \"250\" has no unit") &&
                                                Catch::Contains("ms, s or min"));
  CHECK_THAT(error_of("monitor_interval=5 sec"),
             Catch::Contains("monitor_interval \"5 sec\" has unknown unit \"sec\""));
  CHECK_THAT(error_of("monitor_interval=5S"), Catch::Contains("unknown unit \"S\""));
  CHECK_THAT(error_of("block_timeout=1.5s"),
             Catch::Contains("is not a whole number") && Catch::Contains("1500ms"));
  CHECK_THAT(error_of("block_timeout=ms"), Catch::Contains("\"ms\" is not a duration"));
  CHECK_THAT(error_of("block_timeout="), Catch::Contains("\"\" is not a duration"));
  CHECK_THAT(error_of("block_timeout=153722867280912931min"), Catch::Contains("is out of range"));
  CHECK_THAT(error_of("block_timeout=99999999999999999999ms"), Catch::Contains("is out of range"));
}

TEST_CASE("parse_config rejects a zero monitor_interval and one longer than the maximum",
          "[config]") {
  CHECK_THAT(error_of("monitor_interval=0s"),
             Catch::Contains("monitor_interval \"0s\" is invalid") && Catch::Contains("> 0ms"));
  CHECK(bq::parse_config("monitor_interval=525600min").monitor_interval == bq::kMaxMonitorInterval);
  CHECK(error_of("monitor_interval=525601min") ==
        "bq: monitor_interval \"525601min\" is too long; it must be at most 31536000000ms (365 "
        "days)");
}

TEST_CASE("parse_config rejects warn_utilization outside (0, 1] or not a number", "[config]") {
  for (const char* bad :
       {"0", "1.0001", "-0.5", "2", "nan", "inf", "1e999", "-1e-999", "0e-5",
        "0.000e99999999999999999999", "1e99999999999999999999", "-0", "-5e-324"}) {
    INFO(bad);
    const auto message = error_of(std::string("warn_utilization=") + bad);
    CHECK_THAT(message, Catch::Contains(std::string("\"") + bad + "\" is outside (0, 1]"));
  }
  for (const char* bad : {"high", "80%", "0.8.1", "", ".", "+0.5", "0x0.8p0", "1e", "1e+"}) {
    INFO(bad);
    CHECK_THAT(error_of(std::string("warn_utilization=") + bad),
               Catch::Contains("is not a number") && Catch::Contains("(0, 1]"));
  }
}

TEST_CASE("parse_config rejects a warn_utilization too small for a double, saying so", "[config]") {
  for (const char* bad : {"1e-999", "2e-324", "0.0000001e-320", "1e-99999999999999999999"}) {
    INFO(bad);
    CHECK_THAT(error_of(std::string("warn_utilization=") + bad),
               Catch::Contains(std::string("\"") + bad + "\" is too small") &&
                   Catch::Contains("5e-324") && Catch::Contains("(0, 1]"));
  }
}

TEST_CASE("parse_config reads warn_utilization exactly, down to the smallest subnormal",
          "[config]") {
  const auto read = [](const std::string& value) {
    return bq::parse_config("warn_utilization=" + value).warn_utilization;
  };
  constexpr double kMin = std::numeric_limits<double>::denorm_min();
  CHECK(read("5e-324") == kMin);
  CHECK(read("4.9406564584124654e-324") == kMin);
  CHECK(read("3e-324") == kMin);  // Rounds up to the smallest subnormal.
  CHECK(read("1e-323") == 2 * kMin);
  CHECK(read("2.2250738585072014e-308") == std::numeric_limits<double>::min());
  CHECK(read("0.30000000000000004") == 0.1 + 0.2);
  CHECK(read("0.3") == 0.3);
  CHECK(read("0.3") != 0.1 + 0.2);
  CHECK(read("1.00000000000000001") == 1.0);  // Rounds to 1.
  CHECK(read(".5") == 0.5);
  CHECK(read("5.E-1") == 0.5);
  CHECK(read("000.250") == 0.25);
  CHECK(read("1000e-3") == 1.0);
  CHECK(read("0.0000000001e10") == 1.0);
  CHECK(read("2500000000000000000000000000000e-31") == 0.25);
  // The point 500 places from the digits, the exponent bringing it back.
  CHECK(read("0." + std::string(500, '0') + "125e+500") == 0.125);
  CHECK(read("125" + std::string(500, '0') + "e-503") == 0.125);
}

TEST_CASE("parse_config reads warn_utilization the same under a global locale with a decimal comma",
          "[config]") {
  // std::strtod reads the global C locale's decimal point. Whichever of these the
  // machine has (glibc's names, then Windows'); none on a machine with only C/POSIX.
  const std::string saved = std::setlocale(LC_NUMERIC, nullptr);
  const char* used = nullptr;
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE",
                           "de-DE", "German_Germany.1252", "French_France.1252"}) {
    if (std::setlocale(LC_NUMERIC, name) != nullptr &&
        std::string_view(std::localeconv()->decimal_point) == ",") {
      used = name;
      break;
    }
  }
  if (used == nullptr) {
    std::setlocale(LC_NUMERIC, saved.c_str());
    WARN("no locale with a decimal comma here: not tested");
    return;
  }
  INFO("global LC_NUMERIC locale " << used);
  bq::QueueConfig config;
  config.warn_utilization = 0.1 + 0.2;
  const bq::QueueConfig read = bq::parse_config(bq::to_string(config));
  const double exact =
      bq::parse_config("warn_utilization=4.9406564584124654e-324").warn_utilization;
  std::string comma_error;
  try {
    (void)bq::parse_config("warn_utilization=0,5");
  } catch (const bq::ConfigError& error) {
    comma_error = error.what();
  }
  const double naive = std::strtod("0.5", nullptr);  // What the parser must not do.
  std::setlocale(LC_NUMERIC, saved.c_str());
  CHECK(naive == 0.0);  // Stops at the '.': this locale is in force.
  CHECK(read == config);
  CHECK(exact == std::numeric_limits<double>::denorm_min());
  CHECK_THAT(comma_error, Catch::Contains("\"0\" is outside"));  // ',' separates entries.
}

TEST_CASE("parse_config quotes control characters and cuts long values in its errors", "[config]") {
  CHECK_THAT(error_of(std::string("policy=a\"b\\c\x01", 13)), Catch::Contains(R"("a\"b\\c\x01")"));
  const auto message = error_of("policy=" + std::string(1000, 'x'));
  CHECK_THAT(message, Catch::Contains("(1000 bytes)"));
  CHECK(message.size() < 300);
}

TEST_CASE("parse_config rejects an invalid base config", "[config]") {
  auto base = bq::QueueConfig{};
  base.capacity = 0;
  CHECK_THROWS_AS(bq::parse_config("", base), bq::ConfigError);
  CHECK(bq::parse_config("capacity=3", base).capacity == 3);
}

TEST_CASE("validate rejects a policy that is not a named OverflowPolicy, quoting its number",
          "[config]") {
  for (const int value : {3, 42, -1}) {
    bq::QueueConfig config;
    config.policy = static_cast<bq::OverflowPolicy>(value);
    INFO("policy " << value);
    CHECK_THROWS_WITH(bq::validate(config),
                      Catch::Contains("policy " + std::to_string(value) + " is not") &&
                          Catch::Contains("drop_oldest, drop_newest or block"));
    CHECK_THROWS_AS(bq::validate(config), bq::ConfigError);
  }
  for (const auto policy : {bq::OverflowPolicy::drop_oldest, bq::OverflowPolicy::drop_newest,
                            bq::OverflowPolicy::block}) {
    bq::QueueConfig config;
    config.policy = policy;
    CHECK_NOTHROW(bq::validate(config));
  }
}

TEST_CASE("validate checks the queue's own fields and leaves the monitor's to the monitor",
          "[config]") {
  bq::QueueConfig config;
  config.monitor_interval = 0ms;
  config.warn_utilization = 1.5;
  CHECK_NOTHROW(bq::validate(config));  // QueueMonitor rejects these (test_monitor.cpp).
  config.warn_utilization = -1.0;
  CHECK_NOTHROW(bq::validate(config));

  config.capacity = 0;
  CHECK_THROWS_WITH(bq::validate(config),
                    Catch::Contains("capacity 0 is invalid") && Catch::Contains("at least 1"));
  config.capacity = 1;
  config.block_timeout = -3ms;
  CHECK_THROWS_WITH(bq::validate(config),
                    Catch::Contains("block_timeout -3ms is negative") && Catch::Contains(">= 0ms"));
}

TEST_CASE("parse_config checks the monitor fields it reads, and keeps those of its base",
          "[config]") {
  CHECK_THAT(error_of("warn_utilization=1.5"), Catch::Contains("outside (0, 1]"));
  bq::QueueConfig base;
  base.warn_utilization = 1.5;  // Not the parser's to judge: the monitor's.
  CHECK(bq::parse_config("capacity=3", base).warn_utilization == 1.5);
  CHECK(bq::parse_config("warn_utilization=0.5", base).warn_utilization == 0.5);
}

TEST_CASE("to_string writes every key so that parse_config reads back an equal config",
          "[config]") {
  CHECK(bq::to_string(bq::QueueConfig{}) ==
        "capacity=1000,policy=drop_oldest,block_timeout=1s,monitor_interval=5s,"
        "warn_utilization=0.8");

  bq::QueueConfig config;
  config.capacity = 12345;
  config.policy = bq::OverflowPolicy::block;
  config.block_timeout = 250ms;
  config.monitor_interval = 2min;
  config.warn_utilization = 0.1 + 0.2;  // Not exactly 0.3: needs every digit to survive.
  const auto text = bq::to_string(config);
  CHECK(text ==
        "capacity=12345,policy=block,block_timeout=250ms,monitor_interval=2min,"
        "warn_utilization=0.30000000000000004");
  CHECK(bq::parse_config(text) == config);
}

TEST_CASE("to_string round-trips extreme valid configs", "[config]") {
  bq::QueueConfig config;
  config.capacity = std::numeric_limits<std::size_t>::max();
  config.policy = bq::OverflowPolicy::drop_newest;
  config.block_timeout = std::chrono::milliseconds::max();
  config.monitor_interval = 1ms;
  config.warn_utilization = std::numeric_limits<double>::denorm_min();
  CHECK(bq::parse_config(bq::to_string(config)) == config);

  config.block_timeout = 0ms;
  config.monitor_interval = 61s;
  config.warn_utilization = 1.0;
  CHECK(bq::to_string(config).find("block_timeout=0ms,monitor_interval=61s") != std::string::npos);
  CHECK(bq::parse_config(bq::to_string(config)) == config);
}
