# Shared by the consumer projects: build and check ../main.cpp against bq::bq.
# The consumer sets no C++ standard: bq::bq must bring C++20 itself.
if(NOT TARGET bq::bq)
  message(FATAL_ERROR "bq::bq is not defined")
endif()
# bq's own development targets must not leak into a consumer (tests are off
# unless the consumer asks for them, and the warning targets exist only then).
foreach(_target IN ITEMS bq_tests bq_warnings bq_sanitize bq_header_check)
  if(TARGET ${_target})
    message(FATAL_ERROR "bq's development target ${_target} leaked into a consumer")
  endif()
endforeach()

# The version bq's CMake project declared (read from include/bq/version.hpp) must
# be the one the headers carry: from find_package, or from bq's source directory.
if(BQ_CONSUMER_BQ_DIR)
  get_directory_property(_expected_version DIRECTORY "${BQ_CONSUMER_BQ_DIR}"
                         DEFINITION PROJECT_VERSION)
else()
  set(_expected_version "${bq_VERSION}")
endif()
if(NOT _expected_version MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "bq's version is '${_expected_version}', not MAJOR.MINOR.PATCH")
endif()

add_executable(consumer "${CMAKE_CURRENT_LIST_DIR}/main.cpp")
target_link_libraries(consumer PRIVATE bq::bq)
target_compile_definitions(consumer PRIVATE
  BQ_CONSUMER_EXPECTED_VERSION="${_expected_version}"
  BQ_CONSUMER_METHOD="${PROJECT_NAME}")
# The headers must be warning-clean under a user's usual strict flags.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(consumer PRIVATE -Wall -Wextra -Wpedantic -Werror)
endif()

enable_testing()
add_test(NAME consumer COMMAND consumer)
