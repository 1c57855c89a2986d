// Basic vocabulary shared by every layer of the simulator.
#pragma once
#include <cstdint>

namespace mmusim {

using Addr = uint64_t;    // a physical or virtual address (which one is said by the name)
using Cycles = uint64_t;  // simulated core-clock cycles

constexpr unsigned kPageShift = 12;
constexpr Addr kPageSize = Addr(1) << kPageShift;
constexpr unsigned kLineShift = 6;
constexpr Addr kLineSize = Addr(1) << kLineShift;

// What a guest memory access asks for; decides which permission a translation must grant.
enum class Access : uint8_t { Read, Write, Fetch };

inline const char* access_name(Access a) {
  switch (a) {
    case Access::Read: return "read";
    case Access::Write: return "write";
    case Access::Fetch: return "fetch";
  }
  return "?";
}

}  // namespace mmusim
