// The hypervisor's TLB tag spaces, host-wide (docs/ARCHITECTURE.md, Several VMs: TLB tags).
// TLBs belong to physical CPUs (sim/cpu/pcpu_tlbs.hpp) and every vCPU thread pinned to a pCPU
// fills that pCPU's TLBs, so what keeps one VM's (or vCPU's) translations from another's is the
// tag KVM gives it:
//   x86 (VMX): a VPID per vCPU from a 16-bit bitmap, VPID 0 being the host's (allocate_vpid);
//     once none is left, or with --vpid off (kvm_intel.enable_vpid=0), a vCPU runs with VPID
//     0, whose linear and combined mappings every VM entry and exit invalidate.
//   arm64: a VMID per VM (--vmid-bits), VMID 0 reserved, from the generation allocator of
//     arch/arm64/kvm/vmid.c: the VMIDs active on a pCPU survive a rollover, which starts a new
//     generation and invalidates every TLB (__kvm_flush_vm_context, TLBI ALLE1IS); and
//     kvm_arch_vcpu_load's last_vcpu_ran rule: another vCPU of the VM ran last on this pCPU,
//     so the VMID's local entries go (__kvm_flush_cpu_context).
//   MIPS: tags from a counter per pCPU (asid_cache(cpu) / guestid_cache(cpu): a version above
//     the tag's bits), shared by every vCPU of every VM on that pCPU. A context holds a tag per
//     pCPU (cpu_context / vzguestid). Entering with a tag of an older version, or with a flush
//     pending for this pCPU, takes the counter's next tag; the counter wrapping starts a new
//     version and flushes that pCPU's TLBs. Whose context it is depends on the mode
//     (MipsTagScheme): trap and emulate gives each vCPU its own guest mm (its flush request
//     marks every pCPU: kvm_trap_emul_check_requests); VZ without GuestIDs gives the VM one GPA
//     mm whose root ASID dealiases its root TLB entries, and the flusher marks every pCPU of it
//     (asid_flush_mask, kvm_vz_flush_shadow_all) -- and since the guest TLB is then untagged, a
//     pCPU switching to another vCPU thread drops it (kvm_vz_vcpu_load_tlb); VZ with GuestIDs
//     gives each vCPU a GuestID per pCPU that its flush request drops (kvm_vz_check_requests),
//     GuestID 0 being the root's, and tags both TLBs with it, so no switch flush.
// The allocator state is host-private bookkeeping manipulated at the caller's true time. The
// pre-5.18 arm64 allocation runs under kvm_vmid_lock, a simulated spinlock (its waits matter:
// vCPUs forced out by a rollover queue on it); the 5.18 slow path's cpu_vmid_lock and the MIPS
// counters (per-CPU, preemption off) are not simulated locks. Statistics (host.tlb_tag.*)
// appear when a tag space is shared: pCPUs are overcommitted, or --vpid off.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/hv/guest_cpu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// Whose context a MIPS tag belongs to (see above; app/params_hardware.cpp picks it).
enum class MipsTagScheme {
  VcpuAsids,   // trap and emulate: root ASIDs of each vCPU's guest mm
  VmRootAsid,  // VZ without GuestIDs: the root ASID of the VM's GPA mm (Root ASID Dealias)
  GuestIds,    // VZ with GuestIDs: a GuestID per vCPU
};

// What the tag spaces are built from (app/params_hardware.cpp fills it).
struct TlbTagParams {
  Arch arch = Arch::X86;
  unsigned pcpus = 1;
  unsigned vmid_bits = 16;  // arm64 VMID width (ID_AA64MMFR1_EL1.VMIDBits)
  bool vpid = true;         // x86 kvm_intel.enable_vpid
  VmidAllocator vmid_allocator = VmidAllocator::Generational;  // arm64 --vmid-allocator
  bool publish = false;     // host.tlb_tag.* statistics at the end of the run
  MipsTagScheme mips_scheme = MipsTagScheme::VmRootAsid;
  unsigned mips_asid_bits = 8;       // MIPS root ASID width (--mips-asid-bits)
  unsigned mips_guestid_bits = 0;    // MIPS GuestCtl1.ID width (--mips-guestid-bits; GuestIds)
  // Tests only: the arm64 rollover's invalidation of every TLB, or the MIPS wrap's of the
  // pCPU's TLB, is skipped (the oracle must then see a hit on another VM's entries).
  bool skip_rollover_flush = false;
};

