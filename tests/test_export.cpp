// Tests for write_prometheus / write_json in <bq/export.hpp>.
// (promtool validates the exposition in CI: .ci/steps/40-promtool.sh.)
#include <bq/export.hpp>

#include <catch2/catch.hpp>
#include <cstdint>
#include <locale>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

bq::QueueMetrics sample_metrics() {
  bq::QueueMetrics m;
  m.capacity = 1000;
  m.size = 250;
  m.high_watermark = 1000;
  m.pushed = 123456;
  m.popped = 120000;
  m.dropped_oldest = 3206;
  m.dropped_newest = 7;
  m.timed_out = 5;
  m.rejected_closed = 2;
  m.discarded = 11;
  return m;
}

std::string prometheus(std::string_view name, const bq::QueueMetrics& m) {
  std::ostringstream out;
  bq::write_prometheus(out, name, m);
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Reads back the queue label of a sample line, undoing the exposition escapes.
std::string queue_label(const std::string& line) {
  const std::string open = "{queue=\"";
  auto i = line.find(open);
  REQUIRE(i != std::string::npos);
  std::string value;
  for (i += open.size(); i < line.size() && line[i] != '"'; ++i) {
    if (line[i] == '\\') {
      ++i;
      REQUIRE(i < line.size());
      value += line[i] == 'n' ? '\n' : line[i];
    } else {
      value += line[i];
    }
  }
  REQUIRE(i < line.size());
  return value;
}

// A locale that groups thousands and uses a decimal comma, as some users' global locales do.
struct GroupingPunct : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

struct NamedQueue {
  std::string name;
  bq::QueueMetrics metrics;
};

}  // namespace

TEST_CASE("write_prometheus writes every family with HELP, TYPE and a labelled sample",
          "[export]") {
  CHECK(prometheus("ingest", sample_metrics()) ==
        "# HELP bq_capacity Maximum number of items the queue holds.\n"
        "# TYPE bq_capacity gauge\n"
        "bq_capacity{queue=\"ingest\"} 1000\n"
        "# HELP bq_size Items queued when the metrics were read.\n"
        "# TYPE bq_size gauge\n"
        "bq_size{queue=\"ingest\"} 250\n"
        "# HELP bq_high_watermark Largest size since the queue was built or its high "
        "watermark was last reset.\n"
        "# TYPE bq_high_watermark gauge\n"
        "bq_high_watermark{queue=\"ingest\"} 1000\n"
        "# HELP bq_utilization_ratio Size divided by capacity, from 0 to 1.\n"
        "# TYPE bq_utilization_ratio gauge\n"
        "bq_utilization_ratio{queue=\"ingest\"} 0.25\n"
        "# HELP bq_pushed_total Items accepted by a push.\n"
        "# TYPE bq_pushed_total counter\n"
        "bq_pushed_total{queue=\"ingest\"} 123456\n"
        "# HELP bq_popped_total Items returned by a pop.\n"
        "# TYPE bq_popped_total counter\n"
        "bq_popped_total{queue=\"ingest\"} 120000\n"
        "# HELP bq_dropped_total Items not delivered. outcome=lost: gone (reason=oldest: "
        "evicted to make room for a newer item; reason=discarded: removed by "
        "close_and_discard() or clear()). outcome=refused: returned to the caller, who still "
        "holds them (reason=newest: the queue was full; reason=timed_out: no room before the "
        "deadline).\n"
        "# TYPE bq_dropped_total counter\n"
        "bq_dropped_total{queue=\"ingest\",reason=\"oldest\",outcome=\"lost\"} 3206\n"
        "bq_dropped_total{queue=\"ingest\",reason=\"discarded\",outcome=\"lost\"} 11\n"
        "bq_dropped_total{queue=\"ingest\",reason=\"newest\",outcome=\"refused\"} 7\n"
        "bq_dropped_total{queue=\"ingest\",reason=\"timed_out\",outcome=\"refused\"} 5\n"
        "# HELP bq_rejected_closed_total Pushes refused because the queue was closed; the "
        "caller still holds the items.\n"
        "# TYPE bq_rejected_closed_total counter\n"
        "bq_rejected_closed_total{queue=\"ingest\"} 2\n");
}

TEST_CASE(
    "write_prometheus labels every bq_dropped_total sample lost or refused, and the lost "
    "ones add up to QueueMetrics::lost()",
    "[export]") {
  const auto m = sample_metrics();
  std::uint64_t lost = 0, refused = 0;
  for (const auto& line : lines_of(prometheus("q", m))) {
    if (line.rfind("bq_dropped_total{", 0) != 0) continue;
    const auto value = std::stoull(line.substr(line.rfind(' ') + 1));
    const bool is_lost = line.find(",outcome=\"lost\"}") != std::string::npos;
    const bool is_refused = line.find(",outcome=\"refused\"}") != std::string::npos;
    INFO(line);
    CHECK(is_lost != is_refused);
    (is_lost ? lost : refused) += value;
  }
  CHECK(lost == m.lost());
  CHECK(refused == m.refused() - m.rejected_closed);  // closed: bq_rejected_closed_total
}

TEST_CASE("write_prometheus writes several queues as one sample each under one family",
          "[export]") {
  auto second = sample_metrics();
  second.size = 1;
  second.capacity = 3;
  std::ostringstream out;
  bq::write_prometheus(out, {{"a", sample_metrics()}, {"b", second}});
  const auto lines = lines_of(out.str());

  std::size_t helps = 0, types = 0, size_samples = 0, dropped_samples = 0;
  for (const auto& line : lines) {
    helps += line.rfind("# HELP ", 0) == 0;
    types += line.rfind("# TYPE ", 0) == 0;
    size_samples += line.rfind("bq_size{", 0) == 0;
    dropped_samples += line.rfind("bq_dropped_total{", 0) == 0;
  }
  CHECK(helps == 8);
  CHECK(types == 8);
  CHECK(size_samples == 2);
  CHECK(dropped_samples == 8);
  CHECK(lines.size() == 16 + 2 * 11);
  CHECK_THAT(out.str(), Catch::Contains("bq_size{queue=\"a\"} 250\nbq_size{queue=\"b\"} 1\n"));
  CHECK_THAT(out.str(), Catch::Contains("bq_utilization_ratio{queue=\"b\"} 0.3333333333333333\n"));
}

