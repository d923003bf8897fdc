// Tests for parse_config / to_string(QueueConfig) in <bq/config.hpp>.
#include <bq/config.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>
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

TEST_CASE("parse_config rejects a zero monitor_interval", "[config]") {
  CHECK_THAT(error_of("monitor_interval=0s"),
             Catch::Contains("monitor_interval \"0s\" is invalid") && Catch::Contains("> 0ms"));
}

TEST_CASE("parse_config rejects warn_utilization outside (0, 1] or not a number", "[config]") {
  for (const char* bad : {"0", "1.0001", "-0.5", "2", "nan", "inf", "1e999", "1e-999"}) {
    INFO(bad);
    const auto message = error_of(std::string("warn_utilization=") + bad);
    CHECK_THAT(message, Catch::Contains(std::string("\"") + bad + "\" is outside (0, 1]"));
  }
  for (const char* bad : {"high", "80%", "0.8.1", "", ".", "+0.5"}) {
    INFO(bad);
    CHECK_THAT(error_of(std::string("warn_utilization=") + bad),
               Catch::Contains("is not a number") && Catch::Contains("(0, 1]"));
  }
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
