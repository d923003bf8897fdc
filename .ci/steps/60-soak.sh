#!/usr/bin/env bash
# Soak: builds examples/soak.cpp (optimized, with assertions) and runs it for
# BQ_SOAK_SECONDS (default 60): random policies, capacities, thread counts and bursts, a
# close() mid-stream every round, RSS and metrics printed every second. Fails if any item
# is unaccounted for, metrics disagree with the tallies, or RSS grows past its bound.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${BQ_SOAK_SECONDS:-60}"
cxx="${BQ_SOAK_CXX:-g++}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-soak.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== soak: building with $cxx"
"$cxx" -std=c++20 -O2 -g -Wall -Wextra -I"$repo/include" "$repo/examples/soak.cpp" \
  -o "$work/soak" -lfmt -pthread

echo "== soak: running for ${seconds}s"
"$work/soak" --seconds "$seconds" --seed "${BQ_SOAK_SEED:-$RANDOM}"
