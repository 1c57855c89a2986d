#include "sim/hv/tlb_tags.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "sim/core/error.hpp"
#include "sim/sync/lockdep_assert.hpp"

namespace mmusim {

namespace {
constexpr uint32_t kVpids = 1u << 16;  // VMX_NR_VPIDS
}  // namespace

TlbTags::TlbTags(const TlbTagParams& p, std::function<size_t()> flush_every_tlb,
                 KernelHeap& heap, Stats& stats)
    : p_(p), flush_every_tlb_(std::move(flush_every_tlb)),
      generation_(uint64_t(1) << p.vmid_bits),  // VMID_FIRST_VERSION
      map_(size_t(1) << p.vmid_bits, false),
      active_(p.pcpus, 0), reserved_(p.pcpus, 0), last_thread_(p.pcpus, -1),
      mips_counter_(p.pcpus) {
  // ASID_FIRST_VERSION / GUESTID_FIRST_VERSION: version 1, tag 0 (the root's).
  for (MipsCounter& c : mips_counter_) c.cache = uint64_t(1) << mips_bits();
  // kvm_arm_vmid_alloc_init warns unless there are more VMIDs than CPUs: a rollover keeps one
  // VMID per CPU and must still find a free one.
  if (p.arch == Arch::Arm64 && p.vmid_allocator == VmidAllocator::Generational &&
      (uint64_t(1) << p.vmid_bits) - 1 <= p.pcpus)
    throw UsageError("--vmid-bits: " + std::to_string(p.vmid_bits) + "-bit VMIDs are too few for " +
                     std::to_string(p.pcpus) + " physical CPUs (VMID 0 is reserved)");
  if (p.arch == Arch::Arm64 && p.vmid_allocator == VmidAllocator::Global)
    vmid_lock_ = std::make_unique<SpinLock>("host.kvm_vmid_lock", heap.alloc(), stats);
}

uint16_t TlbTags::tag_for_new_vcpu() {
  switch (p_.arch) {
    case Arch::X86:
      return allocate_vpid();
    case Arch::Arm64:
      return 0;
    case Arch::Mips:
      break;
  }
  return 1;
}

uint16_t TlbTags::allocate_vpid() {
  if (!p_.vpid || next_vpid_ >= kVpids) return 0;  // runs without VPID
  ++allocations_;
  return uint16_t(next_vpid_++);
}

// ---- arm64: arch/arm64/kvm/vmid.c ----

uint16_t TlbTags::vmid_update(Agent& a, const GuestCpu& self, unsigned pcpu, Cycles ipi,
                              Cycles flush_local) {
  if (p_.vmid_allocator == VmidAllocator::Global)
    return global_vmid_update(a, self, ipi, flush_local);
  const unsigned bits = p_.vmid_bits;
  uint64_t& id = vm_id_[self.vm_index()];
  // Fast path: the VMID is of the current generation and no rollover cleared this pCPU's
  // active slot meanwhile.
  if (active_[pcpu] != 0 && (id >> bits) == (generation_ >> bits)) {
    active_[pcpu] = id;
    return uint16_t(id & ((uint64_t(1) << bits) - 1));
  }
  if ((id >> bits) != (generation_ >> bits)) {
    const uint64_t before = rollovers_;
    id = new_vmid(id);
    if (rollovers_ != before) a.advance(flush_local);  // the caller's __kvm_flush_vm_context
  }
  active_[pcpu] = id;
  return uint16_t(id & ((uint64_t(1) << bits) - 1));
}

uint16_t TlbTags::global_vmid_update(Agent& a, const GuestCpu& self, Cycles ipi,
                                     Cycles flush_local) {
  auto& [gen, vmid] = global_vm_[self.vm_index()];  // generation 0: none yet
  if (gen == global_gen_) return vmid;              // need_new_vmid_gen: no
  vmid_lock_->lock(a);
  // Checked again under the lock: another vCPU of the VM may have allocated meanwhile.
  if (gen == global_gen_) {
    vmid_lock_->unlock(a);
    return vmid;
  }
  ++allocations_;
  if (next_vmid_ == 0) {
    // First user of a new generation: every VM's VMID is of the old one now. Every vCPU in
    // guest mode is made to exit, then every TLB is invalidated.
    ++global_gen_;
    next_vmid_ = 1;
    ++rollovers_;
    force_vm_exit(a, self, ipi);
    a.advance(flush_local);
  }
  vmid = uint16_t(next_vmid_);
  next_vmid_ = (next_vmid_ + 1) & ((uint32_t(1) << p_.vmid_bits) - 1);
  gen = global_gen_;
  vmid_lock_->unlock(a);
  return vmid;
}

void TlbTags::force_vm_exit(Agent& caller, const GuestCpu& self, Cycles ipi) {
  lockdep_assert_held(caller, *vmid_lock_, __func__);
  auto ack = std::make_shared<FlushAck>();
  for (GuestCpu* v : vcpus_) {
    if (v == &self) continue;
    // smp_call_function_many(cpu_all_mask, ..., wait): every CPU still running guest code is
    // waited for, a vCPU another flusher kicked (EXITING, its IPI not yet taken) included.
    if (caller.cmpxchg(v->mode_word(), kInGuestMode, kExitingGuestMode) == kOutsideGuestMode)
      continue;
    ++ack->pending;
    ++forced_exits_;
    caller.catch_up();  // send_ipi times the IPI from the kernel's clock
    v->send_ipi(ipi, ack);
  }
  caller.sync();
  while (ack->pending > 0) caller.wait_event(ack->done, "vCPUs leaving the guest (VMID rollover)");
  // Only now, with no vCPU left in the guest under an old VMID, __kvm_flush_vm_context.
  if (!p_.skip_rollover_flush) rollover_entries_ += flush_every_tlb_();
}

bool TlbTags::vmid_stale(unsigned vm) const {
  if (p_.arch != Arch::Arm64 || p_.vmid_allocator != VmidAllocator::Global) return false;
  auto it = global_vm_.find(vm);
  return it == global_vm_.end() || it->second.first != global_gen_;
}

void TlbTags::vmid_clear_active(unsigned pcpu) {
  // VMID_ACTIVE_INVALID: not 0 (which a rollover writes), and never a real id.
  active_[pcpu] = uint64_t(1) << p_.vmid_bits;
}

uint64_t TlbTags::new_vmid(uint64_t old) {
  const unsigned bits = p_.vmid_bits;
  const uint64_t mask = (uint64_t(1) << bits) - 1;
  ++allocations_;
  if (old != 0) {
    // Keep the VMID number in the new generation when a pCPU reserved it at the rollover, or
    // when nobody took it since.
    const uint64_t renewed = generation_ | (old & mask);
    bool reserved = false;
    for (uint64_t& r : reserved_)
      if (r == old) {
        r = renewed;
        reserved = true;
      }
    if (reserved) return renewed;
    if (!map_[old & mask]) {
      map_[old & mask] = true;
      return renewed;
    }
  }
  uint32_t idx = cur_idx_;
  while (idx < map_.size() && map_[idx]) ++idx;
  if (idx == map_.size()) {
    // Out of VMIDs: a new generation.
    generation_ += uint64_t(1) << bits;
    flush_context();
    idx = 1;
    while (idx < map_.size() && map_[idx]) ++idx;
    if (idx == map_.size()) throw ModelError("VMID allocator: no VMID free after a rollover");
  }
  map_[idx] = true;
  cur_idx_ = idx;
  return generation_ | idx;
}

void TlbTags::flush_context() {
  ++rollovers_;
  std::fill(map_.begin(), map_.end(), false);
  for (unsigned c = 0; c < active_.size(); ++c) {
    uint64_t id = active_[c];
    active_[c] = 0;
    if (id == 0) id = reserved_[c];  // no vCPU ran here since the last rollover
    map_[id & ((uint64_t(1) << p_.vmid_bits) - 1)] = true;
    reserved_[c] = id;
  }
  map_[0] = true;  // VMID 0 stays reserved (VMID_ACTIVE_INVALID's index is 0 too)
  // __kvm_flush_vm_context: TLBI ALLE1IS, every VMID's entries on every core.
  if (!p_.skip_rollover_flush) rollover_entries_ += flush_every_tlb_();
}

bool TlbTags::last_vcpu_ran_differs(unsigned vm, unsigned pcpu, int vcpu) {
  auto [it, first] = last_ran_.try_emplace({vm, pcpu}, -1);
  (void)first;
  if (it->second == vcpu) return false;
  it->second = vcpu;
  return true;
}

// ---- MIPS ----

TlbTags::MipsContext& TlbTags::mips_context(unsigned vm, int vcpu) {
  // One GPA mm per VM without GuestIDs; otherwise the vCPU's own.
  MipsContext& c = mips_ctx_[{vm, p_.mips_scheme == MipsTagScheme::VmRootAsid ? -1 : vcpu}];
  if (c.id.empty()) {
    c.id.assign(p_.pcpus, 0);
    c.flush_mask.assign(p_.pcpus, false);
  }
  return c;
}

TlbTags::MipsAsid TlbTags::mips_asid(unsigned vm, int vcpu, unsigned pcpu) {
  MipsContext& c = mips_context(vm, vcpu);
  MipsCounter& counter = mips_counter_[pcpu];
  const uint64_t mask = (uint64_t(1) << mips_bits()) - 1;
  uint64_t& id = c.id[pcpu];
  MipsAsid r;
  // A flush pending for this CPU (test and clear), or a tag of an older version than the
  // CPU's counter (check_mmu_context; the GuestID version check of kvm_vz_vcpu_load_tlb).
  const bool flushed = c.flush_mask[pcpu];
  c.flush_mask[pcpu] = false;
  if (flushed || ((id ^ counter.cache) & ~mask) != 0) {
    // get_new_mmu_context / kvm_vz_get_new_guestid: the counter's next tag; low bits all zero
    // means it wrapped, a new version begins and the caller flushes this CPU's TLBs
    // (local_flush_tlb_all; for GuestIDs the root TLB's guest entries and the guest TLB).
    r.first = id == 0;
    uint64_t next = counter.cache + 1;
    r.wrapped = (next & mask) == 0;
    if (r.wrapped) {
      if (p_.mips_scheme == MipsTagScheme::GuestIds) ++next;  // GuestID 0 is the root's
      ++counter.wraps;
    }
    ++counter.taken;
    id = counter.cache = next;
    r.fresh = true;
  }
  r.asid = uint16_t(id & mask);
  r.epoch = counter.wraps;
  return r;
}

void TlbTags::mips_flush_vm(unsigned vm) {
  if (p_.mips_scheme != MipsTagScheme::VmRootAsid) return;
  mips_context(vm, -1).flush_mask.assign(p_.pcpus, true);  // cpumask_setall(asid_flush_mask)
}

void TlbTags::mips_flush_request(unsigned vm, int vcpu) {
  if (p_.mips_scheme == MipsTagScheme::VmRootAsid) return;
  mips_context(vm, vcpu).flush_mask.assign(p_.pcpus, true);
}

bool TlbTags::pcpu_switched(unsigned pcpu, unsigned thread) {
  const bool switched = last_thread_[pcpu] != int(thread);
  last_thread_[pcpu] = int(thread);
  return switched && p_.mips_scheme == MipsTagScheme::VmRootAsid;
}

void TlbTags::publish(Stats& stats) const {
  if (!p_.publish) return;
  switch (p_.arch) {
    case Arch::X86: {
      X86TagStats s(stats);
      s.allocations.set(allocations_);
      s.vpidless_flushes.set(vpidless_flushes_);
      s.vpidless_flushed.set(vpidless_entries_);
      break;
    }
    case Arch::Arm64: {
      Arm64TagStats s(stats);
      s.allocations.set(allocations_);
      s.rollovers.set(rollovers_);
      s.rollover_flushed.set(rollover_entries_);
      s.last_vcpu_ran_flushes.set(last_ran_flushes_);
      s.last_vcpu_ran_flushed.set(last_ran_entries_);
      s.forced_exits.set(forced_exits_);
      break;
    }
    case Arch::Mips: {
      MipsTagStats s(stats);
      s.switch_flushes.set(switch_flushes_);
      s.switch_flushed.set(switch_entries_);
      s.wrap_flushed.set(rollover_entries_);
      for (unsigned i = 0; i < p_.pcpus; ++i) {
        if (p_.mips_scheme == MipsTagScheme::GuestIds) {
          MipsPcpuGuestIdStats c(stats, i);
          c.guestids.set(mips_counter_[i].taken);
          c.wraps.set(mips_counter_[i].wraps);
        } else {
          MipsPcpuAsidStats c(stats, i);
          c.asids.set(mips_counter_[i].taken);
          c.wraps.set(mips_counter_[i].wraps);
        }
      }
      break;
    }
  }
}

}  // namespace mmusim
