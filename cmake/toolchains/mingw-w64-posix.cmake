# Windows x86-64 with MinGW-w64 g++, posix thread model (std::thread, std::mutex), on a
# Debian build machine (g++-mingw-w64-x86-64-posix); tests run under wine64 (wine64).
#
#   cmake -S . -B build/mingw --toolchain cmake/toolchains/mingw-w64-posix.cmake \
#         -DBQ_FMT_HEADER_ONLY=ON
#
# scripts/test-platform.sh mingw does this, builds the tests and runs them with ctest.
# Executables are linked -static (libstdc++, libgcc, winpthread): wine needs no DLL path.
# Wine keeps its state in <build>/wine-prefix (set WINEPREFIX before configuring to use
# another); the first start there takes a minute.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_bq_triple x86_64-w64-mingw32)
set(_bq_compiler_suffix -posix)
include("${CMAKE_CURRENT_LIST_DIR}/cross-gcc-common.cmake")
set(CMAKE_RC_COMPILER ${_bq_triple}-windres)

# ctest runs the tests (and lists them) through wine, by wine-run.sh (which starts again a
# wine that failed to start the program); WINEDEBUG=-all silences wine's diagnostics, and
# the empty mscoree/mshtml overrides skip its Mono and Gecko installers.
find_program(BQ_WINE64 NAMES wine64 PATHS /usr/lib/wine DOC "wine64, to run the Windows tests")
if(BQ_WINE64)
  if(DEFINED ENV{WINEPREFIX})
    set(_bq_wine_prefix "$ENV{WINEPREFIX}")
  else()
    set(_bq_wine_prefix "${CMAKE_BINARY_DIR}/wine-prefix")
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR env "WINEPREFIX=${_bq_wine_prefix}" WINEDEBUG=-all
      "WINEDLLOVERRIDES=mscoree,mshtml=" "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh" "${BQ_WINE64}")
endif()
