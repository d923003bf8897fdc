#!/usr/bin/env bash
# Writes README.md from its sections in docs/readme/ (edit those, then run this;
# scripts/bench.sh rewrites docs/readme/50-benchmarks.md with measured numbers).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sections=(00-intro 30-semantics 40-observability 45-spdlog 20-engine 50-benchmarks 55-limits 60-guarantees
          10-build)
{
  for name in "${sections[@]}"; do
    cat "$root/docs/readme/$name.md"
    echo
  done
  echo "## License"
  echo
  echo "MIT: see [LICENSE](LICENSE)."
} >"$root/README.md"
