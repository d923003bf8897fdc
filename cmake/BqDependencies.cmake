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

# Catch2 v2 (single header <catch2/catch.hpp>); provides Catch2::Catch2.
macro(bq_find_catch2)
  if(NOT TARGET Catch2::Catch2)
    find_package(Catch2 2 QUIET)
    if(NOT Catch2_FOUND)
      _bq_fetch(Catch2 https://github.com/catchorg/Catch2.git v2.13.10)
    endif()
  endif()
endmacro()

# {fmt} 9 or newer; provides fmt::fmt.
macro(bq_find_fmt)
  if(NOT TARGET fmt::fmt)
    find_package(fmt 9 QUIET)
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
