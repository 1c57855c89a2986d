// A guest INVLPG under shadow paging (kvm_mmu_invlpg -> the shadow MMU's invlpg hook). The
// instruction is intercepted; the vCPU drops its own TLB entry for the page (Vcpu::guest_invlpg)
// and the hypervisor, under mmu_lock, walks the current root's shadow entries for the address:
//  - at the last-level entry, if the shadow page holding it is unsync (the guest edits that
//    table without faulting, so the entry may lag behind the guest PTE), the entry is zapped
//    (a remote flush if it was present) and rebuilt from the guest PTE read again from guest
//    memory (update_pte: a prefetch that sets no accessed bit and, from 5.16, never unsyncs a
//    page: --prefetch-unsync). The page stays unsync: the other entries are left to the next
//    sync;
//  - the walk stops early at a level whose shadow page has no unsync children: nothing below
//    can be out of date (a sync page is write-protected, so its entries follow every guest
//    write through emulation).
#include "models/x86/shadow_mmu.hpp"

namespace mmusim {

void ShadowMmu::guest_invlpg(Agent& a, int vcpu_id, Addr gva) {
  stats_.invlpgs.inc();
  a.advance(p_.fault_entry);
  if (cr3_.at(size_t(vcpu_id)) == 0) return;
  mmu_lock_.lock(a);
  // The current root, then every cached previous root (an INVLPG also invalidates the
  // address in other PCIDs, so KVM runs the hook on each valid root).
  std::vector<size_t> roots{cur_root_.at(size_t(vcpu_id))};
  for (const CachedRoot& c : prev_roots_[size_t(vcpu_id)]) roots.push_back(c.sp);
  for (size_t root : roots)
    if (root != SIZE_MAX && !pages_[root].invalid) invlpg_root(a, vcpu_id, root, gva);
  mmu_lock_.unlock(a);
}

void ShadowMmu::invlpg_root(Agent& a, int vcpu_id, size_t root, Addr gva) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  size_t sp = root;
  for (PtIter it(fmt_, pages_[sp].spt, gva);; it.descend()) {
    const unsigned level = it.level(), idx = it.index();
    const uint64_t spte = a.load(it.entry_addr(), MemClass::PageTable);
    it.set_entry(spte);
    if (level == 1) {
      if (a.load(pages_[sp].meta + ShadowMeta::kUnsync) == 0) break;
      stats_.invlpg_resynced.inc();
      bool flush = false;
      if (fmt_.present(spte)) {
        zap_spte(a, sp, idx, spte);
        note_leaf_zap(spte);
        stats_.invlpg_zapped.inc();
        flush = true;
      }
      // kvm_flush_remote_tlbs_with_address(sp->gfn, 1): without EPT a full remote flush.
      if (flush) flush_.flush_all(a, vcpu_id);
      // update_pte: the guest PTE as the guest left it, read from guest memory now (the
      // guest table this shadow page shadows holds it at the same index).
      const uint64_t gpte = a.load(PtIter::entry_at(guest_page_hpa(a, pages_[sp].gfn), idx),
                                   MemClass::PageTable);
      // FNAME(prefetch_invalid_gpte): only a present PTE the guest has accessed is installed.
      if (fmt_.present(gpte) && fmt_.accessed(gpte)) {
        bool more = false;
        const HostPage hp = host_.resolve(a, fmt_.address(gpte, 1) >> kPageShift, false);
        set_leaf(a, sp, idx, gpte, hp, Access::Read, true, more);
        host_.release(a, hp);
        if (more) flush_.flush_all(a, vcpu_id);
      }
      break;
    }
    if (!links_child(spte, level)) break;  // nothing, or a 2 MiB leaf (never unsync)
    const size_t child = by_spt_.at(fmt_.address(spte, level));
    // The walk goes on below only while this page has unsync children.
    if (a.load(pages_[sp].meta + ShadowMeta::kUnsyncChildren) == 0) break;
    sp = child;
  }
}

}  // namespace mmusim
