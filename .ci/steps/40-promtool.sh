#!/usr/bin/env bash
# Validates bq's Prometheus exposition with the real `promtool check metrics`
# (Debian package `prometheus`): builds a tiny program that exports queues with
# tricky names (quotes, backslashes, a line feed, non-ASCII and invalid UTF-8)
# and pipes its output to promtool, which fails on a parse error or a lint
# problem. Also checks that write_json's output parses as JSON when python3 is
# available. Non-zero exit on any failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cxx="${CXX:-c++}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-promtool.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$repo/scripts/install-deps.sh" --promtool
if ! command -v promtool >/dev/null; then
  echo "promtool not found: install Debian's 'prometheus' package (scripts/install-deps.sh --promtool)" >&2
  exit 1
fi

cat >"$work/export_tricky.cpp" <<'CPP'
#include <bq/export.hpp>

#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "prometheus";
  bq::QueueMetrics busy;
  busy.capacity = 1000;
  busy.size = 999;
  busy.high_watermark = 1000;
  busy.pushed = 18446744073709551615u;  // Largest counter value.
  busy.popped = 5;
  busy.dropped_oldest = 3;
  busy.dropped_newest = 2;
  busy.timed_out = 1;
  busy.rejected_closed = 4;
  const std::vector<std::pair<std::string, bq::QueueMetrics>> queues = {
      {"plain", busy},
      {"quote\"d", busy},
      {"back\\slash\\", busy},
      {"line\nfeed", busy},
      {"all \"three\" \\ \n at once", busy},
      {"caf\xC3\xA9 \xF0\x9F\x92\xAC", busy},
      {"invalid \xFF\xC0 utf-8", busy},
      {"", bq::QueueMetrics{}},
  };
  if (mode == "single") {
    bq::write_prometheus(std::cout, "one \"queue\"\\\n", busy);
  } else if (mode == "json") {
    bq::write_json(std::cout, queues);
    std::cout << '\n';
  } else {
    bq::write_prometheus(std::cout, queues);
  }
  return 0;
}
CPP

echo "== promtool: building the exporter with $cxx"
"$cxx" -std=c++20 -Wall -Wextra -Werror -I"$repo/include" "$work/export_tricky.cpp" \
  -o "$work/export_tricky"

status=0
for mode in prometheus single; do
  "$work/export_tricky" "$mode" >"$work/$mode.prom"
  if promtool check metrics <"$work/$mode.prom" >"$work/$mode.out" 2>&1; then
    echo "promtool check metrics ($mode, $(grep -vc '^#' "$work/$mode.prom") samples): OK"
  else
    echo "promtool check metrics ($mode) FAILED:"
    cat "$work/$mode.out"
    echo "-- exposition:"
    cat -A "$work/$mode.prom"
    status=1
  fi
done

# The escapes must be the exposition's own: \" \\ \n, one sample per line.
if ! grep -qF 'bq_size{queue="all \"three\" \\ \n at once"} 999' "$work/prometheus.prom"; then
  echo "escaped queue name not found in the exposition"
  status=1
fi

"$work/export_tricky" json >"$work/queues.json"
if command -v python3 >/dev/null; then
  if python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==8 and d[3]["queue"]=="line\nfeed", d' \
      <"$work/queues.json"; then
    echo "write_json output parses as JSON: OK"
  else
    echo "write_json output is not the expected JSON:"
    cat "$work/queues.json"
    status=1
  fi
else
  echo "python3 not found: skipping the JSON check"
fi

exit "$status"
