#!/usr/bin/env bash
# Documentation checks, compile-only and fast:
#   1. README.md is what scripts/readme.sh assembles from docs/readme/ (no hand edits,
#      no section left out);
#   2. every relative link of README.md, CONTRIBUTING.md and docs/**/*.md (not docs/readme/,
#      whose links are README.md's) names a file that exists, and a #anchor into a .md
#      file one of its headings;
#   3. every ```cpp block of README.md and docs/**/*.md compiles
#      (scripts/check-doc-snippets.py: g++ -std=c++20 -fsyntax-only -I include, with fmt's
#      and spdlog's flags where a block uses them; the conventions are in CONTRIBUTING.md).
# Needs libfmt-dev and libspdlog-dev (scripts/install-deps.sh). Fails if any check failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/scripts/install-deps.sh"  # nothing to do when installed
work="$(mktemp -d "${TMPDIR:-/tmp}/bq-doc-snippets.XXXXXX")"
trap 'rm -rf "$work"' EXIT

status=0
for header in fmt/format.h spdlog/spdlog.h; do
  if ! printf '#include <%s>\n' "$header" | g++ -std=c++20 -E -x c++ - >/dev/null 2>&1; then
    echo "doc-snippets: <$header> not found (Debian: lib${header%%/*}-dev); its snippets cannot compile" >&2
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

python3 - "$repo" <<'PY' || status=1
import os, re, sys
root = sys.argv[1]
def slugs(path):  # GitHub's heading anchors: lower case, punctuation dropped, spaces -> '-'
    return {re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            for m in re.finditer(r"^#+\s+(.*)$", open(path, encoding="utf-8").read(), re.M)}
files = ["README.md", "CONTRIBUTING.md"]
for folder, _, names in os.walk(os.path.join(root, "docs")):
    if os.path.relpath(folder, root).startswith(os.path.join("docs", "readme")):
        continue  # README.md's sections: their links are README.md's, checked there
    files += [os.path.relpath(os.path.join(folder, n), root) for n in names if n.endswith(".md")]
bad = 0
for name in sorted(files):
    text = re.sub(r"```.*?```", "", open(os.path.join(root, name), encoding="utf-8").read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(root, os.path.dirname(name), path)) if path else os.path.join(root, name)
        if not os.path.exists(full):
            print("doc-links: %s: %s does not exist" % (name, target)); bad += 1
        elif anchor and full.endswith(".md") and anchor not in slugs(full):
            print("doc-links: %s: %s has no heading #%s" % (name, path or name, anchor)); bad += 1
print("doc-links: %d files, %d broken links" % (len(files), bad))
sys.exit(1 if bad else 0)
PY

CXX="${BQ_DOC_SNIPPETS_CXX:-g++}" python3 "$repo/scripts/check-doc-snippets.py" || status=1
exit "$status"
