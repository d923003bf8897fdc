#!/usr/bin/env bash
# Differential fuzzing of BoundedQueue against a std::deque model (tests/fuzz/fuzz_queue.cpp)
# with libFuzzer + AddressSanitizer + UBSan: one run per policy group (evict, drop, block,
# spsc), BQ_FUZZ_QUEUE_SECONDS each (default 45), every run starting from a temp copy of the
# committed seed corpus so the repository is never written to. Fails on any mismatch with
# the model, crash, sanitizer report, leak or hang (-timeout), and prints the input.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${BQ_FUZZ_QUEUE_SECONDS:-45}"
cxx="${BQ_FUZZ_CXX:-clang++}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-fuzz-queue.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== fuzz_queue: building with $cxx"
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -I"$repo/include" "$repo/tests/fuzz/fuzz_queue.cpp" \
  -o "$work/fuzz_queue"

for group in evict drop block spsc; do
  rm -rf "$work/corpus" "$work/artifacts"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$repo"/tests/fuzz/corpus/fuzz_queue/* "$work/corpus/"
  echo "== fuzz_queue [$group]: running for ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
  # -timeout: no input may take seconds (a hang means a wait that should not happen);
  # -rss_limit_mb keeps a leak from taking the shared machine down.
  BQ_FUZZ_POLICIES="$group" \
    ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=10}" \
    UBSAN_OPTIONS=print_stacktrace=1 \
    "$work/fuzz_queue" "$work/corpus" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=256 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 2>"$work/log" || {
    status=$?
    grep -E 'fuzz_queue: mismatch|runtime error|ERROR:' "$work/log" | head -n 5 || true
    tail -n 40 "$work/log"
    for crash in "$work"/artifacts/*; do
      [ -e "$crash" ] || continue
      echo "== crashing input $(basename "$crash") (base64; replay with BQ_FUZZ_POLICIES=$group):"
      base64 "$crash"
    done
    echo "fuzz_queue [$group] FAILED (exit $status)"
    exit 1
  }
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" || true
done
echo "fuzz_queue: OK"
