#!/usr/bin/env python3
"""Compiles every ```cpp block of README.md and docs/**/*.md (or of the files given).

Each block is compiled on its own with `g++ -std=c++20 -fsyntax-only -I include`, plus the
flags of fmt and spdlog (from pkg-config, when it is installed) when the program names
them. The convention, also in CONTRIBUTING.md ("README and changelog"):

  a block is a whole translation unit, compiled as written, unless the line right before its
  opening fence is one of these HTML comments (GitHub does not show them):

  <!-- snippet: body            the block is a list of statements: compiled as the body of
  ...context lines...           `void bq_doc_snippet()`; the context lines (includes and the
  -->                           declarations a reader can guess) go before it, and so do the
                                `#include` lines of the block itself
  <!-- snippet: tu              the block is a translation unit: the context lines go before it
  ...context lines...
  -->
  <!-- snippet: skip REASON --> not compiled (keep these rare, and give the reason)

  scripts/check-doc-snippets.py [-v] [FILE.md ...]

Prints one line per failing block (file:line and the compiler's errors) and a summary
"doc-snippets: N compiled, M failed, K skipped"; exits 1 if any block failed, 2 on a
malformed marker. CXX picks the compiler (default g++). -v prints each program compiled.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = re.compile(r"<!--\s*snippet:\s*(body|tu|skip)\b(.*?)(-->|$)", re.S)


def default_files():
    files = [os.path.join(ROOT, "README.md")]
    for folder, _, names in sorted(os.walk(os.path.join(ROOT, "docs"))):
        # docs/readme/ holds README.md's sections: README.md itself is checked.
        if os.path.relpath(folder, ROOT).split(os.sep)[:2] == ["docs", "readme"]:
            continue
        files += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".md")]
    return files


class MarkerError(Exception):
    pass


def blocks(path):
    """Yields (line number, mode, context lines, code lines) for each ```cpp block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```cpp":
            i += 1
            continue
        fence = i
        end = fence + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise MarkerError("%s:%d: ```cpp block is never closed" % (path, fence + 1))
        code = lines[fence + 1:end]
        mode, context = "tu", []
        # The comment ends on the line right before the fence; find where it starts.
        if fence > 0 and lines[fence - 1].rstrip().endswith("-->"):
            start = fence - 1
            while start > 0 and "<!--" not in lines[start]:
                start -= 1
            comment = "\n".join(lines[start:fence])
            match = MARKER.search(comment)
            if match:
                mode = match.group(1)
                first, _, rest = comment.partition("\n")
                if mode == "skip":
                    if not match.group(2).strip():
                        raise MarkerError("%s:%d: 'snippet: skip' needs a reason" %
                                          (path, start + 1))
                elif first.strip() != "<!-- snippet: %s" % mode:
                    raise MarkerError("%s:%d: write '<!-- snippet: %s' alone on its line, the "
                                      "context on the next lines, '-->' last" %
                                      (path, start + 1, mode))
                else:
                    context = rest.rsplit("-->", 1)[0].split("\n")
        yield fence + 1, mode, context, code
        i = end + 1


def program(mode, context, code):
    if mode == "tu":
        return "\n".join(context + code) + "\n"
    includes = [line for line in code if line.lstrip().startswith("#include")]
    body = [line for line in code if not line.lstrip().startswith("#include")]
    return "\n".join(includes + context + ["void bq_doc_snippet() {"] + body + ["}"]) + "\n"


def flags_for(text):
    names = []
    if "spdlog" in text:
        names.append("spdlog")
    if "fmt" in text:
        names.append("fmt")
    flags = []
    if names and shutil.which("pkg-config"):
        result = subprocess.run(["pkg-config", "--cflags"] + names, capture_output=True,
                                text=True)
        if result.returncode == 0:
            flags = result.stdout.split()
    return flags


def main(argv):
    verbose = "-v" in argv
    files = [a for a in argv if a != "-v"] or default_files()
    cxx = os.environ.get("CXX", "g++")
    compiled = failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="bq-doc-snippets.") as work:
        source = os.path.join(work, "snippet.cpp")
        for path in files:
            shown = os.path.relpath(path, ROOT)
            try:
                found = list(blocks(path))
            except MarkerError as error:
                print("doc-snippets: %s" % error)
                return 2
            for line, mode, context, code in found:
                if mode == "skip":
                    skipped += 1
                    continue
                text = program(mode, context, code)
                with open(source, "w", encoding="utf-8") as f:
                    f.write(text)
                command = [cxx, "-std=c++20", "-fsyntax-only", "-I", os.path.join(ROOT, "include")]
                command += flags_for(text) + [source]
                if verbose:
                    print("== %s:%d (%s)\n%s" % (shown, line, mode, text))
                result = subprocess.run(command, capture_output=True, text=True)
                compiled += 1
                if result.returncode != 0:
                    failed += 1
                    print("doc-snippets: %s:%d: FAILED (%s block)" % (shown, line, mode))
                    print("\n".join("  | " + l for l in result.stderr.splitlines()[:30]))
    print("doc-snippets: %d compiled, %d failed, %d skipped" % (compiled - failed, failed,
                                                                  skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
