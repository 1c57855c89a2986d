// Functional views of the shadow tables for the oracle and tests, and the records the
// stale-translation oracle gets of removed translations: nothing here is timed or stands for
// KVM work. Under shadow paging a TLB entry's `gpa_base` holds the host frame (ShadowWalker
// reports it as the walk's `gpa`: there is no guest-physical stage), so a zapped or
// write-protected shadow leaf is noted (RemoteFlush::note_zap) by the host frame it mapped.
#include "models/x86/shadow_mmu.hpp"

namespace mmusim {

ShadowMmu::LeafView ShadowMmu::leaf_view(Addr cr3_gpa, Addr gva) const {
  LeafView v;
  auto root = by_gfn_.find({cr3_gpa >> kPageShift, 4});
  if (root == by_gfn_.end()) return v;
  size_t sp = root->second;
  PtIter it(fmt_, pages_[sp].spt, gva);
  for (; it.level() >= 2; it.descend()) {
    const uint64_t e = phys_.read64(it.entry_addr());
    it.set_entry(e);
    if (!it.present()) return v;
    if (it.leaf()) {  // a 2 MiB shadow leaf
      v.found = true;
      v.spte = e;
      v.level = it.level();
      return v;
    }
    sp = by_spt_.at(fmt_.address(e, it.level()));
  }
  v.found = true;
  v.spte = phys_.read64(it.entry_addr());
  v.unsync = phys_.read64(pages_[sp].meta + ShadowMeta::kUnsync) != 0;
  v.direct = pages_[sp].direct;
  return v;
}

// A zapped non-leaf entry removes every translation below it: each present leaf of the
// subtree (read functionally: this is the oracle's bookkeeping, not KVM work) is noted.
void ShadowMmu::note_subtree_zap(uint64_t spte, unsigned level) {
  if (!oracle_.enabled()) return;
  if (level == 1) return note_leaf_zap(spte);
  if (fmt_.is_leaf(spte, level)) return flush_.note_zap(fmt_.address(spte, level), fmt_.span(level));
  const Page& child = pages_[by_spt_.at(fmt_.address(spte, level))];
  for (PtIter it = PtIter::table(fmt_, child.spt, level - 1, 0); it.valid(); it.next()) {
    const uint64_t e = phys_.read64(it.entry_addr());
    if (fmt_.present(e)) note_subtree_zap(e, level - 1);
  }
}

}  // namespace mmusim
