#!/usr/bin/env bash
# Builds the examples and runs the demo, examples/llm_chat_replay.cpp: a fast
# producer, a slow consumer and a bounded queue that keeps memory flat, with its
# metrics printed as it runs.
#
#   ./scripts/demo.sh [--no-deps] [demo arguments...]
#
# Release build in build/demo (BQ_BUILD_DIR overrides); BQ_JOBS sets the build's
# parallelism (default: nproc).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo=llm_chat_replay
if [[ "${1:-}" == "--no-deps" ]]; then
  shift
else
  "$root/scripts/install-deps.sh"
fi

if [[ ! -f "$root/examples/$demo.cpp" ]]; then
  echo "demo.sh: examples/$demo.cpp does not exist yet" >&2
  exit 1
fi

build="${BQ_BUILD_DIR:-$root/build/demo}"
args=(-S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBQ_BUILD_TESTS=OFF
      -DBQ_BUILD_EXAMPLES=ON -DBQ_INSTALL=OFF)
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
  args+=(-G Ninja)
fi
cmake "${args[@]}" >/dev/null
cmake --build "$build" -j "${BQ_JOBS:-$(nproc)}" --target "$demo"
echo
exec "$build/examples/$demo" "$@"
