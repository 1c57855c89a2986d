// Eager splitting of stage-2 blocks for dirty logging (6.5 on, when the VMM sets
// KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE; docs/ARCHITECTURE.md, Dirty logging): enabling logging
// without initially-set splits the slot's blocks after write-protecting them; with initially-set
// each clear splits the blocks over the span it protects. kvm_mmu_split_huge_pages walks the
// range chunk by chunk under mmu_lock for write; before a chunk, if the split cache holds fewer
// pages than one chunk may need (kvm_mmu_split_nr_page_tables), or the host wants the CPU or a
// thread waits for mmu_lock, it drops the lock, reschedules and tops the cache up with
// zeroed pages. Each block becomes a table built where no walker can see it (plain stores, no
// TLBI, no CMO: the frames stay mapped and their data was cleaned when first mapped, whatever
// FWB), then the block goes through break-before-make -- locked, one TLBI by IPA with its
// level, the table linked -- and the walk steps into the new table. Unlike x86's in-place split,
// the block's translation must leave every TLB first: one broadcast TLBI per block.
#include <algorithm>

#include "models/arm64/stage2_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr uint64_t k2M = uint64_t(2) << 20, k1G = uint64_t(1) << 30;

// kvm_mmu_split_nr_page_tables: the table pages one chunk may need, with the 4 KiB granule
// (1 GiB blocks exist): one per 1 GiB and one per 2 MiB the chunk covers.
size_t split_cache_capacity(uint64_t chunk) {
  return size_t((chunk + k1G - 1) / k1G + (chunk + k2M - 1) / k2M);
}

}  // namespace

size_t Stage2Mmu::split_huge_pages(Agent& a, Addr gpa, uint64_t len) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  lockdep_assert_rcu(a, __func__);
  const uint64_t chunk = p_.eager_split_chunk;
  if (!chunk || !len) return 0;
  EagerSplitStats& st = *split_stats_;
  const size_t capacity = split_cache_capacity(chunk);
  size_t split = 0;
  for (Addr addr = gpa, end = gpa + len; addr != end;) {
    // need_split_memcache_topup_or_resched; topping up is best effort in KVM, and the model's
    // allocations do not fail.
    if (split_cache_.size() < capacity || a.need_resched() ||
        (p_.yield_on_contention && mmu_lock_.contended(a))) {
      st.lock_drops.inc();
      rcu_.read_unlock(a);
      mmu_lock_.write_unlock(a);
      a.wait_cycles(p_.cond_resched);
      topup_split_cache(a, capacity);
      mmu_lock_.write_lock(a);
      rcu_.read_lock(a);
    }
    // __stage2_range_addr_end: chunks are aligned to their size.
    const Addr next = std::min<Addr>(end, (addr & ~(chunk - 1)) + chunk);
    st.chunks.inc();
    if (!split_chunk(a, addr, next - addr, split)) break;
    addr = next;
  }
  return split;
}

bool Stage2Mmu::split_chunk(Agent& a, Addr gpa, uint64_t len, size_t& split) {
  // kvm_pgtable_stage2_split: a pre-order walk reading every entry of the range (4 KiB pages
  // already there included); a split block's new table is stepped into, so a 1 GiB block split
  // into 2 MiB blocks has those split in turn.
  for (PtIter it = PtIter::range(fmt_, root_, gpa, gpa + len); it.valid(); it.next()) {
    it.set_entry(read_pte(a, it.entry_addr()));
    if (!it.leaf() || it.level() == 1) continue;
    const SplitStep step = split_block(a, it);
    if (step == SplitStep::NoMemory) return false;
    if (step == SplitStep::Split) ++split;
  }
  return true;
}

