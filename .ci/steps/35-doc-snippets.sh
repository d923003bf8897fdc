#!/usr/bin/env bash
# Documentation checks, compile-only and fast:
#   1. README.md is what scripts/readme.sh assembles from docs/readme/ (no hand edits,
#      no section left out);
#   2. every ```cpp block of README.md and docs/**/*.md compiles
#      (scripts/check-doc-snippets.py: g++ -std=c++20 -fsyntax-only -I include, with fmt's
#      and spdlog's flags where a block uses them; the conventions are in CONTRIBUTING.md).
# Needs libfmt-dev and libspdlog-dev (scripts/install-deps.sh). Fails if any check failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/scripts/install-deps.sh"  # nothing to do when installed
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-doc-snippets.XXXXXX")"
trap 'rm -rf "$work"' EXIT

status=0
for lib in fmt spdlog; do
  if ! pkg-config --exists "$lib"; then
    echo "doc-snippets: $lib not found (Debian: lib$lib-dev); its snippets cannot compile" >&2
    status=1
  fi
done

"$repo/scripts/readme.sh" "$work/README.md"
if diff -u "$repo/README.md" "$work/README.md" >"$work/readme.diff"; then
  echo "doc-snippets: README.md matches docs/readme/: OK"
else
  echo "doc-snippets: README.md differs from what scripts/readme.sh assembles; run it and commit:"
  head -n 40 "$work/readme.diff"
  status=1
fi

CXX="${BQ_DOC_SNIPPETS_CXX:-g++}" python3 "$repo/scripts/check-doc-snippets.py" || status=1
exit "$status"
