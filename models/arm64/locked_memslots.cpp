#include "models/arm64/locked_memslots.hpp"

#include "sim/core/error.hpp"
#include "sim/sync/lockdep_assert.hpp"

namespace mmusim {

namespace {
constexpr uint64_t kFlushDcacheBit = 1u << 0;  // KVM_LOCKED_MEMSLOT_FLUSH_DCACHE
}  // namespace

LockedMemslots::LockedMemslots(const LockedMemslotsParams& p, ArchDeps& d, Stage2Mmu& mmu)
    : p_(p), mmu_(mmu), phys_(d.phys), touched_(d.touched),
      lockdep_(d.stats),
      kvm_lock_("hv.lock.kvm_lock", d.heap.alloc(), d.stats, &d.timeline),
      slots_lock_("hv.lock.slots_lock", d.heap.alloc(), d.stats, &d.timeline),
      vcpu_mutex_stats_(d.stats, "hv.lock.vcpu_mutex"),
      pending_word_(d.heap.alloc()),
      stats_(d.stats) {
  // One vcpu->mutex per vCPU, each in its own kvm_vcpu (own cache line).
  for (unsigned i = 0; i < p.vcpus; ++i)
    vcpu_mutex_.push_back(
        std::make_unique<SpinLock>(vcpu_mutex_stats_, d.heap.alloc(), &d.timeline));
  mmu_.set_run_hook([this](Agent& a, int id) { vcpu_run(a, id); });
}

int LockedMemslots::create(Agent& vmm, Addr gpa, uint64_t bytes) {
  if ((gpa | bytes) & (kPageSize - 1) || bytes == 0)
    throw ModelError("memslot must be a non-empty whole number of pages");
  slots_lock_.lock(vmm);
  lockdep_.acquired(vmm, "kvm->slots_lock");
  slots_.push_back(Slot{gpa, bytes, false, false});
  vmm.advance(p_.request_check);  // the memslot array update
  slots_lock_.unlock(vmm);
  return int(slots_.size()) - 1;
}

bool LockedMemslots::lock_all_vcpus(Agent& a) {
  lockdep_assert_held(a, kvm_lock_, __func__);
  // mutex_trylock on every vcpu->mutex: a vCPU inside KVM_RUN holds its own, so the caller
  // cannot wait for it (it may never come out) and gives up instead.
  for (size_t i = 0; i < vcpu_mutex_.size(); ++i) {
    if (!vcpu_mutex_[i]->try_lock(a)) {
      while (i-- > 0) vcpu_mutex_[i]->unlock(a);
      return false;
    }
    lockdep_.acquired(a, "vcpu->mutex");
  }
  return true;
}

void LockedMemslots::unlock_all_vcpus(Agent& a) {
  lockdep_assert_held(a, kvm_lock_, __func__);
  for (auto& m : vcpu_mutex_) m->unlock(a);
}

void LockedMemslots::set_pending(Agent& a) {
  // set_bit: a locked OR on the word, as a cmpxchg loop.
  uint64_t old = a.load(pending_word_);
  while (true) {
    const uint64_t seen = a.cmpxchg(pending_word_, old, old | kFlushDcacheBit);
    if (seen == old) break;
    old = seen;
  }
  stats_.pending_set.inc();
}

bool LockedMemslots::begin_slot_op(Agent& vmm) {
  kvm_lock_.lock(vmm);
  lockdep_.acquired(vmm, "kvm->lock");
  // No vCPU may run while the slot changes state. (The model checks and marks under the vCPU
  // mutexes, then releases them before the per-page work; the series keeps them for the whole
  // ioctl, which only adds slots_lock and mmu_lock to a depth that already hit the limit.)
  if (!lock_all_vcpus(vmm)) {
    stats_.busy.inc();
    kvm_lock_.unlock(vmm);
    return false;
  }
  unlock_all_vcpus(vmm);
  slots_lock_.lock(vmm);
  lockdep_.acquired(vmm, "kvm->slots_lock");
  return true;
}

bool LockedMemslots::lock(Agent& vmm, int slot, bool writable) {
  Slot& s = slots_.at(size_t(slot));
  if (!begin_slot_op(vmm)) return false;
  // eager: the map's dcache callback cleans+invalidates each page as it is mapped (a no-op
  // with FWB).
  const bool eager = p_.cmo_policy == CmoPolicy::Eager && !p_.fwb;
  const Perms prot{true, writable, false};
  for (Addr off = 0; off < s.bytes; off += kPageSize) {
    const Addr gpa = s.gpa + off;
    // pin_user_pages(FOLL_LONGTERM): faults the page in on the host if needed.
    const HostPage hp = mmu_.host().resolve(vmm, gpa >> kPageShift, writable);
    stats_.pinned.inc();
    mmu_.lock(vmm);
    mmu_.rcu().read_lock(vmm);
    while (mmu_.map(vmm, -1, gpa, 1, hp.hpa, prot, false, eager) == FaultOutcome::Retry) {
    }
    mmu_.rcu().read_unlock(vmm);
    mmu_.unlock(vmm);
    touched_.set(gpa >> kPageShift);  // mapped on purpose: the lost-update oracle expects it
  }
  s.locked = true;
  s.writable = writable;
  // Maintenance still owed before a vCPU runs (what the VMM writes from now on).
  if (p_.cmo_policy != CmoPolicy::None) set_pending(vmm);
  stats_.locks.inc();
  slots_lock_.unlock(vmm);
  kvm_lock_.unlock(vmm);
  return true;
}

bool LockedMemslots::unlock(Agent& vmm, int slot) {
  Slot& s = slots_.at(size_t(slot));
  if (!begin_slot_op(vmm)) return false;
  // unpin_user_pages: one page reference dropped per page; the stage-2 mappings stay.
  for (Addr off = 0; off < s.bytes; off += kPageSize) vmm.advance(p_.request_check);
  s.locked = false;
  stats_.unlocks.inc();
  slots_lock_.unlock(vmm);
  kvm_lock_.unlock(vmm);
  return true;
}

void LockedMemslots::start_vcpus(Agent& vmm) {
  vmm.sync();  // the vCPUs start at the VMM's true time
  started_ = true;
  vmm.kernel().notify(start_ev_);
}

void LockedMemslots::vcpu_run(Agent& a, int vcpu_id) {
  (void)vcpu_id;
  // The VMM issues KVM_RUN only once the guest is prepared; re-check after every wake-up.
  a.sync();
  while (!started_) a.wait_event(start_ev_, "the VMM to issue KVM_RUN");
  // kvm_arch_vcpu_ioctl_run: if (kvm_mmu_has_pending_ops(kvm)) kvm_mmu_perform_pending_ops().
  if (a.load(pending_word_) != 0) perform_pending_ops(a);
}

void LockedMemslots::perform_pending_ops(Agent& a) {
  slots_lock_.lock(a);
  lockdep_.acquired(a, "kvm->slots_lock");
  // Another vCPU may have done it while we waited for slots_lock.
  const uint64_t ops = a.load(pending_word_);
  if (ops & kFlushDcacheBit) {
    for (const Slot& s : slots_)
      if (s.locked) mmu_.flush_dcache_range(a, s.gpa, s.bytes);
    stats_.pending_done.inc();
  }
  a.store(pending_word_, 0);  // clear_bit of every op handled
  slots_lock_.unlock(a);
}

bool LockedMemslots::pending_ops() const { return phys_.read64(pending_word_) != 0; }

}  // namespace mmusim
