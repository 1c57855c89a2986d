// What travels with a TLM-2.0 generic payload to the memory system: who asks (which physical
// CPU's private caches serve it), what operation (plain or atomic), and for what purpose.
#pragma once
#include <cstdint>
#include <tlm>

namespace mmusim {

enum class MemOp : uint8_t { Read, Write, Cmpxchg, Xchg, FetchAdd };
// Purpose of the access, for statistics and for whether contents are real:
// Data has timing only (guest data pages are not backed); the others read/write PhysMem.
enum class MemClass : uint8_t { Data, PageTable, Sync };

struct MemExt : tlm::tlm_extension<MemExt> {
  int cpu = 0;            // physical CPU whose private caches serve the access
  MemOp op = MemOp::Read;
  MemClass cls = MemClass::Data;
  uint64_t value = 0;     // Write/Xchg value, FetchAdd addend, Cmpxchg desired value
  uint64_t expected = 0;  // Cmpxchg expected value
  uint64_t result = 0;    // value read; for atomics the old value

  tlm::tlm_extension_base* clone() const override { return new MemExt(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const MemExt&>(other);
  }
};

}  // namespace mmusim
