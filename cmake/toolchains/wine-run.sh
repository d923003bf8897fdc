#!/bin/sh
# wine-run.sh WINE64 PROGRAM [ARGS...]: runs a Windows program under wine for ctest (the
# CMAKE_CROSSCOMPILING_EMULATOR of mingw-w64-posix.cmake), with its output and exit status.
#
# About one start in 80, while other wine processes start beside it, wine64 exits with
# status 1 before the program runs, having printed nothing (wine 8.0, Debian 12). Such a
# start is made again, twice at most. A program that ran and failed has printed something
# (Catch2 always does), so it is never run again: its failure stands.
set -u
wine="$1"
shift
out="$(mktemp "${TMPDIR:-/tmp}/bq-wine-run.XXXXXX")" || exit 1
trap 'rm -f "$out"' EXIT
for attempt in 1 2 3; do
  status=0
  "$wine" "$@" >"$out" 2>&1 </dev/null || status=$?
  if [ "$status" -ne 1 ] || [ -s "$out" ]; then break; fi
  echo "wine-run: wine exited with status 1 and printed nothing (start $attempt of 3)" >&2
done
cat "$out"
exit "$status"