class TlbTags {
 public:
  // `flush_every_tlb`: invalidates every entry of every pCPU's TLBs, returns how many. The
  // global VMID allocator's lock word comes from `heap`, its statistics go to `stats`.
  TlbTags(const TlbTagParams& p, std::function<size_t()> flush_every_tlb, KernelHeap& heap,
          Stats& stats);
  Arch arch() const { return p_.arch; }
  // The tag a new vCPU starts with: its VPID (x86), none until its first entry (arm64: 0),
  // its walker's first ASID (MIPS: 1).
  uint16_t tag_for_new_vcpu();

  // --- x86 ---
  // allocate_vpid at vCPU creation: the next free VPID, 0 when none is left or --vpid off.
  uint16_t allocate_vpid();
  // A VM entry or exit without a VPID invalidated `entries` TLB entries.
  void note_vpidless_flush(size_t entries) {
    ++vpidless_flushes_;
    vpidless_entries_ += entries;
  }

  // --- arm64 ---
  // kvm_arm_vmid_update (update_vmid up to 5.17) for `self`'s VM before the vCPU enters the
  // guest on `pcpu`: returns the VMID (the TLB tag) to run with. An allocation that runs out of
  // VMIDs starts a new generation: every TLB is invalidated, for `flush_local` cycles of the
  // caller. With --vmid-allocator global the allocation takes
  // kvm_vmid_lock (a spinlock in host kernel memory), and the rollover, under it, first makes
  // every other vCPU of every VM that runs in guest mode exit and waits until each has
  // (force_vm_exit: an IPI `ipi` cycles away, as a remote flush's kick): no vCPU re-enters
  // before the new generation's first VMID is set, since each needs the lock for its own.
  uint16_t vmid_update(Agent& a, const GuestCpu& self, unsigned pcpu, Cycles ipi,
                       Cycles flush_local);
  void add_vcpu(GuestCpu* v) { vcpus_.push_back(v); }
  // --vmid-allocator global: whether VM `vm`'s VMID is of an old generation. A vCPU checks it
  // again once in guest mode (a rollover while it prepared the entry sent it no IPI) and goes
  // round again, as kvm_arch_vcpu_ioctl_run did with need_new_vmid_gen.
  bool vmid_stale(unsigned vm) const;
  // kvm_arm_vmid_clear_active: the vCPU on `pcpu` is scheduled out.
  void vmid_clear_active(unsigned pcpu);
  // kvm_arch_vcpu_load: whether vCPU `vcpu` of VM `vm` must drop the VMID's local entries on
  // `pcpu` because another of the VM's vCPUs ran there last (the first load counts too).
  bool last_vcpu_ran_differs(unsigned vm, unsigned pcpu, int vcpu);
  void note_last_vcpu_ran_flush(size_t entries) {
    ++last_ran_flushes_;
    last_ran_entries_ += entries;
  }

