#!/usr/bin/env bash
# Builds bq and runs every test: the README's test command.
#
#   ./scripts/test.sh                      Release build in build/test, then ctest
#   ./scripts/test.sh --preset tsan        use a CMake preset (build/<preset>) instead
#   ./scripts/test.sh -- -L stress         anything after -- goes to ctest
#   ./scripts/test.sh --no-deps            do not run scripts/install-deps.sh
#
# Environment (without --preset): CXX (compiler), BQ_SANITIZE ("thread",
# "address,undefined": Debug, -g1, unless BQ_BUILD_TYPE is set), BQ_BUILD_TYPE
# (default Release), BQ_BUILD_DIR (default build/test), BQ_CMAKE_ARGS (extra
# configure arguments, space-separated), BQ_JOBS (default: nproc).
# Exits non-zero if the configure, the build or any test fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset=""
deps=1
ctest_args=()
while (($#)); do
  case "$1" in
    --preset) preset="${2:?--preset needs a name}"; shift 2 ;;
    --preset=*) preset="${1#--preset=}"; shift ;;
    --no-deps) deps=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if ((deps)); then
  "$root/scripts/install-deps.sh"
fi

jobs="${BQ_JOBS:-$(nproc)}"
sanitize="${BQ_SANITIZE:-}"

if [[ -n "$preset" ]]; then
  build="$root/build/$preset"
  (cd "$root" && cmake --preset "$preset")
else
  build="${BQ_BUILD_DIR:-$root/build/test}"
  args=(-S "$root" -B "$build")
  # A fresh build tree uses Ninja when it is there; an existing one keeps its generator.
  if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    args+=(-G Ninja)
  fi
  if [[ -n "$sanitize" ]]; then
    # Debug with line tables only: sanitizer reports still name file:line, and with
    # g++'s ASan+UBSan this compiles about 5x faster than -O1 -g.
    args+=("-DBQ_SANITIZE=$sanitize" "-DCMAKE_BUILD_TYPE=${BQ_BUILD_TYPE:-Debug}"
           "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O0")
  else
    args+=("-DBQ_SANITIZE=" "-DCMAKE_BUILD_TYPE=${BQ_BUILD_TYPE:-Release}")
  fi
  if [[ -n "${CXX:-}" ]]; then
    args+=("-DCMAKE_CXX_COMPILER=$CXX")
  fi
  # shellcheck disable=SC2206  # word splitting of BQ_CMAKE_ARGS is the point
  args+=(${BQ_CMAKE_ARGS:-})
  cmake "${args[@]}"
fi

cmake --build "$build" -j "$jobs"

# Sanitizer runtimes of clang 14 / gcc 12 cannot map their shadow memory when the
# kernel randomizes mmap with more than 28 bits (vm.mmap_rnd_bits, raised by newer
# kernels): run the tests with address-space randomization off in that case.
runner=()
if [[ -z "$preset" && -n "$sanitize" ]] || [[ "$preset" == tsan || "$preset" == asan-ubsan ]]; then
  bits="$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)"
  if ((bits > 28)) && command -v setarch >/dev/null 2>&1; then
    echo "test.sh: vm.mmap_rnd_bits=$bits > 28: running the sanitized tests under 'setarch -R'"
    runner=(setarch "$(uname -m)" -R)
  fi
fi

cd "$build"
"${runner[@]}" ctest --output-on-failure --no-tests=error -j "$jobs" "${ctest_args[@]}"