Stage2Mmu::SplitStep Stage2Mmu::split_block(Agent& a, PtIter& it) {
  EagerSplitStats& st = *split_stats_;
  // stage2_block_get_nr_page_tables: a fully populated tree needs one page below a 2 MiB
  // block, 1 + 512 below a 1 GiB one; with fewer pages in the cache only the next level's
  // table is built (force_pte off) and its blocks are split as the walk steps into it.
  size_t pages = it.level() == 2 ? 1 : 1 + fmt_.entries_at(it.level() - 1);
  const bool force_pte = split_cache_.size() >= pages;
  if (!force_pte) pages = 1;
  if (split_cache_.size() < pages) return SplitStep::NoMemory;
  const Addr child = build_unlinked(a, it.entry(), it.level(), force_pte);
  // Break-before-make (stage2_try_break_pte): the block's entry locked, its translation gone
  // from every TLB (one TLBI by IPA with its level), then the table linked. A lost cmpxchg (a
  // walker setting the access flag, in shared mode) is -EAGAIN: the walk leaves the block.
  if (!break_pte(a, -1, it)) {
    free_unlinked(child, it.level() - 1);
    return SplitStep::Skipped;
  }
  st.tlbi.inc();
  if (!set_pte(a, it, fmt_.make_table(child)))
    throw ModelError("arm64 eager split: the locked block entry changed under mmu_lock");
  st.blocks.inc();
  // Every page of the block stays mapped, now by a 4 KiB entry: the lost-update oracle
  // expects each in the final tables, as it expected the block.
  for (Addr g = it.base() >> kPageShift, e = g + (it.span() >> kPageShift); g < e; ++g)
    touched_.set(g);
  return SplitStep::Split;
}

Addr Stage2Mmu::build_unlinked(Agent& a, uint64_t block, unsigned level, bool force_pte) {
  EagerSplitStats& st = *split_stats_;
  a.advance(p_.page_alloc);  // kvm_mmu_memory_cache_alloc from the split cache
  const Addr table = split_cache_.back();
  split_cache_.pop_back();
  stats_.tables_alloc.inc();
  st.tables.inc();
  // The walk that fills it (SKIP_BBM_TLBI | SKIP_CMO) stores each entry: the block's frames
  // in order, its permissions and software bits, the access flag set.
  const unsigned child = level - 1;
  const Addr frame = fmt_.address(block, level);
  const Perms prot = fmt_.perms(block);
  const bool dirty = fmt_.dirty(block);
  for (unsigned i = 0; i < fmt_.entries_at(child); ++i) {
    uint64_t e = fmt_.make_leaf(frame + Addr(i) * fmt_.span(child), child, prot, true, dirty);
    if (force_pte && child > 1) e = fmt_.make_table(build_unlinked(a, e, child, true));
    a.store(table + Addr(i) * 8, e, MemClass::PageTable);
  }
  return table;
}

void Stage2Mmu::free_unlinked(Addr table, unsigned level) {
  // kvm_pgtable_stage2_free_unlinked: never visible to anyone, freed at once.
  for (PtIter it = PtIter::table(fmt_, table, level, 0); it.valid(); it.next()) {
    const uint64_t e = phys_.read64(it.entry_addr());
    if (fmt_.present(e) && !fmt_.is_leaf(e, level)) free_unlinked(fmt_.address(e, level), level - 1);
  }
  pool_.free(table);
  stats_.tables_unused.inc();
}

void Stage2Mmu::topup_split_cache(Agent& a, size_t capacity) {
  // __kvm_mmu_topup_memory_cache(cache, capacity, capacity): sleeping allocations of zeroed
  // pages (__GFP_ZERO: each page cleared by clear_page, through the caches) up to the
  // capacity.
  while (split_cache_.size() < capacity) {
    const Addr page = pool_.alloc();
    a.zero_lines(page, kPageSize);
    split_cache_.push_back(page);
    split_stats_->cache_pages.inc();
  }
}

void Stage2Mmu::free_split_cache() {
  for (Addr page : split_cache_) pool_.free(page);
  if (split_stats_) split_stats_->cache_freed.inc(split_cache_.size());
  split_cache_.clear();
}

}  // namespace mmusim
