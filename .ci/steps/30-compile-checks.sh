#!/usr/bin/env bash
# Compile-only checks (issue "portability"), each fast:
#   1. every public header on its own, twice included, with clang++
#      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror, against libstdc++ and
#      libc++ (the standard library of macOS);
#   2. the core header without exceptions: tests/compile/no_exceptions.cpp built
#      with -fno-exceptions by g++ and clang++ and run; its "bad-config" mode must
#      abort with the error message on stderr;
#   3. misuses that must not compile, each with bq's own message: tests/compile/misuse.cpp
#      compiles as it is, and fails with the expected text for each `// expect` case in it
#      (g++ and clang++);
#   4. the reproducer tests/platform/semaphore_lost_wakeup.cpp (not a test: it is run by hand
#      under wine) still compiles, with g++ for Linux and for MinGW when that is installed.
# Prints "compile-checks: N passed, M failed" and fails if any check failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/scripts/install-deps.sh" --platforms  # libc++ (nothing to do when installed)
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-compile-checks.XXXXXX")"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() {  # <description> <command...>
  local what="$1"
  shift
  if "$@" >"$work/log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $what"
    head -n 40 "$work/log"
  fi
}

warnings=(-std=c++20 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror)
for header in "$repo"/include/bq/*.hpp; do
  name="bq/$(basename "$header")"
  printf '#include <%s>\n#include <%s>\n' "$name" "$name" >"$work/one.cpp"
  for stdlib in libstdc++ libc++; do
    check "$name with clang++ -stdlib=$stdlib" \
      clang++ "${warnings[@]}" -stdlib="$stdlib" -I"$repo/include" -fsyntax-only "$work/one.cpp"
  done
done

for cxx in g++ clang++; do
  check "no_exceptions.cpp with $cxx -fno-exceptions" \
    "$cxx" "${warnings[@]}" -fno-exceptions -I"$repo/include" \
    "$repo/tests/compile/no_exceptions.cpp" -o "$work/no_exceptions" -pthread
  check "no_exceptions ($cxx) runs" "$work/no_exceptions"
  # bad-config must abort (SIGABRT: 134 from the shell) with the message on stderr.
  aborts_with_message() {
    local status=0
    "$work/no_exceptions" bad-config 2>"$work/stderr" || status=$?
    cat "$work/stderr"
    [[ $status -eq 134 ]] && grep -q "capacity 0 is invalid" "$work/stderr"
  }
  check "no_exceptions ($cxx) aborts with the message for a bad config" aborts_with_message
done

reproducer="$repo/tests/platform/semaphore_lost_wakeup.cpp"
check "semaphore_lost_wakeup.cpp with g++" \
  g++ "${warnings[@]}" -fsyntax-only "$reproducer"
if command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1; then
  check "semaphore_lost_wakeup.cpp with MinGW g++" \
    x86_64-w64-mingw32-g++-posix "${warnings[@]}" -fsyntax-only "$reproducer"
fi

misuse="$repo/tests/compile/misuse.cpp"
# fails_with <message> <compiler args...>: the compile must fail and print the message.
fails_with() {
  local message="$1"
  shift
  if "$@" >"$work/misuse.log" 2>&1; then
    echo "compiled, but must not"
    return 1
  fi
  grep -qF -- "$message" "$work/misuse.log" || { cat "$work/misuse.log"; return 1; }
}
for cxx in g++ clang++; do
  check "misuse.cpp without a misuse compiles ($cxx)" \
    "$cxx" -std=c++20 -I"$repo/include" -fsyntax-only "$misuse"
  while IFS= read -r line; do
    case_name="${line#// expect }"
    case_name="${case_name%%:*}"
    message="${line#*: }"
    check "misuse $case_name fails with its message ($cxx)" \
      fails_with "$message" "$cxx" -std=c++20 -I"$repo/include" -fsyntax-only \
      "-DBQ_MISUSE_$case_name" "$misuse"
  done < <(grep '^// expect ' "$misuse")
done

echo "compile-checks: $passed passed, $failed failed"
((failed == 0))
