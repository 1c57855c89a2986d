#include "models/mips/mips_refill_walker.hpp"

#include "sim/core/clock.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

namespace {

Perms meet(Perms a, Perms b) {
  return Perms{a.read && b.read, a.write && b.write, a.exec && b.exec};
}

}  // namespace

MipsRefillWalker::MipsRefillWalker(sc_core::sc_module_name name,
                                   const MipsRefillWalkerParams& p,
                                   const Clock& clock, const MipsPteFormat& guest_fmt,
                                   const MipsPteFormat& gpa_fmt, PagePool* table_pool,
                                   Violations* oracle, MipsRefillStats& stats,
                                   FrameCheck frame_check)
    : sc_core::sc_module(name), port("port", 0, clock), p_(p), guest_fmt_(guest_fmt),
      gpa_fmt_(gpa_fmt), pool_(table_pool), oracle_(oracle), frame_check_(std::move(frame_check)),
      stats_(stats) {}

uint64_t MipsRefillWalker::load(Addr hpa, sc_core::sc_time& delay, const std::string& thread,
                                unsigned& refs) {
  if (pool_ && pool_->owns(hpa) && !pool_->live(hpa) && oracle_)
    oracle_->report("freed_table_access", port.clock().to_cycles(sc_core::sc_time_stamp() + delay),
                    thread, hpa, std::string(name()) + " refill read a freed page-table page");
  ++refs;
  return port.read64(hpa, MemClass::PageTable, delay);
}

MipsRefillWalker::PtePair MipsRefillWalker::gpa_lookup(Addr gpa, Addr root, sc_core::sc_time& delay,
                                                       const std::string& thread, unsigned& refs) {
  PtIter it(gpa_fmt_, root, gpa);
  while (it.level() > 1) {
    it.set_entry(load(it.entry_addr(), delay, thread, refs));
    if (!it.can_descend()) return {};
    it.descend();
  }
  PtePair p;
  // The refill handler loads the even and the odd PTE of the pair (ld; ld; mtc0 EntryLo0/1).
  Addr even = it.entry_addr() & ~Addr(15);
  uint64_t lo0 = load(even, delay, thread, refs);
  uint64_t lo1 = load(even + 8, delay, thread, refs);
  bool odd = (it.entry_addr() & 8) != 0;
  p.pte = MipsPteFormat::entrylo(odd ? lo1 : lo0);
  p.buddy = MipsPteFormat::entrylo(odd ? lo0 : lo1);
  return p;
}

WalkResult MipsRefillWalker::walk_stage2(Addr gpa, Access access, Addr root,
                                         sc_core::sc_time& delay, const std::string& thread) {
  WalkResult r;
  r.gpa = gpa;
  delay += port.clock().cycles(p_.mips_tlb_exception + p_.mips_refill_work);
  PtePair p = gpa_lookup(gpa, root, delay, thread, r.refs);
  Perms perms = gpa_fmt_.perms(p.pte | (p.pte ? MipsPteFormat::kPresent : 0));
  if (!perms.allows(access)) {
    r.status = WalkResult::Status::StageTwoFault;
    r.stage2_level = 1;
    return r;
  }
  r.hpa_base = MipsPteFormat::pfn_bits(p.pte);
  r.perms = perms;
  if (frame_check_)
    frame_check_(gpa & ~(kPageSize - 1), r.hpa_base, thread,
                 port.clock().to_cycles(sc_core::sc_time_stamp() + delay));
  return r;
}

