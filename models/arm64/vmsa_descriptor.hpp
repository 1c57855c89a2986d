// Bits shared by every VMSAv8-64 translation table descriptor with the 4 KiB granule (Arm ARM
// D8.3): the two type bits, the output address, the access flag and the software-reserved
// field. Stage 1 (arm64_s1_format) and stage 2 (arm64_s2_format) differ in the attribute bits.
//
// Level numbering: the model's level 1 is the 4 KiB level (Arm lookup level 3), 2 is Arm level
// 2 (2 MiB blocks), 3 is Arm level 1 (1 GiB blocks), 4 is Arm level 0 (tables only).
#pragma once
#include <cstdint>

namespace mmusim::vmsa {

constexpr uint64_t kValid = 1ull << 0;
// At levels above the last: set = table descriptor, clear = block. At the last level it must be
// set (0b11 is a page; 0b01 is reserved and faults).
constexpr uint64_t kTypeTable = 1ull << 1;
constexpr uint64_t kShInner = 3ull << 8;     // SH[9:8] = 0b11, inner shareable
constexpr uint64_t kAf = 1ull << 10;         // access flag
constexpr uint64_t kDbm = 1ull << 51;        // dirty bit modifier (not used by the model)
constexpr uint64_t kContiguous = 1ull << 52;
constexpr uint64_t kSwShift = 55;            // bits [58:55] are reserved for software
constexpr uint64_t kSwMask = 0xFull << kSwShift;
constexpr uint64_t kOaMask = 0x0000FFFFFFFFF000ull;  // output address [47:12] (48-bit PA)

constexpr unsigned kGranuleShift = 12;

}  // namespace mmusim::vmsa
