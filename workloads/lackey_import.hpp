// Imports valgrind lackey memory logs as an mmusim text trace (docs/TRACE_FORMAT.md,
// Importers): log k becomes vCPU k. The output is byte for byte what scripts/lackey2trace.py
// writes with the same options; this version parses in place from large buffers (plain, gzip
// or xz input) and so is fast enough for logs of billions of lines.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mmusim {

class TraceTextOutput;

struct LackeyImportOptions {
  // Drop an access repeating the kind and 4 KiB page of the access just before it in the same
  // log, counting one cycle of compute ("gap") per dropped access.
  bool merge_same_page = false;
  // Keep addresses as recorded; otherwise log k's addresses are shifted by k << 40.
  bool same_address_space = false;
};

// Writes the records of every log to `out` (whose header is already written); returns the
// records written per vCPU. Throws UsageError "FILE:LINE: message" on a malformed line.
std::vector<uint64_t> import_lackey(const std::vector<std::string>& logs,
                                    const LackeyImportOptions& opt, TraceTextOutput& out);

}  // namespace mmusim
