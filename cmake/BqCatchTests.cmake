# bq_catch_discover_tests(<target> [TIMEOUT <seconds>] [ENVIRONMENT <VAR=value>...])
#
# Registers every test case of a Catch2 v2 binary as its own CTest test, labelled
# with its tags (so `ctest -L stress` or `ctest -LE slow` work). Unlike Catch2 v2's
# own catch_discover_tests, which lists the tests in a POST_BUILD step, the listing
# runs when ctest starts: a binary that cannot run (say, a sanitizer runtime that
# refuses this kernel's memory layout) yields a failing test, not a broken build.
# A cross-compiled binary is listed and run through the target's
# CROSSCOMPILING_EMULATOR (from CMAKE_CROSSCOMPILING_EMULATOR, e.g. wine or qemu).
include_guard(GLOBAL)

set(_BQ_CATCH_ADD_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/BqCatchTestsAdd.cmake")

function(bq_catch_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "ENVIRONMENT")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  set(_env "${arg_ENVIRONMENT}")
  set(_emulator "")
  if(CMAKE_CROSSCOMPILING)
    get_property(_emulator TARGET ${target} PROPERTY CROSSCOMPILING_EMULATOR)
  endif()

  get_property(_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(_multi_config)
    set(_tests_file "${CMAKE_CURRENT_BINARY_DIR}/${target}-tests-$<CONFIG>.cmake")
    set(_include "${CMAKE_CURRENT_BINARY_DIR}/${target}-tests-\${CTEST_CONFIGURATION_TYPE}.cmake")
  else()
    set(_tests_file "${CMAKE_CURRENT_BINARY_DIR}/${target}-tests.cmake")
    set(_include "${_tests_file}")
  endif()
  file(GENERATE OUTPUT "${_tests_file}" CONTENT
"set(BQ_CATCH_TARGET [==[${target}]==])
set(BQ_CATCH_EXECUTABLE [==[$<TARGET_FILE:${target}>]==])
set(BQ_CATCH_WORKING_DIRECTORY [==[${CMAKE_CURRENT_BINARY_DIR}]==])
set(BQ_CATCH_TIMEOUT [==[${arg_TIMEOUT}]==])
set(BQ_CATCH_ENVIRONMENT [==[${_env}]==])
set(BQ_CATCH_EMULATOR [==[${_emulator}]==])
include([==[${_BQ_CATCH_ADD_SCRIPT}]==])
")
  set(_ctest_include "${CMAKE_CURRENT_BINARY_DIR}/${target}-include.cmake")
  file(WRITE "${_ctest_include}"
    "if(EXISTS \"${_include}\")\n"
    "  include(\"${_include}\")\n"
    "else()\n"
    "  add_test(${target}_NOT_CONFIGURED ${target}_NOT_CONFIGURED)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_ctest_include}")
endfunction()
