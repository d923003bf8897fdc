#!/usr/bin/env bash
# Builds and runs the queue comparison (bench/), then writes docs/bench/results.md,
# docs/bench/chart.svg, docs/bench/results.json (every repetition, raw) and the measured
# part of docs/benchmarks.md (between its two markers; the rest of that page is kept).
#
#   scripts/bench.sh              the measured run (5 repetitions, 0.2 s min time)
#   scripts/bench.sh --smoke      1 repetition, 0.05 s: checks everything runs; writes to
#                                 build/bench/smoke/ instead of docs/bench/
#   scripts/bench.sh --no-deps    do not install packages (they must be there already)
# Environment: BQ_BENCH_REPETITIONS, BQ_BENCH_MIN_TIME, BQ_BENCH_BUILD_DIR, BQ_BENCH_OUT,
# BQ_BENCH_FILTER (a regex over queue ids, e.g. 'bq_|mutex'), BQ_BENCH_QUEUE_TIMEOUT (s), CXX.
#
# The run goes in rounds: each round runs every queue once (one repetition, each queue in its own
# process), so every queue's repetitions are spread over the whole run. On a shared VM the speed
# of cross-core traffic changes over minutes (where the host places the two vCPUs); spread like
# this, each queue's median sees the same mix and the ratios stay comparable. Numbers are only
# comparable within one run, on an otherwise idle machine: the report records the load average.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
smoke=0
deps=1
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --no-deps) deps=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ((smoke)); then
  reps="${BQ_BENCH_REPETITIONS:-1}"
  min_time="${BQ_BENCH_MIN_TIME:-0.05}"
else
  reps="${BQ_BENCH_REPETITIONS:-5}"
  min_time="${BQ_BENCH_MIN_TIME:-0.2}"
fi
build="${BQ_BENCH_BUILD_DIR:-$root/build/bench}"
if ((smoke)); then
  out="${BQ_BENCH_OUT:-$build/smoke}"
else
  out="${BQ_BENCH_OUT:-$root/docs/bench}"
fi
filter="${BQ_BENCH_FILTER:-.}"
queue_timeout="${BQ_BENCH_QUEUE_TIMEOUT:-300}"  # seconds; a spinning peer can crawl on a busy box
command_line="scripts/bench.sh${*:+ $*}"
[[ "${BQ_BENCH_REPETITIONS:-}" ]] && command_line="BQ_BENCH_REPETITIONS=$reps $command_line"
[[ "${BQ_BENCH_MIN_TIME:-}" ]] && command_line="BQ_BENCH_MIN_TIME=$min_time $command_line"
[[ "${BQ_BENCH_FILTER:-}" ]] && command_line="BQ_BENCH_FILTER='$filter' $command_line"
[[ "${BQ_BENCH_QUEUE_TIMEOUT:-}" ]] && command_line="BQ_BENCH_QUEUE_TIMEOUT=$queue_timeout $command_line"

# --- Dependencies: the project's, plus Google Benchmark and the peer queues (--bench).
if ((deps)); then
  "$root/scripts/install-deps.sh" --bench
fi

# --- Build: Release, the benchmarks only.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBQ_BUILD_BENCHMARKS=ON \
  -DBQ_BUILD_TESTS=OFF -DBQ_BUILD_EXAMPLES=OFF -DBQ_INSTALL=OFF >/dev/null
cmake --build "$build" --target bq_bench -j "$(nproc)"
bin="$build/bench/bq_bench"

# --- Run: one process per queue id, every repetition kept in JSON.
raw="$build/bench-json"
rm -rf "$raw"
mkdir -p "$raw" "$out"
mapfile -t queues < <("$bin" --benchmark_list_tests | cut -d/ -f2 | awk '!seen[$0]++' | grep -E "$filter")
if ((${#queues[@]} == 0)); then
  echo "bench.sh: no queue id matches BQ_BENCH_FILTER='$filter'" >&2
  exit 1
fi
# For the report: which benchmarks each queue has (so that one whose process was cut off
# before it ran shows "did not finish", not "-"), and how each failed process ended.
"$bin" --benchmark_list_tests >"$raw/registered.txt"
: >"$raw/failed.txt"
started=$(date +%s)
echo "bench.sh: ${#queues[@]} queues, $reps repetitions, min time $min_time s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
failed=()
for ((round = 1; round <= reps; round++)); do
  echo "bench.sh: round $round of $reps"
  for queue in "${queues[@]}"; do
    status=0
    BQ_BENCH_REPETITIONS=1 timeout "$queue_timeout" "$bin" \
      --benchmark_filter="^[^/]+/${queue}/" \
      --benchmark_min_time="$min_time" \
      --benchmark_out="$raw/$queue.$round.json" --benchmark_out_format=json \
      >"$raw/$queue.$round.log" 2>&1 || status=$?
    if ((status)); then
      reason="exit code $status"
      if ((status == 124)); then reason="cut off after $queue_timeout s"; fi  # timeout(1)'s code
      failed+=("$queue (round $round, $reason)")
      echo "$queue $round $status" >>"$raw/failed.txt"
    fi
    sed -n '/^-----/,$p' "$raw/$queue.$round.log" | grep -v '^-----\|^Benchmark ' || true
  done
done
echo "bench.sh: benchmarks took $(( $(date +%s) - started )) s"

# --- Report.
compiler="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
compiler_version="$("$compiler" --version | head -n1)"
note=""
readme="$build/benchmarks-section.md"  # spliced into docs/benchmarks.md below
if ((smoke)); then
  note="smoke run (1 repetition, short): not a measurement"
  readme="$out/benchmarks-section.md"
fi
python3 "$root/bench/report.py" --out "$out" \
  --meta "command=$command_line" \
  --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --meta "compiler=$compiler_version" \
  --meta "build_type=Release" \
  --meta "repetitions=$reps" \
  --meta "min_time=$min_time" \
  ${note:+--meta "note=$note"} \
  --readme "$readme" \
  --registered "$raw/registered.txt" --failed "$raw/failed.txt" \
  "$raw"/*.json
if ((!smoke)); then
  # The section goes into docs/benchmarks.md between its two markers (the hand-written rest
  # is kept), its links (relative to the root, as report.py writes them) made relative to docs/.
  python3 - "$readme" "$root/docs/benchmarks.md" <<'PY'
import re, sys
section, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
section = re.sub(r"\]\((docs/|bench/)", lambda m: "](" if m.group(1) == "docs/" else "](../bench/",
                 section).replace("## Benchmarks\n", "## bq and its peers, measured\n", 1)
begin = doc.index("-->\n", doc.index("<!-- scripts/bench.sh rewrites")) + len("-->\n")
end = doc.index("<!-- end of the part scripts/bench.sh writes -->")
with open(sys.argv[2], "w") as f:
    f.write(doc[:begin] + section.rstrip("\n") + "\n" + doc[end:])
PY
fi
if ((${#failed[@]})); then
  echo "bench.sh: bq_bench exited with an error for: ${failed[*]} (logs in $raw)" >&2
  exit 1
fi
