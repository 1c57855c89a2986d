#include "sim/hv/mmu_notifier.hpp"

#include <algorithm>
#include <vector>

#include "sim/core/error.hpp"

namespace mmusim {

MmuNotifier::MmuNotifier(const MmuNotifierParams& p, NotifierCallbacks& mmu, const Memslots& slots,
                         RemoteFlush& flush, KernelHeap& heap, Stats& stats)
    : p_(p), mmu_(mmu), slots_(slots), flush_(flush), seq_word_(heap.alloc()),
      stats_(stats) {}

void MmuNotifier::invalidate_range_start(Agent& a, Addr hva_start, Addr hva_end) {
  stats_.starts.inc();
  mmu_.notifier_lock(a);
  // The count goes up before any entry is zapped, so a fault that resolved its page earlier
  // and takes the lock after this point retries.
  const uint64_t in_progress = a.load(count_word());
  a.store(count_word(), in_progress + 1);
  const std::vector<GfnRange> ranges = slots_.hva_to_gfn(hva_start, hva_end);
  if (p_.track_range) {
    // mmu_invalidate_range_add: the first invalidation sets the range, later ones widen it.
    uint64_t start = in_progress ? a.load(range_start_word()) : UINT64_MAX;
    uint64_t end = in_progress ? a.load(range_end_word()) : 0;
    for (const GfnRange& r : ranges) {
      start = std::min(start, r.start);
      end = std::max(end, r.end);
    }
    a.store(range_start_word(), start);
    a.store(range_end_word(), end);
  }
  bool flush = false;
  for (const GfnRange& r : ranges) flush |= mmu_.unmap_gfn_range(a, r);
  if (flush) {
    stats_.flushes.inc();
    mmu_.prepare_flush_remote(a);
    flush_.flush_all(a, -1);
  }
  mmu_.notifier_unlock(a);
}

void MmuNotifier::invalidate_range_end(Agent& a, Addr, Addr) {
  stats_.ends.inc();
  mmu_.notifier_lock(a);
  // Sequence first, then the count (KVM's smp_wmb between them): a fault that sees the count
  // drop must also see the new sequence.
  a.store(seq_word_, a.load(seq_word_) + 1);
  a.store(count_word(), a.load(count_word()) - 1);
  mmu_.notifier_unlock(a);
}

void MmuNotifier::change_pte(Agent& a, Addr hva, const HostPte& pte) {
  stats_.change_pte.inc();
  mmu_.notifier_lock(a);
  a.store(seq_word_, a.load(seq_word_) + 1);
  bool flush = false;
  for (const GfnRange& r : slots_.hva_to_gfn(hva, hva + kPageSize))
    flush |= mmu_.set_spte_gfn(a, r, pte);
  if (flush) {
    stats_.flushes.inc();
    mmu_.prepare_flush_remote(a);
    flush_.flush_all(a, -1);
  }
  mmu_.notifier_unlock(a);
}

bool MmuNotifier::clear_flush_young(Agent& a, Addr hva_start, Addr hva_end) {
  stats_.clear_flush_young.inc();
  mmu_.notifier_lock(a);
  bool young = false;
  for (const GfnRange& r : slots_.hva_to_gfn(hva_start, hva_end)) young |= mmu_.age_gfn_range(a, r);
  // The page is being reclaimed or tracked: TLBs must stop using the young translation.
  if (young) {
    stats_.flushes.inc();
    mmu_.prepare_flush_remote(a);
    flush_.flush_all(a, -1);
  }
  mmu_.notifier_unlock(a);
  return young;
}

bool MmuNotifier::clear_young(Agent& a, Addr hva_start, Addr hva_end) {
  stats_.clear_young.inc();
  mmu_.notifier_lock(a);
  bool young = false;
  // No flush, on purpose (as KVM's clear_young): a TLB may keep using the translation until it
  // is evicted, so an access may go unnoticed; idle page tracking accepts that inaccuracy.
  for (const GfnRange& r : slots_.hva_to_gfn(hva_start, hva_end)) young |= mmu_.age_gfn_range(a, r);
  mmu_.notifier_unlock(a);
  return young;
}

bool MmuNotifier::test_young(Agent& a, Addr hva) {
  stats_.test_young.inc();
  mmu_.notifier_lock(a);
  bool young = false;
  for (const GfnRange& r : slots_.hva_to_gfn(hva, hva + kPageSize)) young |= mmu_.test_age_gfn(a, r);
  mmu_.notifier_unlock(a);
  return young;
}

uint64_t MmuNotifier::read_seq(Agent& a) { return a.load(seq_word_); }

bool MmuNotifier::retry(Agent& a, uint64_t seq) {
  bool r = a.load(count_word()) != 0 || a.load(seq_word_) != seq;
  if (r) stats_.seq_retry.inc();
  return r;
}

bool MmuNotifier::retry_gfn(Agent& a, uint64_t seq, uint64_t gfn) {
  if (!p_.track_range) throw ModelError("retry_gfn: the notifier does not track ranges");
  bool r = false;
  if (a.load(count_word()) != 0) {
    r = gfn >= a.load(range_start_word()) && gfn < a.load(range_end_word());
    if (!r) stats_.out_of_range.inc();
  }
  r = r || a.load(seq_word_) != seq;
  if (r) stats_.seq_retry.inc();
  return r;
}

}  // namespace mmusim
