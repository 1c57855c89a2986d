#include "models/x86/shadow_walker.hpp"

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

ShadowWalker::ShadowWalker(sc_core::sc_module_name name, const WalkerParams& p,
                           const Clock& clock, PagePool* pool, Violations* oracle,
                           ShadowWalkStats& stats)
    : sc_core::sc_module(name), port("port", 0, clock), fmt_(4), pwc_lookup_(p.pwc), pool_(pool),
      oracle_(oracle), stats_(stats) {
  if (p.pwc_entries == 0) return;
  const unsigned ways = p.pwc_entries < p.pwc_ways ? p.pwc_entries : p.pwc_ways;
  for (unsigned l = 0; l <= fmt_.levels(); ++l) pwc_.emplace_back(l >= 2 ? p.pwc_entries : 0, ways);
}

void ShadowWalker::flush_caches() {
  for (auto& c : pwc_) c.flush();
}

WalkResult ShadowWalker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr shadow_root_hpa,
                              sc_core::sc_time& delay, const std::string& thread) {
  (void)guest_root_gpa;  // the hardware's CR3 holds the shadow root
  stats_.count.inc();
  WalkResult r;
  r.status = WalkResult::Status::StageTwoFault;
  r.gpa = gva;
  if (shadow_root_hpa == 0) return r;
  PtIter it(fmt_, shadow_root_hpa, gva);
  if (!pwc_.empty()) {  // the lowest cached level first: it skips the most references
    delay += port.clock().cycles(pwc_lookup_);
    for (unsigned l = 2; l <= fmt_.levels(); ++l) {
      Addr next;
      if (pwc_[l].lookup(gva >> fmt_.shift(l), shadow_root_hpa, next)) {
        stats_.pwc_hit.inc();
        it.resume_below(l, next);
        break;
      }
    }
  }
  for (;; it.descend()) {
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
    if (!pwc_.empty()) pwc_[level].insert(gva >> fmt_.shift(level), shadow_root_hpa,
                                          fmt_.table_address(e));
  }
  stats_.refs.sample(r.refs);
  return r;
}

WalkResult ShadowWalker::walk_stage2(Addr, Access, Addr, sc_core::sc_time&, const std::string&) {
  throw ModelError("shadow paging has no second stage: guest-physical accesses are not modelled");
}

}  // namespace mmusim