TEST_CASE("write_prometheus accepts maps, vectors of structs and empty ranges", "[export]") {
  const std::map<std::string, bq::QueueMetrics> by_name = {{"x", sample_metrics()},
                                                           {"y", bq::QueueMetrics{}}};
  std::ostringstream from_map;
  bq::write_prometheus(from_map, by_name);

  const std::vector<NamedQueue> named = {{"x", sample_metrics()}, {"y", bq::QueueMetrics{}}};
  std::ostringstream from_vector;
  bq::write_prometheus(from_vector, named);
  CHECK(from_map.str() == from_vector.str());
  CHECK_THAT(from_map.str(), Catch::Contains("bq_utilization_ratio{queue=\"y\"} 0\n"));

  std::ostringstream empty;
  bq::write_prometheus(empty, std::vector<NamedQueue>{});
  CHECK(empty.str().empty());
}

TEST_CASE("write_prometheus escapes backslashes, quotes and line feeds in queue names",
          "[export]") {
  const std::string tricky = "say \"hi\"\\path\nnext line";
  const auto text = prometheus(tricky, sample_metrics());
  CHECK_THAT(text, Catch::Contains(R"(bq_size{queue="say \"hi\"\\path\nnext line"} 250)"));
  std::size_t samples = 0;
  for (const auto& line : lines_of(text)) {
    if (line.rfind('#', 0) == 0) continue;
    ++samples;
    CHECK(queue_label(line) == tricky);
  }
  CHECK(samples == 11);  // No sample was split across lines by the embedded line feed.
}

TEST_CASE("write_prometheus keeps valid UTF-8 and replaces invalid bytes with U+FFFD", "[export]") {
  CHECK_THAT(prometheus("caf\xC3\xA9 \xF0\x9F\x92\xAC", bq::QueueMetrics{}),
             Catch::Contains("{queue=\"caf\xC3\xA9 \xF0\x9F\x92\xAC\"}"));
  // A stray continuation byte, a truncated sequence, an overlong '/', a surrogate, > U+10FFFF.
  const std::string bad =
      "a\x80"
      "b\xE2\x82"
      "c\xC0\xAF"
      "d\xED\xA0\x80"
      "e\xF4\x90\x80\x80";
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK_THAT(prometheus(bad, bq::QueueMetrics{}),
             Catch::Contains("{queue=\"a" + fffd + "b" + fffd + fffd + "c" + fffd + fffd + "d" +
                             fffd + fffd + fffd + "e" + fffd + fffd + fffd + fffd + "\"}"));
}

TEST_CASE("write_prometheus and write_json ignore the stream's locale", "[export]") {
  std::ostringstream plain;
  bq::write_prometheus(plain, "q", sample_metrics());
  bq::write_json(plain, "q", sample_metrics());

  std::ostringstream localized;
  localized.imbue(std::locale(std::locale::classic(), new GroupingPunct));
  localized << 123456 << ' ' << 0.25;
  REQUIRE(localized.str() == "123.456 0,25");  // The locale does change ordinary output...
  localized.str("");
  bq::write_prometheus(localized, "q", sample_metrics());
  bq::write_json(localized, "q", sample_metrics());
  CHECK(localized.str() == plain.str());  // ...but not ours.
}

TEST_CASE("write_json writes one object per queue with every counter", "[export]") {
  std::ostringstream out;
  bq::write_json(out, "ingest", sample_metrics());
  CHECK(out.str() == R"({"queue":"ingest","capacity":1000,"size":250,"high_watermark":1000,)"
                     R"("utilization":0.25,"pushed":123456,"popped":120000,"lost":3217,)"
                     R"("refused":14,"dropped":3218,)"
                     R"("dropped_oldest":3206,"dropped_newest":7,"timed_out":5,"discarded":11,)"
                     R"("rejected_closed":2})");
}

TEST_CASE("write_json writes an array for several queues", "[export]") {
  std::ostringstream out;
  bq::write_json(out, {{"a", bq::QueueMetrics{}}, {"b", bq::QueueMetrics{}}});
  const std::string zero =
      R"("capacity":0,"size":0,"high_watermark":0,"utilization":0,"pushed":0,"popped":0,)"
      R"("lost":0,"refused":0,"dropped":0,"dropped_oldest":0,"dropped_newest":0,"timed_out":0,"discarded":0,)"
      R"("rejected_closed":0})";
  CHECK(out.str() == R"([{"queue":"a",)" + zero + R"(,{"queue":"b",)" + zero + "]");

  std::ostringstream none;
  bq::write_json(none, std::vector<NamedQueue>{});
  CHECK(none.str() == "[]");
}

TEST_CASE("write_json escapes quotes, backslashes, control characters and bad UTF-8", "[export]") {
  std::ostringstream out;
  bq::write_json(out, std::string("q\"\\\n\t\r\x01\x1f\x7f\xFF\xC3\xA9", 12), bq::QueueMetrics{});
  CHECK_THAT(out.str(), Catch::StartsWith(R"({"queue":"q\"\\\n\t\r\u0001\u001f)"
                                          "\x7f\xEF\xBF\xBD\xC3\xA9\","));
}
