# libFuzzer harnesses, included by the top CMakeLists.txt with -DMMUSIM_FUZZ=ON (clang; the
# whole build then carries ASan + UBSan and libFuzzer's coverage instrumentation).
# The trace harness compiles the reader (with its input layer and the replay's demultiplexer)
# itself rather than linking mmusim_lib, so a fuzz build compiles only sim/core and the reader,
# not the whole simulator.
add_executable(fuzz_config ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_config.cpp)
target_link_libraries(fuzz_config PRIVATE mmusim_core)

add_executable(fuzz_trace ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_trace.cpp
               ${CMAKE_SOURCE_DIR}/workloads/trace_reader.cpp
               ${CMAKE_SOURCE_DIR}/workloads/trace_demux.cpp
               ${CMAKE_SOURCE_DIR}/workloads/compressed_input.cpp)
target_link_libraries(fuzz_trace PRIVATE mmusim_core ZLIB::ZLIB PkgConfig::LZMA)

# The importers and the compressed-input layer under them, likewise without the simulator.
add_executable(fuzz_import ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_import.cpp
               ${CMAKE_SOURCE_DIR}/workloads/compressed_input.cpp
               ${CMAKE_SOURCE_DIR}/workloads/line_source.cpp
               ${CMAKE_SOURCE_DIR}/workloads/trace_text_output.cpp
               ${CMAKE_SOURCE_DIR}/workloads/lackey_import.cpp
               ${CMAKE_SOURCE_DIR}/workloads/champsim_import.cpp)
target_link_libraries(fuzz_import PRIVATE mmusim_core ZLIB::ZLIB PkgConfig::LZMA)

foreach(t fuzz_config fuzz_trace fuzz_import)
  target_compile_options(${t} PRIVATE -Wall -Wextra)
  target_link_options(${t} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endforeach()

# Replays the seed corpus and every input that once crashed a harness (regressions/) in a fuzz
# build's ctest: -runs=0 executes each file once and fails on any sanitizer report or crash.
foreach(h config trace import)
  add_test(NAME fuzz_${h}_replay
    COMMAND fuzz_${h} -runs=0 ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${h}
            ${CMAKE_SOURCE_DIR}/tests/fuzz/regressions/${h})
endforeach()
