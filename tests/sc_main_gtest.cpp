// libsystemc.so provides main() and calls sc_main(); GoogleTest is started from here instead of
// from gtest_main.
#include <gtest/gtest.h>
#include <systemc>

#include "sim/core/systemc_banner.hpp"

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
