# Linux on aarch64 (64-bit Arm) with Debian's cross g++ (g++-aarch64-linux-gnu); tests
# run under qemu-aarch64 (qemu-user) on the build machine.
#
#   cmake -S . -B build/aarch64 --toolchain cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DBQ_FMT_HEADER_ONLY=ON
#
# scripts/test-platform.sh aarch64 does this, builds the tests and runs them with ctest.
# Executables are linked -static, so qemu needs no aarch64 library directory (-L).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(_bq_triple aarch64-linux-gnu)
set(_bq_compiler_suffix "")
include("${CMAKE_CURRENT_LIST_DIR}/cross-gcc-common.cmake")

find_program(BQ_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static
             DOC "qemu-aarch64 (user mode), to run the aarch64 tests")
if(BQ_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${BQ_QEMU_AARCH64}")
endif()
