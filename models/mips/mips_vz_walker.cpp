#include "models/mips/mips_vz_walker.hpp"

#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

MipsVzWalker::MipsVzWalker(sc_core::sc_module_name name, const MipsRefillWalkerParams& p,
                           const Clock& clock, const MipsPteFormat& guest_fmt,
                           const MipsPteFormat& gpa_fmt, PagePool* table_pool,
                           Violations* oracle, MipsRefillStats& stats, MipsVzStats& vz,
                           FrameCheck frame_check)
    : MipsWalkerBase(name, p, clock, guest_fmt, gpa_fmt, table_pool, oracle, stats,
                     std::move(frame_check)),
      vz_(vz) {}

MipsVzWalker::Xlate MipsVzWalker::root_translate(Addr gpa, Access access, Addr root,
                                                 sc_core::sc_time& delay,
                                                 const std::string& thread, unsigned& refs) {
  const unsigned h = MipsPairTlb::half_of(gpa);
  MipsPairTlb::Entry* e = root_tlb_.lookup(tag_, gpa);
  if (!e) {
    // Root TLB refill: KVM's handler loads the GPA table's pair for this GPA, whatever its state.
    vz_.root_refill.inc();
    take_exception(delay);
    const PtePair p = gpa_lookup(gpa, root, delay, thread, refs);
    const MipsPairTlb::Half even = gpa_half(p.lo[0]), odd = gpa_half(p.lo[1]);
    const Addr pair_base = gpa & ~Addr(2 * kPageSize - 1);
    if (even.valid) check_frame(pair_base, even.frame, thread, delay);
    if (odd.valid) check_frame(pair_base + kPageSize, odd.frame, thread, delay);
    e = &root_tlb_.insert(tag_, gpa, even, odd);
  }
  const MipsPairTlb::Half& half = e->half[h];
  if (!half.valid || !half.perms.allows(access)) {
    // TLB invalid/modified: KVM's GPA fault path maps the page and then drops this pair.
    root_tlb_.erase(tag_, gpa);
    vz_.root_inv.inc();
    return {};
  }
  return {true, half.frame, half.perms};
}

WalkResult MipsVzWalker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr root,
                              sc_core::sc_time& delay, const std::string& thread) {
  stats_.count.inc();
  stats_.refill.inc();
  last_guest_root_ = guest_root_gpa;
  WalkResult r;
  auto finish = [&](WalkResult::Status st) {
    r.status = st;
    stats_.refs.sample(r.refs);
    return r;
  };
  const uint64_t gtag = guest_tag(guest_root_gpa);
  const unsigned h = MipsPairTlb::half_of(gva);
  MipsPairTlb::Entry* g = guest_tlb_.lookup(gtag, gva);
  if (!g || !g->half[h].valid) {
    // Guest TLB refill (an invalid half: the guest's TLB invalid exception, which in the model
    // rereads the pair the same way). The guest's handler reads its tables at GPAs that the
    // root TLB translates.
    vz_.guest_refill.inc();
    take_exception(delay);
    PtIter it(guest_fmt_, guest_root_gpa, gva);
    for (;;) {
      const Addr entry_gpa = it.entry_addr();
      const Xlate t = root_translate(entry_gpa, Access::Read, root, delay, thread, r.refs);
      if (!t.ok) {
        r.gpa = entry_gpa;
        r.on_guest_table = true;
        r.stage2_level = 1;
        return finish(WalkResult::Status::StageTwoFault);
      }
      const Addr entry_hpa = t.frame | (entry_gpa & (kPageSize - 1));
      if (it.level() == 1) {
        const PtePair p = load_pair(entry_hpa, delay, thread, r.refs);
        MipsPairTlb::Half half[2];
        for (unsigned i = 0; i < 2; ++i) {
          half[i].perms = guest_fmt_.perms(hw(p.lo[i]));
          half[i].valid = half[i].perms.read;
          half[i].frame = MipsPteFormat::pfn_bits(p.lo[i]);
        }
        g = &guest_tlb_.insert(gtag, gva, half[0], half[1]);
        break;
      }
      it.set_entry(load(entry_hpa, delay, thread, r.refs));
      if (!it.can_descend()) return finish(WalkResult::Status::GuestFault);
      it.descend();
    }
  }
  const MipsPairTlb::Half ghalf = g->half[h];
  if (!ghalf.valid || !ghalf.perms.allows(access)) return finish(WalkResult::Status::GuestFault);

  const Addr data_gpa = ghalf.frame | (gva & (kPageSize - 1));
  r.gpa = data_gpa;
  const Xlate d = root_translate(data_gpa, access, root, delay, thread, r.refs);
  if (!d.ok) {
    r.stage2_level = 1;
    return finish(WalkResult::Status::StageTwoFault);
  }
  r.page_shift = kPageShift;
  r.hpa_base = d.frame;
  r.perms = meet(ghalf.perms, d.perms);

  // The micro-TLB also takes the other half of the guest pair when the root TLB already holds
  // its GPA (no further exception is taken for it).
  const MipsPairTlb::Half gb = g->half[h ^ 1];
  if (gb.valid) {
    if (MipsPairTlb::Entry* rb = root_tlb_.lookup(tag_, gb.frame)) {
      const MipsPairTlb::Half& bh = rb->half[MipsPairTlb::half_of(gb.frame)];
      if (bh.valid) {
        r.has_buddy = true;
        r.buddy_gva = (gva & ~(kPageSize - 1)) ^ kPageSize;
        r.buddy_gpa = gb.frame;
        r.buddy_hpa_base = bh.frame;
        r.buddy_perms = meet(gb.perms, bh.perms);
        stats_.buddy_loaded.inc();
      }
    }
  }
  return finish(WalkResult::Status::Ok);
}

WalkResult MipsVzWalker::walk_stage2(Addr gpa, Access access, Addr root, sc_core::sc_time& delay,
                                     const std::string& thread) {
  // A guest kernel access to an unmapped segment (its own table writes): GPA through the root
  // TLB alone.
  unsigned refs = 0;
  const Xlate t = root_translate(gpa, access, root, delay, thread, refs);
  return stage2_result(gpa, t, refs);
}

void MipsVzWalker::flush_caches() {
  guest_tlb_.flush_all();
  root_tlb_.flush_all();
}

void MipsVzWalker::flush_va(Addr gva) {
  // The guest's own invalidation of one page (tlbp; tlbwi of an invalid entry).
  guest_tlb_.erase(guest_tag(last_guest_root_), gva);
}

void MipsVzWalker::tag_changed(bool dropped) {
  // A new root ASID or GuestID: entries under the old one can no longer hit. A wrap on the
  // pCPU flushed its root TLB (local_flush_tlb_all) and, for GuestIDs, its guest TLB too
  // (kvm_vz_get_new_guestid); a root ASID leaves the untagged guest TLB alone.
  if (!dropped) return;
  root_tlb_.flush_all();
  if (p_.guestids) guest_tlb_.flush_all();
}

}  // namespace mmusim
