#include "models/mips/mips_walker_base.hpp"

#include "sim/core/clock.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

MipsWalkerBase::MipsWalkerBase(sc_core::sc_module_name name, const MipsRefillWalkerParams& p,
                               const Clock& clock, const MipsPteFormat& guest_fmt,
                               const MipsPteFormat& gpa_fmt, PagePool* table_pool,
                               Violations* oracle, MipsRefillStats& stats,
                               FrameCheck frame_check)
    : sc_core::sc_module(name), port("port", 0, clock), p_(p), guest_fmt_(guest_fmt),
      gpa_fmt_(gpa_fmt), pool_(table_pool), oracle_(oracle), frame_check_(std::move(frame_check)),
      stats_(stats) {}

uint64_t MipsWalkerBase::load(Addr hpa, sc_core::sc_time& delay, const std::string& thread,
                              unsigned& refs) {
  if (pool_ && pool_->owns(hpa) && !pool_->live(hpa) && oracle_)
    oracle_->report("freed_table_access", when(delay), thread, hpa,
                    std::string(name()) + " refill read a freed page-table page");
  ++refs;
  return port.read64(hpa, MemClass::PageTable, delay);
}

void MipsWalkerBase::store(Addr hpa, uint64_t value, sc_core::sc_time& delay) {
  port.write64(hpa, value, MemClass::PageTable, delay);
}

void MipsWalkerBase::take_exception(sc_core::sc_time& delay) const {
  delay += port.clock().cycles(p_.mips_tlb_exception + p_.mips_refill_work);
}

Cycles MipsWalkerBase::when(const sc_core::sc_time& delay) const {
  return port.clock().to_cycles(sc_core::sc_time_stamp() + delay);
}

MipsWalkerBase::PtePair MipsWalkerBase::load_pair(Addr leaf_hpa, sc_core::sc_time& delay,
                                                  const std::string& thread, unsigned& refs) {
  PtePair p;
  const Addr even = leaf_hpa & ~Addr(15);
  p.lo[0] = MipsPteFormat::entrylo(load(even, delay, thread, refs));
  p.lo[1] = MipsPteFormat::entrylo(load(even + 8, delay, thread, refs));
  const bool odd = (leaf_hpa & 8) != 0;
  p.pte = p.lo[odd];
  p.buddy = p.lo[!odd];
  return p;
}

MipsWalkerBase::PtePair MipsWalkerBase::gpa_lookup(Addr gpa, Addr root, sc_core::sc_time& delay,
                                                   const std::string& thread, unsigned& refs) {
  PtIter it(gpa_fmt_, root, gpa);
  while (it.level() > 1) {
    it.set_entry(load(it.entry_addr(), delay, thread, refs));
    if (!it.can_descend()) return {};
    it.descend();
  }
  return load_pair(it.entry_addr(), delay, thread, refs);
}

WalkResult MipsWalkerBase::stage2_result(Addr gpa, const Xlate& t, unsigned refs) {
  WalkResult r;
  r.gpa = gpa;
  r.refs = refs;
  if (!t.ok) {
    r.status = WalkResult::Status::StageTwoFault;
    r.stage2_level = 1;
    return r;
  }
  r.hpa_base = t.frame;
  r.perms = t.perms;
  return r;
}

MipsPairTlb::Half MipsWalkerBase::gpa_half(uint64_t lo) const {
  MipsPairTlb::Half h;
  h.perms = gpa_fmt_.perms(hw(lo));
  h.valid = h.perms.read;
  h.frame = MipsPteFormat::pfn_bits(lo);
  return h;
}

void MipsWalkerBase::check_frame(Addr gpa, Addr hpa, const std::string& thread,
                                 const sc_core::sc_time& delay) {
  if (frame_check_) frame_check_(gpa & ~(kPageSize - 1), hpa, thread, when(delay));
}

Cycles MipsWalkerBase::retag(uint16_t tag, TagChange change, bool dropped) {
  tag_ = tag;
  switch (change) {
    case TagChange::First:
      return 0;  // entering the pCPU for the first time: nothing cached under another
    case TagChange::Shared:
      // A sibling vCPU paid for it; this one only enters with it.
      tag_changed(dropped);
      return 0;
    case TagChange::Wrapped:
      stats_.asid_wrap.inc();  // the vCPU pays the pCPU's TLB flush (sim/cpu/vcpu_tlb_tags.cpp)
      tag_changed(dropped);
      return 0;
    case TagChange::Fresh:
      break;
  }
  stats_.asid_new.inc();
  tag_changed(dropped);
  return p_.mips_asid_bump;
}

}  // namespace mmusim
