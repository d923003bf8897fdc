#!/usr/bin/env bash
# Writes README.md from its sections in docs/readme/, in the order of their numeric
# prefixes (edit those, then run this and commit both). 35-batch may be absent.
#
#   scripts/readme.sh          writes README.md
#   scripts/readme.sh FILE     writes FILE instead (CI compares it with README.md)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/README.md}"
sections=(00-intro 10-install 20-policies 30-semantics 35-batch 40-observability 45-spdlog
          50-platforms 55-performance 60-links)
optional=(35-batch)

# The list above is the order; every file in docs/readme/ must be in it, and the
# prefixes must ascend, so the file names show the order README.md has.
previous=""
for name in "${sections[@]}"; do
  if [[ -n "$previous" && ! "$name" > "$previous" ]]; then
    echo "readme.sh: $name comes after $previous: renumber" >&2
    exit 1
  fi
  previous="$name"
done
for file in "$root"/docs/readme/*.md; do
  name="$(basename "$file" .md)"
  if [[ " ${sections[*]} " != *" $name "* ]]; then
    echo "readme.sh: docs/readme/$name.md is not in the section list" >&2
    exit 1
  fi
done

{
  first=1
  for name in "${sections[@]}"; do
    file="$root/docs/readme/$name.md"
    if [[ ! -f "$file" && " ${optional[*]} " == *" $name "* ]]; then
      continue
    fi
    ((first)) || echo
    first=0
    cat "$file"
  done
} >"$out"
