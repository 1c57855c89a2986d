#include "models/mips/mips_te_walker.hpp"

#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

MipsTeWalker::MipsTeWalker(sc_core::sc_module_name name, const MipsRefillWalkerParams& p,
                           const Clock& clock, const MipsPteFormat& guest_fmt,
                           const MipsPteFormat& gpa_fmt, PagePool* table_pool,
                           Violations* oracle, MipsRefillStats& stats, MipsTeStats& te,
                           Addr guest_tlb, FrameCheck frame_check)
    : MipsWalkerBase(name, p, clock, guest_fmt, gpa_fmt, table_pool, oracle, stats,
                     std::move(frame_check)),
      te_(te), guest_tlb_(guest_tlb) {}

MipsTeWalker::Xlate MipsTeWalker::kseg0_translate(Addr gpa, Access access, Ctx& c) {
  const Addr gva = kKseg0Gva + gpa;
  const unsigned h = MipsPairTlb::half_of(gva);
  for (;;) {
    if (MipsPairTlb::Entry* e = kseg0_tlb_.lookup(tag_, gva)) {
      const MipsPairTlb::Half& half = e->half[h];
      if (half.valid && half.perms.allows(access)) return {true, half.frame, half.perms};
      kseg0_tlb_.erase(tag_, gva);
    }
    // Host TLB refill from the GVA tables.
    take_exception(c.delay);
    uint64_t lo[2] = {0, 0};
    if (const Addr even = gva_pair(gva, false, c)) {
      lo[0] = MipsPteFormat::entrylo(load(even, c.delay, c.thread, c.refs));
      lo[1] = MipsPteFormat::entrylo(load(even + 8, c.delay, c.thread, c.refs));
    }
    const MipsPairTlb::Half half = gpa_half(lo[h]);
    if (half.valid && half.perms.allows(access)) {
      te_.host_refill.inc();
      kseg0_tlb_.insert(tag_, gva, gpa_half(lo[0]), gpa_half(lo[1]));
      return {true, half.frame, half.perms};
    }
    // kvm_mips_handle_kseg0_tlb_fault: the GPA table's PTE into the GVA tables, then retry.
    te_.kseg0_fault.inc();
    take_exception(c.delay);
    const PtePair p = gpa_lookup(gpa, c.root, c.delay, c.thread, c.refs);
    const MipsPairTlb::Half g = gpa_half(p.pte);
    if (!g.valid || !g.perms.allows(access)) return {};  // KVM's GPA fault path first
    // Both halves, as the GPA table has them (the KSEG0 pair is the GPA pair).
    uint64_t pte[2] = {0, 0};
    for (unsigned i = 0; i < 2; ++i) {
      const MipsPairTlb::Half half = gpa_half(p.lo[i]);
      if (!half.valid) continue;
      check_frame((gpa & ~Addr(2 * kPageSize - 1)) + i * kPageSize, half.frame, c.thread, c.delay);
      pte[i] = guest_fmt_.make_leaf(half.frame, 1, half.perms, true, half.perms.write);
    }
    gva_write_pair(gva, pte, c);
  }
}

WalkResult::Status MipsTeWalker::guest_refill_handler(Addr gva, Addr guest_root_gpa,
                                                      uint64_t lo[2], Addr& fault_gpa, Ctx& c) {
  PtIter it(guest_fmt_, guest_root_gpa, gva);
  for (;;) {
    const Addr entry_gpa = it.entry_addr();
    const Xlate t = kseg0_translate(entry_gpa, Access::Read, c);
    if (!t.ok) {
      fault_gpa = entry_gpa;
      return WalkResult::Status::StageTwoFault;
    }
    const Addr entry_hpa = t.frame | (entry_gpa & (kPageSize - 1));
    if (it.level() == 1) {
      const PtePair p = load_pair(entry_hpa, c.delay, c.thread, c.refs);
      lo[0] = p.lo[0];
      lo[1] = p.lo[1];
      return WalkResult::Status::Ok;
    }
    it.set_entry(load(entry_hpa, c.delay, c.thread, c.refs));
    if (!it.can_descend()) return WalkResult::Status::GuestFault;
    it.descend();
  }
}

