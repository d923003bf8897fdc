# Run by ctest (through TEST_INCLUDE_FILES) to register each test case of a
# Catch2 v2 binary; see BqCatchTests.cmake. Inputs: BQ_CATCH_TARGET,
# BQ_CATCH_EXECUTABLE, BQ_CATCH_WORKING_DIRECTORY, BQ_CATCH_TIMEOUT, BQ_CATCH_ENVIRONMENT,
# BQ_CATCH_EMULATOR (a command line that runs the executable, for cross builds; usually
# empty).
cmake_policy(PUSH)
cmake_policy(VERSION 3.23)  # ctest reads this with no policies set; we need IN_LIST


if(NOT EXISTS "${BQ_CATCH_EXECUTABLE}")
  # Not built yet: one test that fails and says so.
  add_test("${BQ_CATCH_TARGET}_NOT_BUILT" ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}")
  cmake_policy(POP)
  return()
endif()

# _bq_catch_list(<out-var> [<test-spec>]): the names of the (non-hidden) test cases.
# Catch2 v2 exits with the number of tests listed (mod 256), so any number is
# success; a signal (a crash, a sanitizer abort) is a string.
function(_bq_catch_list out_var)
  execute_process(COMMAND ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}" ${ARGN} --list-test-names-only
                  WORKING_DIRECTORY "${BQ_CATCH_WORKING_DIRECTORY}"
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc MATCHES "^[0-9]+$")
    set(${out_var} "_BQ_LIST_FAILED" PARENT_SCOPE)
    return()
  endif()
  # CMake lists split on ';' and treat '[' ']' as nesting: encode all three so
  # that any test name survives list operations (decoded in add_test below).
  string(REPLACE ";" "<BQ_SEMI>" _out "${_out}")
  string(REPLACE "[" "<BQ_LB>" _out "${_out}")
  string(REPLACE "]" "<BQ_RB>" _out "${_out}")
  string(REPLACE "\n" ";" _lines "${_out}")
  set(_names "")
  foreach(_line IN LISTS _lines)
    string(STRIP "${_line}" _line)
    if(_line MATCHES "^\"(#.*)\"$")  # v2 quotes names that start with '#'
      set(_line "${CMAKE_MATCH_1}")
    endif()
    if(NOT _line STREQUAL "")
      list(APPEND _names "${_line}")
    endif()
  endforeach()
  set(${out_var} "${_names}" PARENT_SCOPE)
endfunction()

_bq_catch_list(_bq_names)
if(_bq_names STREQUAL "_BQ_LIST_FAILED")
  # The binary cannot even list its tests: run the listing as a test so ctest
  # reports the failure and its output.
  add_test("${BQ_CATCH_TARGET}_cannot_list_tests" ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}" --list-test-names-only)
  cmake_policy(POP)
  return()
endif()
if(_bq_names STREQUAL "")
  # No test cases (e.g. no tests/test_*.cpp yet): run the empty binary once so
  # the suite is visibly empty rather than silently absent.
  add_test("${BQ_CATCH_TARGET}_has_no_tests" ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}")
  cmake_policy(POP)
  return()
endif()

# Tags become labels: list the tags, then the tests carrying each tag.
execute_process(COMMAND ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}" --list-tags
                WORKING_DIRECTORY "${BQ_CATCH_WORKING_DIRECTORY}"
                OUTPUT_VARIABLE _bq_tags_out ERROR_QUIET)
string(REGEX MATCHALL "\n +[0-9]+  \\[[^\n]*" _bq_tag_lines "${_bq_tags_out}")
set(_bq_tags "")
foreach(_bq_line IN LISTS _bq_tag_lines)
  if(_bq_line MATCHES "\\[([^]]+)\\]")  # first spelling of the tag
    list(APPEND _bq_tags "${CMAKE_MATCH_1}")
  endif()
endforeach()
set(_bq_tag_index 0)
foreach(_bq_tag IN LISTS _bq_tags)
  _bq_catch_list(_bq_tagged_${_bq_tag_index} "[${_bq_tag}]")
  math(EXPR _bq_tag_index "${_bq_tag_index} + 1")
endforeach()

foreach(_bq_encoded IN LISTS _bq_names)
  string(REPLACE "<BQ_SEMI>" ";" _bq_name "${_bq_encoded}")
  string(REPLACE "<BQ_LB>" "[" _bq_name "${_bq_name}")
  string(REPLACE "<BQ_RB>" "]" _bq_name "${_bq_name}")
  # A Catch2 test spec treats \ , [ ] specially: escape them to match the name exactly.
  set(_bq_spec "${_bq_name}")
  foreach(_bq_char IN ITEMS "\\" "," "[" "]")
    string(REPLACE "${_bq_char}" "\\${_bq_char}" _bq_spec "${_bq_spec}")
  endforeach()
  set(_bq_labels "${BQ_CATCH_TARGET}")
  set(_bq_tag_index 0)
  foreach(_bq_tag IN LISTS _bq_tags)
    if(_bq_encoded IN_LIST _bq_tagged_${_bq_tag_index})
      list(APPEND _bq_labels "${_bq_tag}")
    endif()
    math(EXPR _bq_tag_index "${_bq_tag_index} + 1")
  endforeach()
  # --warn NoTests: if the spec ever fails to match, the test fails instead of
  # passing vacuously.
  add_test("${_bq_name}" ${BQ_CATCH_EMULATOR} "${BQ_CATCH_EXECUTABLE}" "${_bq_spec}" --warn NoTests)
  set_tests_properties("${_bq_name}" PROPERTIES
    LABELS "${_bq_labels}"
    TIMEOUT "${BQ_CATCH_TIMEOUT}"
    WORKING_DIRECTORY "${BQ_CATCH_WORKING_DIRECTORY}")
  if(BQ_CATCH_ENVIRONMENT)
    set_tests_properties("${_bq_name}" PROPERTIES ENVIRONMENT "${BQ_CATCH_ENVIRONMENT}")
  endif()
endforeach()

cmake_policy(POP)
