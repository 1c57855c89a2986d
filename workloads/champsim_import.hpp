// Imports ChampSim instruction traces (`input_instr` records, 64 bytes each; the layout is in
// docs/TRACE_FORMAT.md, Importers) as an mmusim text trace: trace k becomes
// vCPU k, each instruction its fetch and its memory operands as accesses. Input may be plain,
// gzip or xz (workloads/compressed_input.hpp); it is decoded in large blocks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mmusim {

class TraceTextOutput;

constexpr unsigned kChampsimRecordBytes = 64;

struct ChampsimImportOptions {
  uint64_t skip = 0;              // instructions dropped at the start of each trace
  uint64_t limit = UINT64_MAX;    // instructions imported per trace after the skipped ones
  bool ifetch = true;             // an access for every instruction fetch (the ip)
  // Drop an access to the same 4 KiB page as the previous access of the same kind (fetch, read,
  // write) from the same vCPU, counting one cycle of compute ("gap") per dropped access.
  bool merge_same_page = false;
  // Keep addresses as recorded; otherwise trace k's addresses are shifted by k << 40.
  bool same_address_space = false;
};

// Writes the records of every trace to `out` (header already written); returns the records
// written per vCPU. Throws UsageError naming file, record index and field on bad input.
std::vector<uint64_t> import_champsim(const std::vector<std::string>& traces,
                                      const ChampsimImportOptions& opt, TraceTextOutput& out);

}  // namespace mmusim
