#!/usr/bin/env bash
# The benchmark report's own tests: bench/test_report.py runs bench/report.py on small
# recorded-format runs (medians, failed checks, cut-off runs, "did not finish", targets,
# results.json, the chart). The benchmarks themselves are not run in CI. Python 3, stdlib only.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python3 "$repo/bench/test_report.py" -v
