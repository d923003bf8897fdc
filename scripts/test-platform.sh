#!/usr/bin/env bash
# Builds bq's tests for another platform and runs them on this machine (Debian, x86-64).
#
#   scripts/test-platform.sh libcxx      clang++ with libc++ (-stdlib=libc++), run natively
#   scripts/test-platform.sh mingw       Windows x86-64 (MinGW-w64 g++, posix threads),
#                                        run under wine64
#   scripts/test-platform.sh aarch64     Linux aarch64 (g++, -static), run under qemu-aarch64
#   scripts/test-platform.sh P --no-deps       do not run scripts/install-deps.sh --platforms
#   scripts/test-platform.sh P -- -R spsc      anything after -- goes to ctest
#
# Each platform has its toolchain file in cmake/toolchains/ and its own Release build tree,
# build/platform-<P>: bq_tests and the fuzz-corpus replays (no examples, benchmarks or
# fuzzers), {fmt} header-only. ctest runs the tests through the toolchain's emulator.
# The stress tests run at a fraction of their size under emulation (BQ_STRESS_SCALE), and
# the tests a platform adds to `skip` below are left out, each for the reason given there.
# docs/platforms.md says what each job runs and what it shortens.
#
# Environment: BQ_JOBS (default: nproc), BQ_STRESS_SCALE (default: per platform, below),
# BQ_BUILD_DIR (default build/platform-<P>), BQ_CMAKE_ARGS (extra configure arguments).
# Exits non-zero if the configure, the build or any test fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,20p' "$0"; }

platform=""
deps=1
ctest_args=()
while (($#)); do
  case "$1" in
    libcxx|mingw|aarch64) platform="$1"; shift ;;
    --no-deps) deps=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test-platform: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$platform" ]]; then
  echo "test-platform: which platform? libcxx, mingw or aarch64 (try --help)" >&2
  exit 2
fi

if ((deps)); then
  "$root/scripts/install-deps.sh" --platforms
fi

jobs="${BQ_JOBS:-$(nproc)}"
build="${BQ_BUILD_DIR:-$root/build/platform-$platform}"

# Per platform: the toolchain file, the stress scale, the test files that cannot be built
# there (BQ_TESTS_EXCLUDE, a CMake list) and the tests left out (skip: ctest -E regular
# expressions over test names, each matching from the start of the name). Each says why.
excluded_files=""
skip=()
case "$platform" in
  libcxx)
    toolchain=clang-libcxx.cmake
    scale="${BQ_STRESS_SCALE:-1}"
    ;;
  mingw)
    toolchain=mingw-w64-posix.cmake
    scale="${BQ_STRESS_SCALE:-0.25}"
    ;;
  aarch64)
    toolchain=aarch64-linux-gnu.cmake
    scale="${BQ_STRESS_SCALE:-0.25}"
    ;;
esac

echo "test-platform: $platform: toolchain cmake/toolchains/$toolchain, build tree $build," \
  "BQ_STRESS_SCALE=$scale"
# -O1: compiling the tests is most of each job's time, and -O1 builds them in about half
# the time of Release's -O3 (they are correctness tests; bench/ measures speed).
args=(-S "$root" -B "$build" --toolchain "$root/cmake/toolchains/$toolchain"
      -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" -DBQ_CHECK_HEADERS=OFF -DBQ_FMT_HEADER_ONLY=ON "-DBQ_TESTS_EXCLUDE=$excluded_files"
      -DBQ_BUILD_TESTS=ON -DBQ_BUILD_EXAMPLES=OFF -DBQ_BUILD_BENCHMARKS=OFF
      -DBQ_BUILD_FUZZERS=OFF -DBQ_INSTALL=OFF -DBQ_SANITIZE=)
# A fresh build tree uses Ninja when it is there; an existing one keeps its generator.
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
  args+=(-G Ninja)
fi
# shellcheck disable=SC2206  # word splitting of BQ_CMAKE_ARGS is the point
args+=(${BQ_CMAKE_ARGS:-})
cmake "${args[@]}"
cmake --build "$build" -j "$jobs"

if [[ "$platform" == mingw ]]; then
  # The emulator line the toolchain file wrote: env WINEPREFIX=... WINEDEBUG=-all ... wine64.
  wine64="$(sed -n 's/^BQ_WINE64:FILEPATH=//p' "$build/CMakeCache.txt")"
  if [[ -z "$wine64" || ! -x "$wine64" ]]; then
    echo "test-platform: wine64 not found (Debian package wine64)" >&2
    exit 1
  fi
  export WINEPREFIX="${WINEPREFIX:-$build/wine-prefix}" WINEDEBUG=-all \
    WINEDLLOVERRIDES="mscoree,mshtml="
  # One wineserver for the whole run (a test's wine then starts in milliseconds), stopped
  # on exit; the first start in a new prefix creates it, which takes a while.
  start=$SECONDS
  wineserver="$(dirname "$wine64")/wineserver"
  mkdir -p "$WINEPREFIX"
  "$wineserver" -k 2>/dev/null || true  # one left over from an interrupted run
  # Wine's background processes (wineserver, the services wineboot starts) keep whatever
  # output they were given open until killed: give them a log file, not our output (a pipe
  # to tee in CI, which would otherwise wait for them).
  "$wineserver" -p >>"$build/wine.log" 2>&1 </dev/null
  trap '"$wineserver" -k 2>/dev/null || true' EXIT
  "$wine64" wineboot --init >>"$build/wine.log" 2>&1 </dev/null
  echo "test-platform: wine prefix $WINEPREFIX ready in $((SECONDS - start)) s"
fi

cd "$build"
ctest_filter=()
if ((${#skip[@]})); then
  skip_regex="$(printf '|^%s' "${skip[@]}")"
  skip_regex="${skip_regex#|}"
  ctest_filter=(-E "$skip_regex")
  echo "test-platform: $platform: skipping these tests (see scripts/test-platform.sh for why):"
  ctest -N -R "$skip_regex" | sed -n 's/^ *Test *#[0-9]*: /  /p'
fi
BQ_STRESS_SCALE="$scale" ctest --output-on-failure --no-tests=error -j "$jobs" \
  "${ctest_filter[@]}" "${ctest_args[@]}"
