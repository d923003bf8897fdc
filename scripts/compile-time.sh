#!/usr/bin/env bash
# Measures what including bq's core header costs a translation unit, against the
# same include of atomic_queue and moodycamel::ConcurrentQueue (Debian's
# libatomic-queue-dev and libconcurrentqueue-dev), and writes docs/bench/compile-time.md.
#
#   scripts/compile-time.sh [runs]     runs per cell (default 7); cells are medians
#
# Each cell: wall seconds of `$CXX -std=c++20 -fsyntax-only` on a file with one
# #include, and the lines it preprocesses to (-E -P, no line markers).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-7}"
"$root/scripts/install-deps.sh" --bench  # the two peers' headers, and bc
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

declare -A includes=(
  [bq]="bq/bounded_queue.hpp"
  [atomic_queue]="atomic_queue/atomic_queue.h"
  [moodycamel]="concurrentqueue/concurrentqueue.h"
)
order=(bq atomic_queue moodycamel)

median_seconds() {  # <compiler> <file>
  local i
  for ((i = 0; i < runs; ++i)); do
    local start end
    start=$(date +%s.%N)
    $1 -std=c++20 -I"$root/include" -fsyntax-only "$2"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
  done | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'
}

out="$root/docs/bench/compile-time.md"
{
  echo "# Compile cost of the core header"
  echo
  echo "What \`#include\` of each queue's header costs one translation unit: median wall"
  echo "seconds of \`-std=c++20 -fsyntax-only\` over $runs runs, and preprocessed lines"
  echo "(\`-E -P\`). $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average"
  echo "$(cut -d' ' -f1-3 /proc/loadavg). Reproduce: \`scripts/compile-time.sh $runs\`."
  echo
  echo "| compiler | header | seconds | lines | seconds / atomic_queue |"
  echo "|---|---|---|---|---|"
  for cxx in g++ clang++; do
    declare -A seconds=()
    for name in "${order[@]}"; do
      printf '#include <%s>\n' "${includes[$name]}" >"$work/$name.cpp"
      seconds[$name]="$(median_seconds "$cxx" "$work/$name.cpp")"
    done
    for name in "${order[@]}"; do
      lines="$($cxx -std=c++20 -I"$root/include" -E -P "$work/$name.cpp" | wc -l)"
      ratio="$(echo "scale=2; ${seconds[$name]} / ${seconds[atomic_queue]}" | bc)"
      echo "| $($cxx --version | head -n 1 | sed -E 's/ \(.*\)//') | \`<${includes[$name]}>\` | ${seconds[$name]} | $lines | ${ratio}x |"
    done
    unset seconds
  done
} >"$out"
cat "$out"
