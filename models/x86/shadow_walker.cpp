#include "models/x86/shadow_walker.hpp"

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

ShadowWalker::ShadowWalker(sc_core::sc_module_name name, const Clock& clock, PagePool* pool,
                           Violations* oracle, WalkStats& stats)
    : sc_core::sc_module(name), port("port", 0, clock), fmt_(4), pool_(pool), oracle_(oracle),
      stats_(stats) {}

WalkResult ShadowWalker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr shadow_root_hpa,
                              sc_core::sc_time& delay, const std::string& thread) {
  (void)guest_root_gpa;  // the hardware's CR3 holds the shadow root
  stats_.count.inc();
  WalkResult r;
  r.status = WalkResult::Status::StageTwoFault;
  r.gpa = gva;
  if (shadow_root_hpa == 0) return r;
  for (PtIter it(fmt_, shadow_root_hpa, gva);; it.descend()) {
    const unsigned level = it.level();
    const Addr ea = it.entry_addr();
    if (pool_ && pool_->owns(ea) && !pool_->live(ea) && oracle_)
      oracle_->report("freed_table_access", port.clock().to_cycles(sc_core::sc_time_stamp() + delay),
                      thread, ea, std::string(name()) + " read an entry of a freed shadow page");
    ++r.refs;
    const uint64_t e = port.read64(ea, MemClass::PageTable, delay);
    it.set_entry(e);
    r.stage2_level = level;
    if (!fmt_.present(e)) break;
    if (level == 1 || (level == 2 && fmt_.is_leaf(e, 2))) {  // a 4 KiB or 2 MiB leaf
      const Perms p = fmt_.perms(e);
      if (!p.allows(access)) break;
      const unsigned shift = fmt_.shift(level);
      r.status = WalkResult::Status::Ok;
      r.hpa_base = fmt_.address(e, level);
      r.gpa = r.hpa_base | (gva & ((Addr(1) << shift) - 1));
      r.page_shift = shift;
      r.perms = p;
      break;
    }
  }
  stats_.refs.sample(r.refs);
  return r;
}

WalkResult ShadowWalker::walk_stage2(Addr, Access, Addr, sc_core::sc_time&, const std::string&) {
  throw ModelError("shadow paging has no second stage: guest-physical accesses are not modelled");
}

}  // namespace mmusim
