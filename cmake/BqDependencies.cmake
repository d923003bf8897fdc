# Third-party packages for bq's tests, examples and benchmarks (never for bq::bq,
# which needs only the standard library and Threads).
#
# Each is looked up with find_package first (Debian: catch2, libfmt-dev,
# libbenchmark-dev); only when that fails, and BQ_FETCH_DEPENDENCIES is ON, is
# a pinned exact tag downloaded with FetchContent. These are macros so that the
# imported targets land in the caller's directory scope (call them top-level).
include_guard(GLOBAL)
include(FetchContent)

# _bq_fetch(<name> <git-url> <exact-tag>): the fallback path.
macro(_bq_fetch name url tag)
  if(NOT BQ_FETCH_DEPENDENCIES)
    message(FATAL_ERROR
      "bq: find_package(${name}) failed and BQ_FETCH_DEPENDENCIES is OFF. Install it "
      "(on Debian: ./scripts/install-deps.sh) or point ${name}_DIR at its CMake package.")
  endif()
  message(STATUS "bq: ${name} not found by find_package; fetching ${url} at ${tag}")
  set(_bq_fetch_system "")
  if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.25)
    set(_bq_fetch_system SYSTEM)  # its headers must not trip our warnings
  endif()
  FetchContent_Declare(${name} GIT_REPOSITORY "${url}" GIT_TAG "${tag}" GIT_SHALLOW TRUE
                               ${_bq_fetch_system})
  FetchContent_MakeAvailable(${name})
endmacro()

# _bq_host_headers(<imported-target> <subdir>): a cross compiler must not search the
# build machine's include directory (/usr/include): its C library headers would shadow
# the target platform's. When <imported-target>'s include directory is not one the
# compiler searches anyway, the target gets a directory in the build tree instead,
# holding only a link to <subdir> (the package's own headers, which are header-only and
# architecture-independent here: Catch2, {fmt} with FMT_HEADER_ONLY). Native builds, and
# cross compilers that search /usr/include themselves (Debian's), are left as they are.
function(_bq_host_headers target subdir)
  get_target_property(_imported ${target} IMPORTED)
  if(NOT CMAKE_CROSSCOMPILING OR NOT _imported)
    return()
  endif()
  get_target_property(_dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(_result "")
  foreach(_dir IN LISTS _dirs)
    if(_dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES OR NOT IS_DIRECTORY "${_dir}/${subdir}")
      list(APPEND _result "${_dir}")
    else()
      string(MAKE_C_IDENTIFIER "${target}" _id)
      set(_overlay "${CMAKE_BINARY_DIR}/_bq_host_headers/${_id}")
      file(MAKE_DIRECTORY "${_overlay}")
      file(CREATE_LINK "${_dir}/${subdir}" "${_overlay}/${subdir}" SYMBOLIC)
      message(STATUS "bq: ${target}: only ${_dir}/${subdir} of ${_dir} is searched (via ${_overlay})")
      list(APPEND _result "${_overlay}")
    endif()
  endforeach()
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_result}")
endfunction()

# _bq_find_fmt_headers(): BQ_FMT_HEADER_ONLY's lookup. The installed package's fmt::fmt
# is the compiled library (and its export set cannot be loaded without defining it), so
# fmt::fmt is made here from the installed headers; sets fmt_FOUND.
macro(_bq_find_fmt_headers)
  find_path(BQ_FMT_INCLUDE_DIR fmt/core.h DOC "Directory holding fmt/core.h (BQ_FMT_HEADER_ONLY)")
  set(fmt_FOUND FALSE)
  if(BQ_FMT_INCLUDE_DIR)
    file(STRINGS "${BQ_FMT_INCLUDE_DIR}/fmt/core.h" _bq_fmt_version REGEX "^#define FMT_VERSION [0-9]+")
    string(REGEX REPLACE "^#define FMT_VERSION ([0-9]+).*" "\\1" _bq_fmt_version "${_bq_fmt_version}")
    if(_bq_fmt_version GREATER_EQUAL 90000)
      set(fmt_FOUND TRUE)
      add_library(fmt::fmt INTERFACE IMPORTED)
      set_target_properties(fmt::fmt PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${BQ_FMT_INCLUDE_DIR}"
        INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1")
      _bq_host_headers(fmt::fmt fmt)
      message(STATUS "bq: {fmt} ${_bq_fmt_version} header-only from ${BQ_FMT_INCLUDE_DIR}")
    else()
      message(STATUS "bq: ${BQ_FMT_INCLUDE_DIR}/fmt/core.h is {fmt} '${_bq_fmt_version}', older than 9")
    endif()
  endif()
endmacro()

# Catch2 v2 (single header <catch2/catch.hpp>); provides Catch2::Catch2.
macro(bq_find_catch2)
  if(NOT TARGET Catch2::Catch2)
    find_package(Catch2 2 QUIET)
    if(NOT Catch2_FOUND)
      _bq_fetch(Catch2 https://github.com/catchorg/Catch2.git v2.13.10)
    else()
      _bq_host_headers(Catch2::Catch2 catch2)
    endif()
  endif()
endmacro()

# {fmt} 9 or newer; provides fmt::fmt. With BQ_FMT_HEADER_ONLY, fmt::fmt is the
# installed headers alone (FMT_HEADER_ONLY), for a toolchain that cannot link the
# installed library (clang with libc++, cross compilers); the fetched fallback is built
# from source by the same toolchain, so it links anywhere.
option(BQ_FMT_HEADER_ONLY "Use the installed {fmt} header-only (FMT_HEADER_ONLY)" OFF)
macro(bq_find_fmt)
  if(NOT TARGET fmt::fmt)
    if(BQ_FMT_HEADER_ONLY)
      _bq_find_fmt_headers()
    else()
      find_package(fmt 9 QUIET)
    endif()
    if(NOT fmt_FOUND)
      set(FMT_INSTALL OFF CACHE BOOL "")
      set(FMT_TEST OFF CACHE BOOL "")
      set(FMT_DOC OFF CACHE BOOL "")
      _bq_fetch(fmt https://github.com/fmtlib/fmt.git 9.1.0)
    endif()
  endif()
endmacro()

# Google Benchmark; provides benchmark::benchmark.
macro(bq_find_benchmark)
  if(NOT TARGET benchmark::benchmark)
    find_package(benchmark QUIET)
    if(NOT benchmark_FOUND)
      set(BENCHMARK_ENABLE_TESTING OFF CACHE BOOL "")
      set(BENCHMARK_ENABLE_GTEST_TESTS OFF CACHE BOOL "")
      set(BENCHMARK_ENABLE_INSTALL OFF CACHE BOOL "")
      set(BENCHMARK_INSTALL_DOCS OFF CACHE BOOL "")
      set(BENCHMARK_ENABLE_WERROR OFF CACHE BOOL "")
      _bq_fetch(benchmark https://github.com/google/benchmark.git v1.7.1)
    endif()
  endif()
endmacro()

# spdlog 1.10 or newer, for <bq/spdlog.hpp>'s tests, example and benchmark; provides
# spdlog::spdlog when found. Optional: never fetched, and left out where it cannot link
# (with BQ_FMT_HEADER_ONLY, or cross compiling: Debian's library is built against the
# host's {fmt} and libstdc++). Imported targets are directory-scoped: call it in each
# directory that links spdlog.
macro(bq_find_spdlog)
  if(NOT TARGET spdlog::spdlog AND NOT BQ_FMT_HEADER_ONLY AND NOT CMAKE_CROSSCOMPILING)
    find_package(spdlog 1.10 CONFIG QUIET)
  endif()
endmacro()
