// Pieces shared by the libFuzzer harnesses: a private scratch directory for the files a harness
// hands to the code under test, and the sc_main that libsystemc.so refers to (libFuzzer brings
// its own main, which wins over the one in libsystemc.so; sc_main is never called).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fuzz {

// One directory per fuzzing process (libFuzzer -jobs/-fork run several), made on first use.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/mmusim-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  return dir;
}

inline std::string write_scratch(const char* name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace fuzz

extern "C" int sc_main(int, char**) { return 0; }
