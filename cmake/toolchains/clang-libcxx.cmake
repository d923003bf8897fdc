# clang++ with LLVM's C++ standard library, libc++ (libc++-14-dev, libc++abi-14-dev), on
# this machine: not a cross build, the tests run natively.
#
#   cmake -S . -B build/libcxx --toolchain cmake/toolchains/clang-libcxx.cmake \
#         -DBQ_FMT_HEADER_ONLY=ON
#
# scripts/test-platform.sh libcxx does this, builds the tests and runs them with ctest.
# {fmt} must be header-only: Debian's libfmt is built against libstdc++.
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_CXX_FLAGS_INIT "-stdlib=libc++")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-stdlib=libc++")
