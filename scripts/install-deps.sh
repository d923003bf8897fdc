#!/usr/bin/env bash
# Installs the Debian packages bq's build and tests use, and on request those of the
# benchmarks, the Prometheus check and the other platforms.
#
#   scripts/install-deps.sh              the tests, examples and fuzzers (scripts/test.sh)
#   scripts/install-deps.sh --bench      also Google Benchmark and the peer queues (bench/)
#   scripts/install-deps.sh --promtool   also Prometheus's promtool (.ci/steps/40-promtool.sh)
#   scripts/install-deps.sh --platforms  also the other platforms' toolchains and runners, for
#                                        scripts/test-platform.sh
#   scripts/install-deps.sh --check ...  only report what is missing (exit 1 if anything is)
#
# Options combine. Nothing is downloaded when everything is installed already. Not root
# and no password-less sudo, or not a Debian-like system: prints what to install and
# exits 0, so the build can still use whatever the machine has.
# Set BQ_SKIP_DEPS=1 to skip this script entirely.
set -euo pipefail

# What `scripts/test.sh` needs: the toolchains (clang's runtimes for libFuzzer and the
# sanitizers), Catch2 and {fmt} for the tests and examples, spdlog for bq/spdlog.hpp's
# tests and example, python3 for the CI steps' JSON and snippet checks.
packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev
  catch2 libfmt-dev libspdlog-dev
  python3
)

# --bench: bench/ (scripts/bench.sh, scripts/compile-time.sh): Google Benchmark, the queues
# bq is measured against, and bc for compile-time.sh's arithmetic.
bench_packages=(
  libbenchmark-dev bc
  libatomic-queue-dev libconcurrentqueue-dev libreaderwriterqueue-dev
  libboost-dev libtbb-dev libck-dev
)

# --promtool: the Prometheus server package, for its `promtool check metrics`.
promtool_packages=(prometheus)

# --platforms (scripts/test-platform.sh): libc++, and cross compilers with the emulators
# that run their tests on this machine. Not for every user: ~1 GB.
platform_packages=(
  libc++-14-dev libc++abi-14-dev                  # libcxx: clang++ -stdlib=libc++
  g++-mingw-w64-x86-64-posix wine64               # mingw: Windows x86-64, run under wine
  g++-aarch64-linux-gnu qemu-user                 # aarch64: static binaries under qemu-aarch64
)

check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --bench) packages+=("${bench_packages[@]}") ;;
    --promtool) packages+=("${promtool_packages[@]}") ;;
    --platforms) packages+=("${platform_packages[@]}") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ "${BQ_SKIP_DEPS:-0}" == 1 ]]; then
  echo "install-deps: BQ_SKIP_DEPS=1, skipping"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: not a Debian-like system (no apt-get); install the equivalents of:"
  echo "  ${packages[*]}"
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
if ((check)); then
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "install-deps: not root and no password-less sudo; skipping. As root, run:"
    echo "  apt-get update && apt-get install -y ${missing[*]}"
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run (up to 10 minutes) instead of failing on its lock.
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
"${sudo[@]}" apt-get "${apt_opts[@]}" update -qq || echo "install-deps: apt-get update failed; trying the install anyway"
"${sudo[@]}" apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
