// Limits on absurd values, checked before anything is built: a run the host cannot hold
// (guest memory whose page tables would not fit this machine's RAM), caches with no lines, and
// a quantum that would overflow SystemC time. Each is refused with a message naming the option,
// instead of being attempted and dying later from an allocation failure or an overflow.
#include <unistd.h>

#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

namespace {

constexpr uint64_t kTableBytes = 4096;       // one page-table page (every modelled format)
constexpr uint64_t kEntriesPerTable = 512;   // 8-byte entries
constexpr uint64_t kFixedAllowance = 200ull << 20;  // simulator state that does not scale
// sc_time holds 64-bit picoseconds; 1e12 cycles is 1000 s at 1 GHz and still fits at 0.1 GHz.
constexpr uint64_t kMaxQuantum = 1000000000000ull;

// Bytes of the page-table pages that map `bytes` of memory with `page` leaves: every level up to
// a single root. Only these pages (not the data pages) are allocated by the model.
uint64_t table_bytes(uint64_t bytes, uint64_t page) {
  uint64_t entries = (bytes + page - 1) / page, total = 0;
  do {
    entries = (entries + kEntriesPerTable - 1) / kEntriesPerTable;  // tables of this level
    total += entries * kTableBytes;
  } while (entries > 1);
  return total;
}

uint64_t machine_ram() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

// What modelling `guest` bytes of guest memory mapped at `page` costs this machine: the model
// allocates page-table pages (stage 2 and the guest's own tables, the latter at 4K as the
// harness builds them) and per-page bookkeeping, never data pages. Peak use is budgeted at twice
// the page-table bytes plus a fixed 200M (the scale target, docs/HARDENING.md, Limits).
struct Plan {
  uint64_t tables = 0, host_mm = 0, budget = 0;
};
Plan plan(uint64_t guest, uint64_t page) {
  Plan p;
  p.tables = table_bytes(guest, page) + table_bytes(guest, kTableBytes);
  // The host's own page tables over guest RAM (as many as stage 2 at the backing size) and the
  // struct page line of every backing page (sim/hv/page_allocator.hpp), stored by the model.
  p.host_mm = table_bytes(guest, page) + guest / page * kLineSize;
  p.budget = 2 * p.tables + p.host_mm + kFixedAllowance + guest / kTableBytes / 8;
  return p;
}

}  // namespace

void add_limits_options(OptionTable& o) {
  o.group = "Limits";
  o.size("host-mem-limit",
         "memory a run may plan to use (2 x its page-table bytes + 200M); 0 = this machine's RAM",
         &SimConfig::host_mem_limit);
}

// A run whose memory budget (plan) exceeds the limit could only end in swapping or the OOM
// killer.
void validate_limits(const SimConfig& c, const Fail& fail) {
  auto cache = [&](const char* size_opt, const char* ways_opt, uint64_t size, uint64_t ways) {
    if (size < kLineSize * ways) {
      fail(size_opt, format_size(size) + " bytes cannot hold one 64-byte line in each of the " +
                         std::to_string(ways) + " ways (--" + ways_opt + ")");
    }
  };
  cache("l1-size", "l1-ways", c.l1_size, c.l1_ways);
  cache("l2-size", "l2-ways", c.l2_size, c.l2_ways);
  cache("llc-size", "llc-ways", c.llc_size, c.llc_ways);

  if (c.quantum > kMaxQuantum) {
    fail("quantum", std::to_string(c.quantum) + " cycles is more than " +
                        std::to_string(kMaxQuantum) + ", the most SystemC time holds at 0.1 GHz");
  }

  // At most 4096 vCPU threads over every VM (--vcpus allows as many in one VM).
  if (uint64_t(c.vms) * c.vcpus > 4096) {
    fail("vms", std::to_string(c.vms) + " VMs x " + std::to_string(c.vcpus) +
                    " vCPUs is more than the 4096 vCPUs allowed");
  }
  if (c.page_size == 0 || c.mem_per_vcpu == 0) return;  // validate_core names these
  const uint64_t guest = uint64_t(c.total_vcpus()) * c.mem_per_vcpu;  // <= 4096 x 1T: no overflow
  const Plan p = plan(guest, c.page_size);
  const uint64_t limit = c.host_mem_limit ? c.host_mem_limit : machine_ram();
  if (limit && p.budget > limit) {
    fail("mem-per-vcpu", std::to_string(c.total_vcpus()) + " vCPUs x " + format_size(c.mem_per_vcpu) +
                             " = " + format_size(guest) + " of guest memory needs about " +
                             std::to_string(p.budget >> 20) + "M to model (2 x " +
                             std::to_string(p.tables >> 20) + "M of page tables + " +
                             std::to_string(p.host_mm >> 20) + "M of host mm + 200M), more than " +
                             (c.host_mem_limit ? "--host-mem-limit " : "this machine's RAM, ") +
                             std::to_string(limit >> 20) + "M");
  }
}

// A host file's VMs (each checked alone by validate_limits) together: the vCPU threads and the
// memory of every VM against the same limits.
void validate_host_limits(const SimConfig& c, const Fail& fail) {
  uint64_t vcpus = 0, guest = 0, budget = kFixedAllowance;
  for (const SimConfig& v : c.vm_configs) {
    vcpus += v.vcpus;
    const uint64_t bytes = uint64_t(v.vcpus) * v.mem_per_vcpu;
    guest += bytes;
    budget += plan(bytes, v.page_size).budget - kFixedAllowance;
  }
  if (vcpus > 4096)
    fail("host", std::to_string(c.vm_configs.size()) + " VMs have " + std::to_string(vcpus) +
                     " vCPUs together, more than the 4096 allowed");
  validate_vmid_space(c, c.pcpus ? c.pcpus : unsigned(vcpus), fail);
  const uint64_t limit = c.host_mem_limit ? c.host_mem_limit : machine_ram();
  if (limit && budget > limit)
    fail("host", "the VMs' " + format_size(guest) + " of guest memory need about " +
                     std::to_string(budget >> 20) + "M to model, more than " +
                     (c.host_mem_limit ? "--host-mem-limit " : "this machine's RAM, ") +
                     std::to_string(limit >> 20) + "M");
}

}  // namespace mmusim::config_detail