WalkResult MipsTeWalker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr root,
                              sc_core::sc_time& delay, const std::string& thread) {
  stats_.count.inc();
  stats_.refill.inc();
  WalkResult r;
  Ctx c{root, delay, thread, r.refs};
  auto finish = [&](WalkResult::Status st) {
    r.status = st;
    stats_.refs.sample(r.refs);
    return r;
  };
  run_pending(guest_root_gpa, c);
  const unsigned h = MipsPairTlb::half_of(gva);
  const Addr page = gva & ~(kPageSize - 1);
  const uint64_t hi = entryhi(gva, guest_root_gpa);
  for (;;) {
    // The host TLB refill handler over the GVA tables.
    take_exception(delay);
    uint64_t hlo[2] = {0, 0};
    if (const Addr even = gva_pair(gva, false, c)) {
      hlo[0] = MipsPteFormat::entrylo(load(even, delay, thread, r.refs));
      hlo[1] = MipsPteFormat::entrylo(load(even + 8, delay, thread, r.refs));
    }
    const Perms hp = guest_fmt_.perms(hw(hlo[h]));
    auto known = gpa_of_.find(page);
    if (hp.read && hp.allows(access) && known != gpa_of_.end()) {
      te_.host_refill.inc();
      r.gpa = known->second | (gva & (kPageSize - 1));
      r.hpa_base = MipsPteFormat::pfn_bits(hlo[h]);
      r.perms = hp;
      check_frame(known->second, r.hpa_base, thread, delay);
      const Perms bp = guest_fmt_.perms(hw(hlo[h ^ 1]));
      auto buddy = gpa_of_.find(page ^ kPageSize);
      if (bp.read && buddy != gpa_of_.end()) {
        r.has_buddy = true;
        r.buddy_gva = page ^ kPageSize;
        r.buddy_gpa = buddy->second;
        r.buddy_hpa_base = MipsPteFormat::pfn_bits(hlo[h ^ 1]);
        r.buddy_perms = bp;
        stats_.buddy_loaded.inc();
      }
      return finish(WalkResult::Status::Ok);
    }
    // Exit to KVM: look the address up in the emulated guest TLB.
    te_.tlb_exit.inc();
    take_exception(delay);
    const int idx = guest_tlb_lookup(hi, c);
    uint64_t glo[2] = {0, 0};
    if (idx >= 0) {
      const Addr e = guest_tlb_ + Addr(idx) * kEntryBytes;
      glo[0] = load(e + 8, delay, thread, r.refs);
      glo[1] = load(e + 16, delay, thread, r.refs);
    }
    const Perms gp = guest_fmt_.perms(hw(glo[h]));
    if (idx >= 0 && gp.read && gp.allows(access)) {
      // kvm_mips_handle_mapped_seg_tlb_fault: the accessed half from the GPA table.
      const Addr gpa_page = MipsPteFormat::pfn_bits(glo[h]);
      r.gpa = gpa_page | (gva & (kPageSize - 1));
      const PtePair p = gpa_lookup(gpa_page, root, delay, thread, r.refs);
      const MipsPairTlb::Half g = gpa_half(p.pte);
      if (!g.valid || !g.perms.allows(access)) {
        r.stage2_level = 1;
        return finish(WalkResult::Status::StageTwoFault);
      }
      te_.gva_fill.inc();
      check_frame(gpa_page, g.frame, thread, delay);
      const Perms both = meet(gp, g.perms);
      uint64_t pte[2] = {0, 0};
      pte[h] = guest_fmt_.make_leaf(g.frame, 1, both, true, both.write);
      gva_write_pair(gva, pte, c);
      gpa_of_.erase(page ^ kPageSize);
      gpa_of_[page] = gpa_page;
      continue;  // the guest retries: the host refill now finds it
    }
    // KVM delivers the TLB exception to the guest; its handler reads the guest's tables.
    te_.refill_delivered.inc();
    take_exception(delay);
    uint64_t lo[2] = {0, 0};
    Addr fault_gpa = 0;
    const WalkResult::Status st = guest_refill_handler(gva, guest_root_gpa, lo, fault_gpa, c);
    if (st == WalkResult::Status::StageTwoFault) {
      r.gpa = fault_gpa;
      r.on_guest_table = true;
      r.stage2_level = 1;
      return finish(st);
    }
    const Perms np = guest_fmt_.perms(hw(lo[h]));
    if (st == WalkResult::Status::GuestFault || !np.read || !np.allows(access))
      return finish(WalkResult::Status::GuestFault);  // the guest's page-fault handler
    // TLBWR (TLBWI over an entry with an invalid or read-only half) traps; KVM emulates it.
    te_.tlbwr_emulated.inc();
    take_exception(delay);
    unsigned slot = idx >= 0 ? unsigned(idx) : next_wr_;
    if (idx < 0) next_wr_ = (next_wr_ + 1) % kGuestTlbEntries;
    guest_tlb_write(slot, hi, lo, c);
    if (idx >= 0) gva_clear_pair(gva, c);  // the entry changed in place
  }
}

WalkResult MipsTeWalker::walk_stage2(Addr gpa, Access access, Addr root, sc_core::sc_time& delay,
                                     const std::string& thread) {
  unsigned refs = 0;
  Ctx c{root, delay, thread, refs};
  run_pending(last_guest_root_, c);
  const Xlate t = kseg0_translate(gpa, access, c);
  return stage2_result(gpa, t, refs);
}

}  // namespace mmusim
