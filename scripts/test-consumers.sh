#!/usr/bin/env bash
# Builds and runs the consumer projects in tests/consumers/, which use bq the three
# ways a user does, against this working tree:
#   add_subdirectory   bq vendored as a subdirectory
#   fetchcontent       FetchContent, overridden with FETCHCONTENT_SOURCE_DIR_BQ (the
#                      tree as it is), and, in a git checkout, a real clone of HEAD
#   find_package       after a real `cmake --install` into a temporary prefix; also
#                      checks the installed files and that an incompatible version
#                      request is refused
# Each consumer also checks that none of bq's tests or warning flags reach it.
#
#   scripts/test-consumers.sh      (CXX picks the compiler; BQ_JOBS the parallelism)
# Prints "consumers: N passed, M failed"; exits non-zero if any failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
consumers="$root/tests/consumers"
jobs="${BQ_JOBS:-$(nproc)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-consumers.XXXXXX")"
trap 'rm -rf "$work"' EXIT

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
compiler=()
if [[ -n "${CXX:-}" ]]; then compiler=("-DCMAKE_CXX_COMPILER=$CXX"); fi

passed=0
failed=0
failures=()

# run <name> <command...>: runs one check, logging to $work/<name>.log.
run() {
  local name="$1"
  shift
  local start=$SECONDS
  if "$@" >"$work/$name.log" 2>&1; then
    passed=$((passed + 1))
    echo "consumers: $name: passed ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "consumers: $name: FAILED ($((SECONDS - start)) s); log:"
    tail -n 40 "$work/$name.log" | sed 's/^/  | /'
  fi
}

# build_and_run <source-dir> <build-dir> [cmake args...]: configure, build, run the program.
build_and_run() {
  local src="$1" bin="$2"
  shift 2
  cmake -S "$src" -B "$bin" "${generator[@]}" "${compiler[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$bin" -j "$jobs"
  (cd "$bin" && ctest --output-on-failure --no-tests=error)
  # bq's own tests must not have been built for a consumer.
  if find "$bin" -name 'bq_tests*' -type f | grep -q .; then
    echo "bq's tests were built inside a consumer" >&2
    return 1
  fi
}

check_add_subdirectory() {
  build_and_run "$consumers/add_subdirectory" "$work/add_subdirectory" "-DBQ_SOURCE_DIR=$root"
}

check_fetchcontent_source_dir() {
  build_and_run "$consumers/fetchcontent" "$work/fetchcontent-source" \
    "-DFETCHCONTENT_SOURCE_DIR_BQ=$root"
}

check_fetchcontent_git() {
  local commit
  commit="$(git -C "$root" rev-parse HEAD)"
  build_and_run "$consumers/fetchcontent" "$work/fetchcontent-git" \
    "-DBQ_GIT_REPOSITORY=file://$root" "-DBQ_GIT_TAG=$commit"
}

check_find_package() {
  local prefix="$work/prefix"
  # Install bq as a user would: only the library (tests and examples off).
  cmake -S "$root" -B "$work/bq-install-build" "${generator[@]}" "${compiler[@]}" \
    -DBQ_BUILD_TESTS=OFF -DBQ_BUILD_EXAMPLES=OFF -DBQ_INSTALL=ON
  cmake --build "$work/bq-install-build"
  cmake --install "$work/bq-install-build" --prefix "$prefix"
  local file
  for file in include/bq/bounded_queue.hpp include/bq/version.hpp share/cmake/bq/bq-config.cmake \
    share/cmake/bq/bq-config-version.cmake share/cmake/bq/bq-targets.cmake; do
    if [[ ! -f "$prefix/$file" ]]; then
      echo "not installed: $file" >&2
      return 1
    fi
  done
  # The installed headers are exactly the source tree's.
  diff -r "$root/include/bq" "$prefix/include/bq"
  build_and_run "$consumers/find_package" "$work/find_package" "-DCMAKE_PREFIX_PATH=$prefix"
  # SameMajorVersion: asking for the next major version must fail.
  local major
  major="$(sed -n 's/^#define BQ_VERSION_MAJOR \([0-9]*\).*/\1/p' "$root/include/bq/version.hpp")"
  if cmake -S "$consumers/find_package" -B "$work/find_package-wrong" "${generator[@]}" \
    "-DCMAKE_PREFIX_PATH=$prefix" "-DBQ_REQUIRED_VERSION=$((major + 1)).0" >"$work/wrong.log" 2>&1; then
    echo "find_package(bq $((major + 1)).0) succeeded against bq $major.x" >&2
    return 1
  fi
  echo "find_package(bq $((major + 1)).0) is refused, as it should be"
}

run add_subdirectory check_add_subdirectory
run fetchcontent-source-dir check_fetchcontent_source_dir
if git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
  run fetchcontent-git-clone check_fetchcontent_git
else
  echo "consumers: fetchcontent-git-clone: skipped (not a git checkout)"
fi
run find_package check_find_package

echo "consumers: $passed passed, $failed failed${failures:+ (${failures[*]})}"
((failed == 0))
