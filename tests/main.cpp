// The Catch2 v2 main for bq_tests: compiled once, with the same compiler, flags and
// sanitizers as the tests themselves (Debian's prebuilt Catch2WithMain is not).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
