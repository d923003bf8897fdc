#!/usr/bin/env bash
# Fuzzes bq::parse_config for a bounded time (BQ_FUZZ_SECONDS, default 60) with
# libFuzzer + AddressSanitizer + UBSan, starting from the committed seed corpus
# (copied to a temp dir so the repository is never written to). Fails on any
# crash, sanitizer report, unexpected exception or round-trip mismatch.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${BQ_FUZZ_SECONDS:-60}"
cxx="${BQ_FUZZ_CXX:-clang++}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-fuzz-config.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== fuzz_config: building with $cxx"
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$repo/include" "$repo/tests/fuzz/fuzz_config.cpp" -o "$work/fuzz_config"

mkdir -p "$work/corpus" "$work/artifacts"
cp "$repo"/tests/fuzz/corpus/fuzz_config/* "$work/corpus/"

echo "== fuzz_config: running for ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
# -timeout: one input must not take a second; -rss_limit_mb keeps a leak from
# taking the shared machine down.
ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=10}" UBSAN_OPTIONS=print_stacktrace=1 \
  "$work/fuzz_config" "$work/corpus" \
  -max_total_time="$seconds" -timeout=1 -rss_limit_mb=1024 -max_len=512 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 2>"$work/log" || {
  status=$?
  tail -n 60 "$work/log"
  for crash in "$work"/artifacts/*; do
    [ -e "$crash" ] || continue
    echo "== crashing input $(basename "$crash") (base64):"
    base64 "$crash"
  done
  echo "fuzz_config FAILED (exit $status)"
  exit 1
}
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" || true
echo "fuzz_config: OK"