  // --- MIPS ---
  // What the entry check (check_mmu_context, or get_new_mmu_context for a pending flush; with
  // GuestIDs kvm_vz_get_new_guestid) did.
  struct MipsAsid {
    uint16_t asid = 0;     // the tag to run with on this pCPU (ASID or GuestID)
    bool fresh = false;    // a new one was taken from the pCPU's counter
    bool first = false;    // ... the context's first on this pCPU
    bool wrapped = false;  // ... and the counter wrapped: the caller flushes the pCPU's TLB
    uint64_t epoch = 0;    // wraps of this pCPU's counter so far (each flushed its TLBs)
  };
  MipsTagScheme mips_scheme() const { return p_.mips_scheme; }
  // The tag of vCPU `vcpu` of VM `vm` entering on `pcpu`.
  MipsAsid mips_asid(unsigned vm, int vcpu, unsigned pcpu);
  // The flusher's side (kvm_vz_flush_shadow_all without GuestIDs): the VM's GPA mm needs a new
  // root ASID on every pCPU, set before the vCPUs are asked to flush. Other schemes: nothing.
  void mips_flush_vm(unsigned vm);
  // A vCPU handles its flush request: its own context needs a new tag on every pCPU (trap and
  // emulate; GuestIDs). Without GuestIDs nothing: the flusher marked the VM's context.
  void mips_flush_request(unsigned vm, int vcpu);
  // A wrap flushed `entries` of `pcpu`'s TLB (0 with skip_rollover_flush).
  void note_wrap_flush(size_t entries) { rollover_entries_ += entries; }
  bool skip_wrap_flush() const { return p_.skip_rollover_flush; }
  // Whether `pcpu` last ran a different vCPU thread than `thread` (which now runs there) and
  // that drops its guest TLB (VZ without GuestIDs).
  bool pcpu_switched(unsigned pcpu, unsigned thread);
  void note_switch_flush(size_t entries) {
    ++switch_flushes_;
    switch_entries_ += entries;
  }

  // Writes host.tlb_tag.* when TlbTagParams::publish.
  void publish(Stats& stats) const;

 private:
  // update_vmid up to 5.17
  uint16_t global_vmid_update(Agent& a, const GuestCpu& self, Cycles ipi, Cycles flush_local);
  void force_vm_exit(Agent& caller, const GuestCpu& self, Cycles ipi);
  uint64_t new_vmid(uint64_t old);  // vmid.c new_vmid: an id (generation | VMID)
  void flush_context();             // vmid.c flush_context: the rollover
  unsigned mips_bits() const {
    return p_.mips_scheme == MipsTagScheme::GuestIds ? p_.mips_guestid_bits : p_.mips_asid_bits;
  }
  const TlbTagParams p_;
  std::function<size_t()> flush_every_tlb_;
  // x86
  uint32_t next_vpid_ = 1;
  // arm64: ids are generation << vmid_bits | VMID, as in vmid.c.
  uint64_t generation_;
  std::vector<bool> map_;             // VMIDs taken in this generation
  uint32_t cur_idx_ = 1;
  std::vector<uint64_t> active_, reserved_;  // per pCPU
  std::map<unsigned, uint64_t> vm_id_;       // per VM: its id (0: none yet)
  std::map<std::pair<unsigned, unsigned>, int> last_ran_;  // (VM, pCPU) -> vCPU id
  // arm64 --vmid-allocator global: kvm_vmid_gen, kvm_next_vmid, per VM (generation, VMID).
  uint64_t global_gen_ = 1;
  uint32_t next_vmid_ = 1;
  std::map<unsigned, std::pair<uint64_t, uint16_t>> global_vm_;
  std::unique_ptr<SpinLock> vmid_lock_;  // kvm_vmid_lock (global allocator only)
  std::vector<GuestCpu*> vcpus_;  // every VM's
  // MIPS: ids are version << bits | tag, as in arch/mips/mm/context.c and KVM's GuestIDs.
  struct MipsCounter {
    uint64_t cache = 0;  // asid_cache(cpu) / guestid_cache(cpu)
    uint64_t taken = 0, wraps = 0;
  };
  std::vector<int> last_thread_;        // per pCPU
  std::vector<MipsCounter> mips_counter_;  // per pCPU: root ASIDs, or GuestIDs
  struct MipsContext {
    std::vector<uint64_t> id;        // cpu_context / vzguestid, per pCPU (0: none yet)
    std::vector<bool> flush_mask;    // asid_flush_mask (or dropped GuestIDs), per pCPU
  };
  MipsContext& mips_context(unsigned vm, int vcpu);
  std::map<std::pair<unsigned, int>, MipsContext> mips_ctx_;  // (VM, vCPU or -1 for the VM)
  // Counters (published at the end).
  uint64_t allocations_ = 0, rollovers_ = 0, rollover_entries_ = 0;
  uint64_t last_ran_flushes_ = 0, last_ran_entries_ = 0;
  uint64_t vpidless_flushes_ = 0, vpidless_entries_ = 0;
  uint64_t switch_flushes_ = 0, switch_entries_ = 0;
  uint64_t forced_exits_ = 0;
};

