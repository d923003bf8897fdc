# Build flags for bq's own targets only (tests, fuzz replays, examples, benchmarks).
#
# Nothing here is attached to bq::bq or installed: consumers never inherit our
# warnings, -Werror or sanitizers. Targets opt in with bq_internal_target().
include_guard(GLOBAL)

# bq_warnings: the house warning set, as errors unless BQ_WARNINGS_AS_ERRORS is OFF.
add_library(bq_warnings INTERFACE)
if(MSVC)
  target_compile_options(bq_warnings INTERFACE /W4 /permissive-
                                               $<$<BOOL:${BQ_WARNINGS_AS_ERRORS}>:/WX>)
else()
  target_compile_options(bq_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                               $<$<BOOL:${BQ_WARNINGS_AS_ERRORS}>:-Werror>)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
  # g++ 12/13 at -O3 report impossible overlaps inside libstdc++'s inlined
  # std::string code (e.g. `"x" + std::move(s)`: GCC bug 105651); not our code.
  target_compile_options(bq_warnings INTERFACE -Wno-restrict)
endif()

# bq_sanitize: run-time checks. BQ_SANITIZE is a comma list handed to -fsanitize=;
# Debug builds also get libstdc++'s cheap precondition checks (no ABI change).
add_library(bq_sanitize INTERFACE)
target_compile_definitions(bq_sanitize INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)
if(BQ_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "bq: BQ_SANITIZE needs g++ or clang (compiler is ${CMAKE_CXX_COMPILER_ID})")
  endif()
  string(REPLACE "," ";" _bq_sanitizers "${BQ_SANITIZE}")
  foreach(_bq_sanitizer IN LISTS _bq_sanitizers)
    if(NOT _bq_sanitizer MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "bq: unknown sanitizer '${_bq_sanitizer}' in BQ_SANITIZE='${BQ_SANITIZE}'; "
                          "use thread, address, undefined or leak, comma-separated")
    endif()
  endforeach()
  if("thread" IN_LIST _bq_sanitizers AND ("address" IN_LIST _bq_sanitizers
                                          OR "leak" IN_LIST _bq_sanitizers))
    message(FATAL_ERROR "bq: BQ_SANITIZE='${BQ_SANITIZE}': thread cannot be combined with address/leak")
  endif()
  target_compile_options(bq_sanitize INTERFACE -fsanitize=${BQ_SANITIZE} -fno-omit-frame-pointer)
  # Linked as position-dependent executables: a -O0 sanitized bq_tests holds about four
  # million relative relocations (ASan's global descriptors, UBSan's type data), which the
  # dynamic loader applies at every start of a PIE, touching about 150 MB. CTest starts the
  # binary once per test case, and each start cost 0.22 s (0.12 s as non-PIE, g++ 12
  # ASan+UBSan; the whole suite 245 -> 149 s with ctest -j4). The checks are the same.
  target_link_options(bq_sanitize INTERFACE -fsanitize=${BQ_SANITIZE} -no-pie)
  if("thread" IN_LIST _bq_sanitizers AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
     AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 11)
    # g++ warns that its TSan does not model std::atomic_thread_fence (orderings that
    # rest on a fence alone are invisible to it). Known and accepted, not an error:
    # the clang TSan build is the primary one.
    target_compile_options(bq_sanitize INTERFACE -Wno-tsan)
  endif()
  if("undefined" IN_LIST _bq_sanitizers)
    # Make every UBSan report fatal, so a test that triggers one fails.
    target_compile_options(bq_sanitize INTERFACE -fno-sanitize-recover=undefined)
  endif()
endif()

# bq_internal_target(<target>): links bq::bq, Threads, the warnings and the sanitizers.
function(bq_internal_target target)
  target_link_libraries(${target} PRIVATE bq::bq Threads::Threads bq_warnings bq_sanitize)
endfunction()

# Per-test settings for CTest. Sanitized runs are slower and get a longer timeout;
# their options make every report fail the test that produced it.
if(BQ_SANITIZE)
  set(_bq_default_timeout 900)
else()
  set(_bq_default_timeout 300)
endif()
set(BQ_TEST_TIMEOUT "${_bq_default_timeout}" CACHE STRING "CTest timeout per test, in seconds")
set(BQ_TEST_ENVIRONMENT "")
if(BQ_SANITIZE MATCHES "address")
  list(APPEND BQ_TEST_ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:strict_init_order=1")
endif()
if(BQ_SANITIZE MATCHES "undefined")
  list(APPEND BQ_TEST_ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
if(BQ_SANITIZE MATCHES "thread")
  list(APPEND BQ_TEST_ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")
endif()
