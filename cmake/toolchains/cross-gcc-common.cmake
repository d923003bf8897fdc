# Shared by the cross toolchain files (aarch64-linux-gnu.cmake, mingw-w64-posix.cmake),
# which set CMAKE_SYSTEM_NAME, CMAKE_SYSTEM_PROCESSOR, _bq_triple (the GNU target
# triple of the Debian cross compiler) and, where the compiler's name has one,
# _bq_compiler_suffix (-posix: MinGW-w64's posix thread model), then include this.
#
# Debian's cross gcc and g++ for that triple; executables linked -static, so that the
# emulator needs no library path of the target platform.
set(CMAKE_C_COMPILER ${_bq_triple}-gcc${_bq_compiler_suffix})
set(CMAKE_CXX_COMPILER ${_bq_triple}-g++${_bq_compiler_suffix})
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Libraries of the target platform only (/usr/<triple>); headers and CMake packages also
# from the build machine: Catch2 and {fmt}, used header-only, are architecture-
# independent. Where the cross compiler does not search /usr/include itself, bq keeps
# that directory out of the search path (_bq_host_headers in cmake/BqDependencies.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${_bq_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
