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
  for (unsigned level = 4; level >= 2; --level) {
    const uint64_t e = phys_.read64(pages_[sp].spt + fmt_.index(gva, level) * 8);
    if (!fmt_.present(e)) return v;
    if (fmt_.is_leaf(e, level)) {  // a 2 MiB shadow leaf
      v.found = true;
      v.spte = e;
      v.level = level;
      return v;
    }
    sp = by_spt_.at(fmt_.address(e, level));
  }
  v.found = true;
  v.spte = phys_.read64(pages_[sp].spt + fmt_.index(gva, 1) * 8);
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
  for (unsigned i = 0; i < 512; ++i) {
    const uint64_t e = phys_.read64(child.spt + i * 8);
    if (fmt_.present(e)) note_subtree_zap(e, level - 1);
  }
}

}  // namespace mmusim
