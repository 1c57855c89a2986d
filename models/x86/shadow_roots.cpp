// Shadow roots per vCPU: the current root and a cache of KVM_MMU_NUM_PREV_ROOTS (3) previous
// ones, looked up by guest CR3 on a CR3 load (kvm_mmu_new_pgd -> fast_pgd_switch), so that a
// guest switching among a few processes keeps their shadow roots. Every root the vCPU holds
// (current or cached) carries a root reference (sp->root_count); the root pushed out of the
// cache drops its reference (kvm_mmu_free_roots for that one root). A root without references
// is an ordinary shadow page: reclaim may zap it, and then it is freed (shadow_reclaim.cpp). A
// zapped root that is still referenced is only marked invalid; the vCPUs reload and it is
// freed when the last reference goes.
#include "models/x86/shadow_mmu.hpp"

namespace mmusim {

void ShadowMmu::put_root(Agent& a, size_t sp, std::vector<size_t>& freed) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  Page& p = pages_[sp];
  a.store(p.meta + ShadowMeta::kRootCount, uint64_t(--p.root_count));
  if (p.root_count == 0 && p.invalid) freed.push_back(sp);
}

void ShadowMmu::switch_root(Agent& a, int vcpu_id, Addr new_cr3) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const size_t v = size_t(vcpu_id);
  std::vector<CachedRoot>& cache = prev_roots_[v];
  std::vector<size_t> freed;
  size_t found = SIZE_MAX;
  for (size_t i = 0; i < cache.size(); ++i) {
    a.advance(p_.l1_hit);  // vcpu->arch.mmu->prev_roots[i]
    const CachedRoot& c = cache[i];
    if (c.cr3 != new_cr3 || c.sp == SIZE_MAX) continue;
    if (a.load(pages_[c.sp].meta + ShadowMeta::kRole) >> 63) continue;  // obsolete root
    found = c.sp;
    cache.erase(cache.begin() + long(i));
    stats_.prev_root_hits.inc();
    break;
  }
  if (cur_root_[v] != SIZE_MAX) cache.insert(cache.begin(), CachedRoot{cr3_[v], cur_root_[v]});
  while (cache.size() > kPrevRoots) {
    put_root(a, cache.back().sp, freed);
    cache.pop_back();
  }
  cur_root_[v] = found;
  if (!freed.empty()) commit_zap(a, vcpu_id, freed, false);
}

void ShadowMmu::guest_cr3_load(Agent& a, int vcpu_id, Addr cr3_gpa) {
  // vcpu->arch.cr3 is the vCPU's own state; the cached root (if any) becomes current here,
  // and load_root builds a new one otherwise and syncs it before the guest runs.
  a.advance(p_.fault_entry);
  mmu_lock_.lock(a);
  switch_root(a, vcpu_id, cr3_gpa);
  mmu_lock_.unlock(a);
  cr3_.at(size_t(vcpu_id)) = cr3_gpa;
}

// kvm_mmu_load: the current root (cached, or found or built in the hash by
// mmu_alloc_shadow_roots, taking a root reference), synced (kvm_mmu_sync_roots) before the
// guest runs on it.
Addr ShadowMmu::load_root(Agent& a, int vcpu_id) {
  const size_t v = size_t(vcpu_id);
  if (cr3_.at(v) == 0) return 0;  // the guest has not loaded CR3 yet
  mmu_lock_.lock(a);
  bool flush = false;
  if (cur_root_[v] == SIZE_MAX) {
    make_pages_available(a, vcpu_id);
    const size_t root = root_for(a, vcpu_id, flush);
    Page& p = pages_[root];
    a.store(p.meta + ShadowMeta::kRootCount, uint64_t(++p.root_count));
    cur_root_[v] = root;
  }
  const size_t root = cur_root_[v];
  if (flush) flush_.flush_all(a, vcpu_id);
  sync_children(a, vcpu_id, root);
  mmu_lock_.unlock(a);
  return pages_[root].spt;
}

// kvm_mmu_unload (KVM_REQ_MMU_RELOAD): the current root and every cached one are put.
void ShadowMmu::unload_root(Agent& a, int vcpu_id) {
  const size_t v = size_t(vcpu_id);
  mmu_lock_.lock(a);
  std::vector<size_t> freed;
  if (cur_root_[v] != SIZE_MAX) put_root(a, cur_root_[v], freed);
  for (const CachedRoot& c : prev_roots_[v]) put_root(a, c.sp, freed);
  cur_root_[v] = SIZE_MAX;
  prev_roots_[v].clear();
  if (!freed.empty()) commit_zap(a, vcpu_id, freed, false);
  mmu_lock_.unlock(a);
}

void ShadowMmu::guest_tlb_flush(Agent& a, int vcpu_id) {
  const size_t root = cur_root_.at(size_t(vcpu_id));
  if (cr3_.at(size_t(vcpu_id)) == 0 || root == SIZE_MAX) return;
  mmu_lock_.lock(a);
  sync_children(a, vcpu_id, root);
  mmu_lock_.unlock(a);
}

}  // namespace mmusim
