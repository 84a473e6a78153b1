// The single Catch2 main translation unit (one per test executable).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
