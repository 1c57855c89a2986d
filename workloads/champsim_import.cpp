#include "workloads/champsim_import.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "sim/core/error.hpp"
#include "workloads/compressed_input.hpp"
#include "workloads/trace_text_output.hpp"

namespace mmusim {

namespace {

constexpr unsigned kCopyShift = 40;  // trace k lives at k << 40, as lackey logs do
constexpr uint64_t kUserLimit = 1ull << 47;
constexpr size_t kRecordsPerBlock = 16384;

// Field offsets in ChampSim's input_instr (docs/TRACE_FORMAT.md, Importers).
constexpr unsigned kIpAt = 0;
constexpr unsigned kDestinationMemoryAt = 16;  // 2 x u64
constexpr unsigned kSourceMemoryAt = 32;       // 4 x u64
constexpr unsigned kDestinations = 2, kSources = 4;

inline uint64_t le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Per-vCPU state of the import: the merge's last page per access kind and the pending gap.
class VcpuImport {
 public:
  VcpuImport(uint32_t vcpu, const ChampsimImportOptions& opt, TraceTextOutput& out,
             const std::string& path)
      : vcpu_(vcpu), shift_(opt.same_address_space ? 0 : uint64_t(vcpu) << kCopyShift),
        merge_(opt.merge_same_page), out_(out), path_(path) {}

  void access(unsigned kind, uint64_t raw, uint64_t record, const char* field, unsigned index) {
    static const char kKinds[3] = {'x', 'r', 'w'};
    uint64_t addr = raw + shift_;
    if (addr < raw || addr >= kUserLimit) {
      char b[200];
      std::snprintf(b, sizeof b, ": record %llu (byte %llu): %s%s: address 0x%llx is not a user address",
                    static_cast<unsigned long long>(record),
                    static_cast<unsigned long long>(record * kChampsimRecordBytes), field,
                    index == ~0u ? "" : ("[" + std::to_string(index) + "]").c_str(),
                    static_cast<unsigned long long>(raw));
      throw UsageError(path_ + b + (shift_ ? " (after the vCPU's shift of 1 TiB per trace)" : ""));
    }
    const uint64_t page = addr >> 12;
    if (merge_ && have_[kind] && last_page_[kind] == page) {
      ++pending_gap_;
      return;
    }
    have_[kind] = true;
    last_page_[kind] = page;
    flush_gap();
    out_.access(vcpu_, kKinds[kind], addr, false, 0);
    ++records_;
  }
  void flush_gap() {
    if (!pending_gap_) return;
    out_.gap(vcpu_, pending_gap_);
    pending_gap_ = 0;
    ++records_;
  }
  uint64_t records() const { return records_; }

 private:
  uint32_t vcpu_;
  uint64_t shift_;
  bool merge_;
  TraceTextOutput& out_;
  const std::string& path_;
  bool have_[3] = {false, false, false};
  uint64_t last_page_[3] = {0, 0, 0};
  uint64_t pending_gap_ = 0, records_ = 0;
};

}  // namespace

std::vector<uint64_t> import_champsim(const std::vector<std::string>& traces,
                                      const ChampsimImportOptions& opt, TraceTextOutput& out) {
  std::vector<uint64_t> counts;
  const size_t cap = kRecordsPerBlock * kChampsimRecordBytes;
  std::unique_ptr<char[]> buf(new char[cap]);
  for (uint32_t vcpu = 0; vcpu < traces.size(); ++vcpu) {
    CompressedInput in(traces[vcpu]);
    VcpuImport v(vcpu, opt, out, in.path());
    const uint64_t end = opt.limit > UINT64_MAX - opt.skip ? UINT64_MAX : opt.skip + opt.limit;
    for (uint64_t base = 0;; ) {  // base: index of the block's first record in the file
      const size_t got = in.read(buf.get(), cap);
      const size_t whole = got / kChampsimRecordBytes;
      for (size_t i = 0; i < whole && base + i < end; ++i) {
        const uint64_t record = base + i;
        if (record < opt.skip) continue;
        const auto* r = reinterpret_cast<const unsigned char*>(buf.get()) + i * kChampsimRecordBytes;
        if (opt.ifetch) v.access(0, le64(r + kIpAt), record, "ip", ~0u);
        for (unsigned s = 0; s < kSources; ++s)
          if (uint64_t a = le64(r + kSourceMemoryAt + 8 * s)) v.access(1, a, record, "source_memory", s);
        for (unsigned d = 0; d < kDestinations; ++d)
          if (uint64_t a = le64(r + kDestinationMemoryAt + 8 * d))
            v.access(2, a, record, "destination_memory", d);
      }
      if (base + whole >= end) break;  // the limit: the rest of the file is not read
      // A short block is the end of the content or comes before a fault (a cut-off stream),
      // which this read reports ahead of the incomplete record it leaves.
      if (got < cap && in.read(buf.get(), cap) != 0) throw std::logic_error("read after a short block");
      if (got % kChampsimRecordBytes)
        throw UsageError(in.path() + ": record " + std::to_string(base + whole) + " (byte " +
                         std::to_string((base + whole) * kChampsimRecordBytes) + "): incomplete, " +
                         std::to_string(got % kChampsimRecordBytes) + " of " +
                         std::to_string(kChampsimRecordBytes) +
                         " bytes: the content is not a whole number of ChampSim records");
      base += whole;
      if (got < cap) break;
    }
    v.flush_gap();
    counts.push_back(v.records());
  }
  return counts;
}

}  // namespace mmusim