WalkResult MipsRefillWalker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr root,
                                  sc_core::sc_time& delay, const std::string& thread) {
  stats_.count.inc();
  stats_.refill.inc();
  WalkResult r;
  auto finish = [&](WalkResult::Status st) {
    r.status = st;
    stats_.refs.sample(r.refs);
    return r;
  };
  delay += port.clock().cycles(p_.mips_tlb_exception + p_.mips_refill_work);
  // EntryLo values carry V/D/pfn only; perms() wants the present bit of a PTE-shaped word.
  auto hw = [](uint64_t lo) { return lo ? (lo | MipsPteFormat::kPresent) : 0; };

  // Guest stage: every guest table entry sits at a guest-physical address that the GPA table
  // translates first (a root-TLB refill of its own).
  PtIter it(guest_fmt_, guest_root_gpa, gva);
  Addr leaf_hpa = 0;
  for (;;) {
    const Addr entry_gpa = it.entry_addr();
    PtePair t = gpa_lookup(entry_gpa, root, delay, thread, r.refs);
    if (!gpa_fmt_.perms(hw(t.pte)).read) {
      r.gpa = entry_gpa;
      r.on_guest_table = true;
      r.stage2_level = 1;
      return finish(WalkResult::Status::StageTwoFault);
    }
    const Addr entry_hpa = MipsPteFormat::pfn_bits(t.pte) | (entry_gpa & (kPageSize - 1));
    if (it.level() == 1) {
      leaf_hpa = entry_hpa;
      break;
    }
    it.set_entry(load(entry_hpa, delay, thread, r.refs));
    if (!it.can_descend()) return finish(WalkResult::Status::GuestFault);
    it.descend();
  }
  // The guest's even/odd PTE pair.
  const Addr even_hpa = leaf_hpa & ~Addr(15);
  const uint64_t g0 = load(even_hpa, delay, thread, r.refs);
  const uint64_t g1 = load(even_hpa + 8, delay, thread, r.refs);
  const bool odd = (leaf_hpa & 8) != 0;
  const uint64_t gpte = odd ? g1 : g0, gbuddy = odd ? g0 : g1;
  const Perms gperms = guest_fmt_.perms(gpte);
  if (!gperms.allows(access)) return finish(WalkResult::Status::GuestFault);

  const Addr data_gpa = guest_fmt_.address(gpte, 1) | (gva & (kPageSize - 1));
  r.gpa = data_gpa;
  PtePair d = gpa_lookup(data_gpa, root, delay, thread, r.refs);
  const Perms dperms = gpa_fmt_.perms(hw(d.pte));
  if (!dperms.allows(access)) {
    r.stage2_level = 1;
    return finish(WalkResult::Status::StageTwoFault);
  }
  r.page_shift = kPageShift;
  r.hpa_base = MipsPteFormat::pfn_bits(d.pte);
  r.perms = meet(gperms, dperms);
  if (frame_check_)
    frame_check_(data_gpa & ~(kPageSize - 1), r.hpa_base, thread,
                 port.clock().to_cycles(sc_core::sc_time_stamp() + delay));

  // The other half of the pair: valid only if both its guest PTE and its GPA PTE are.
  const Perms gb = guest_fmt_.perms(gbuddy);
  if (gb.read) {
    const Addr buddy_gpa = guest_fmt_.address(gbuddy, 1);
    uint64_t gpa_pte;
    if ((buddy_gpa ^ (data_gpa & ~(kPageSize - 1))) == kPageSize)
      gpa_pte = d.buddy;  // the GPA pair the refill already read
    else
      gpa_pte = gpa_lookup(buddy_gpa, root, delay, thread, r.refs).pte;
    const Perms bp = gpa_fmt_.perms(hw(gpa_pte));
    if (bp.read) {
      r.has_buddy = true;
      r.buddy_gva = (gva & ~(kPageSize - 1)) ^ kPageSize;
      r.buddy_gpa = buddy_gpa;
      r.buddy_hpa_base = MipsPteFormat::pfn_bits(gpa_pte);
      r.buddy_perms = meet(gb, bp);
      stats_.buddy_loaded.inc();
      if (frame_check_)
        frame_check_(buddy_gpa, r.buddy_hpa_base, thread,
                     port.clock().to_cycles(sc_core::sc_time_stamp() + delay));
    }
  }
  return finish(WalkResult::Status::Ok);
}

bool MipsRefillWalker::new_asid_on_flush(uint16_t& tag, Cycles& cycles) {
  const uint32_t max = (uint32_t(1) << p_.mips_asid_bits) - 1;
  if (tag >= max) {
    // Out of ASIDs: a new generation starts with a full TLB flush (ASID 0 is never handed out).
    stats_.asid_wrap.inc();
    tag = 1;
    return false;
  }
  stats_.asid_new.inc();
  ++tag;
  cycles = p_.mips_asid_bump;
  return true;
}

}  // namespace mmusim
