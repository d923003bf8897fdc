#!/usr/bin/env bash
# The benchmarks build and run: bq_bench (bench/) with every peer Debian has, built by g++ and
# by clang++ with the house warnings as errors, then each build runs every bq row briefly, the
# multi-thread and overload scenarios too (their item checks fail the run if a queue lost,
# duplicated or reordered an item). Last, scripts/bench.sh --smoke runs bq's SPSC queue and the
# mutex ring through the whole pipeline (its rounds, the JSON, report.py) on the g++ build. No
# number is kept: performance is measured by scripts/bench.sh, never in CI.
# Needs the --bench packages (scripts/install-deps.sh --bench). Fails if any build or run failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/scripts/install-deps.sh" --bench  # nothing to do when installed
jobs="${BQ_JOBS:-2}"

mapfile -t declared < <(sed -n 's/^ *_bq_bench_peer(\([A-Za-z0-9_]*\) .*/\1/p' \
  "$repo/bench/CMakeLists.txt")
if ((${#declared[@]} == 0)); then
  echo "bench-build: found no _bq_bench_peer(...) in bench/CMakeLists.txt; update this step"
  exit 1
fi

mkdir -p "$repo/build"  # the configure logs sit next to the build trees
status=0
for cxx in g++ clang++; do
  build="$repo/build/ci-bench-$cxx"
  echo "bench-build: $cxx"
  if ! cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=Release -DBQ_BUILD_BENCHMARKS=ON -DBQ_BUILD_TESTS=OFF \
      -DBQ_BUILD_EXAMPLES=OFF -DBQ_INSTALL=OFF -DBQ_CHECK_HEADERS=OFF -DBQ_FETCH_DEPENDENCIES=OFF \
      >"$build.configure.log" 2>&1 ||
     ! cmake --build "$build" -j "$jobs"; then
    echo "bench-build: FAILED to build with $cxx (configure log: $build.configure.log)"
    status=1
    continue
  fi
  # Every peer is installed above, so every peer bench/CMakeLists.txt declares must be built
  # in: one whose header moved would otherwise drop out of the comparison with only a
  # configure notice.
  built="$(sed -n 's/.*bq_bench: queues built: //p' "$build.configure.log" | tr ';' ' ')"
  for peer in bq mutex_ring "${declared[@]}"; do
    if [[ " $built " != *" $peer "* ]]; then
      echo "bench-build: $cxx: $peer is installed but not built in (built: $built)"
      status=1
    fi
  done
  if ! BQ_BENCH_REPETITIONS=1 "$build/bench/bq_bench" --benchmark_min_time=0.01 \
      --benchmark_filter='/bq_' \
      >"$build.run.log" 2>&1 || grep -q "ERROR OCCURRED" "$build.run.log"; then
    echo "bench-build: bq_bench ($cxx) failed:"
    tail -n 20 "$build.run.log"
    status=1
  else
    echo "bench-build: $cxx: $(grep -c '/bq_' "$build.run.log") bq rows ran"
  fi
done

# scripts/bench.sh itself, as a user runs it (only shorter), on the g++ build above: every
# scenario of two queues, one of them a peer, then the report. A queue whose process failed or
# whose check failed shows as such in results.md rather than failing the script, so look there.
smoke="$repo/build/ci-bench-smoke"
rm -rf "$smoke"
if ! BQ_BENCH_BUILD_DIR="$repo/build/ci-bench-g++" BQ_BENCH_OUT="$smoke" \
    BQ_BENCH_FILTER='^(bq_spsc|mutex_ring)$' "$repo/scripts/bench.sh" --smoke --no-deps \
    >"$smoke.log" 2>&1; then
  echo "bench-build: scripts/bench.sh --smoke failed:"
  tail -n 20 "$smoke.log"
  status=1
elif grep -Eq '\*\*(check failed|did not finish)\*\*' "$smoke/results.md" ||
    ! grep -q 'BoundedQueue&lt;Block, Spsc&gt;' "$smoke/results.md" ||
    ! grep -q 'std::mutex' "$smoke/results.md"; then
  echo "bench-build: scripts/bench.sh --smoke wrote a report with a failed or missing row:"
  grep -E '\*\*(check failed|did not finish)\*\*|Spsc|mutex' "$smoke/results.md" | head -n 20
  status=1
else
  echo "bench-build: scripts/bench.sh --smoke: report written ($smoke/results.md)"
fi
exit "$status"