// host.tlb_tag.*, one group per arch: only the counters that apply to it are declared.
struct X86TagStats : StatsGroup {
  explicit X86TagStats(Stats& s) : StatsGroup(s, "host.tlb_tag") {}
  statistics::Value allocations{*this, "allocations", "VPIDs handed out (allocate_vpid)"};
  statistics::Value vpidless_flushes{
      *this, "vpidless_flushes",
      "VM entries and exits of vCPUs without a VPID (each invalidates VPID 0's mappings)"};
  statistics::Value vpidless_flushed{*this, "vpidless_flushed",
                                     "TLB entries those entries and exits invalidated"};
};
struct Arm64TagStats : StatsGroup {
  explicit Arm64TagStats(Stats& s) : StatsGroup(s, "host.tlb_tag") {}
  statistics::Value allocations{*this, "allocations",
                                "VMIDs handed out (new_vmid; a VM keeping its VMID across a "
                                "rollover counts again)"};
  statistics::Value rollovers{*this, "rollovers",
                              "VMID generation rollovers (every TLB invalidated)"};
  statistics::Value rollover_flushed{*this, "rollover_flushed",
                                     "TLB entries the VMID rollovers invalidated"};
  statistics::Value last_vcpu_ran_flushes{
      *this, "last_vcpu_ran_flushes",
      "vCPU loads that dropped the VMID's local entries (another vCPU of the VM, or none, ran "
      "there last)"};
  statistics::Value last_vcpu_ran_flushed{*this, "last_vcpu_ran_flushed",
                                          "TLB entries those loads invalidated"};
  statistics::Value forced_exits{*this, "forced_exits",
                                 "vCPUs a rollover made exit the guest (--vmid-allocator global)"};
};
struct MipsTagStats : StatsGroup {
  explicit MipsTagStats(Stats& s) : StatsGroup(s, "host.tlb_tag") {}
  statistics::Value switch_flushes{
      *this, "switch_flushes",
      "pCPU switches to another vCPU thread (VZ without GuestIDs: the guest TLB invalidated)"};
  statistics::Value switch_flushed{*this, "switch_flushed",
                                   "TLB entries those switches invalidated"};
  statistics::Value wrap_flushed{*this, "asid_wrap_flushed",
                                 "TLB entries the ASID (or GuestID) wraps invalidated (every "
                                 "pCPU)"};
};
// host.tlb_tag.pcpu.<i>.*: one pCPU's root ASID counter (asid_cache)...
struct MipsPcpuAsidStats : StatsGroup {
  MipsPcpuAsidStats(Stats& s, unsigned pcpu)
      : StatsGroup(s, "host.tlb_tag.pcpu." + std::to_string(pcpu)) {}
  statistics::Value asids{*this, "asids",
                          "ASIDs this pCPU's counter handed out (get_new_mmu_context)"};
  statistics::Value wraps{*this, "asid_wraps",
                          "wraps of this pCPU's ASID counter (a new version; its TLB flushed)"};
};
// ... or, with GuestIDs, its GuestID counter (guestid_cache).
struct MipsPcpuGuestIdStats : StatsGroup {
  MipsPcpuGuestIdStats(Stats& s, unsigned pcpu)
      : StatsGroup(s, "host.tlb_tag.pcpu." + std::to_string(pcpu)) {}
  statistics::Value guestids{*this, "guestids",
                             "GuestIDs this pCPU's counter handed out (kvm_vz_get_new_guestid)"};
  statistics::Value wraps{*this, "guestid_wraps",
                          "wraps of this pCPU's GuestID counter (a new version; the root TLB's "
                          "guest entries and the guest TLB flushed)"};
};

}  // namespace mmusim
