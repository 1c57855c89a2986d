// One virtual CPU: a SystemC thread that runs a guest op stream through the L1/L2 TLBs of the
// physical CPU it is pinned to (sim/cpu/pcpu_tlbs.hpp, entries told apart by tag) and its
// hardware page walker, and exits to the hypervisor on a second-stage fault (the same thread
// then runs the modelled KVM fault handler, as KVM does in the vCPU's host thread).
//
// Timing: a TLB hit is private work and only advances the vCPU's local time (temporal
// decoupling); the vCPU synchronises with the kernel at the quantum, before a page walk (which
// reads tables others write), and before anything others observe (exit, fault, requests).
// An IPI is taken at the first op boundary at or after its arrival time.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/touched_pages.hpp"
#include "sim/core/violations.hpp"
#include "sim/cpu/guest_os.hpp"
#include "sim/cpu/op.hpp"
#include "sim/cpu/pcpu_tlbs.hpp"
#include "sim/cpu/vcpu_stats.hpp"
#include "sim/cpu/vmm_rendezvous.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "sim/hv/mmu_stats.hpp"
#include "sim/hv/guest_cpu.hpp"
#include "sim/hv/host_scheduler.hpp"
#include "sim/sync/resched_source.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kvm_run_hook.hpp"
#include "sim/hv/pml_logging.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/hv/shadow_paging.hpp"
#include "sim/hv/tlb_tags.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/tlb.hpp"
#include "sim/mmu/walker.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// Guest-side facts the vCPU needs to run: where its page tables are and what it touched.
struct GuestContext {
  Addr guest_root_gpa = 0;  // CR3
  uint16_t tlb_tag = 1;     // VPID (x86), VMID (arm64: set at each entry), ASID/GuestID (MIPS)
  uint16_t vm = 0;          // the VM's index: whose TLB entries these are (the oracle)
  // Guest frames whose translation the vCPU completed (the lost-update oracle's expectation).
  // Shared by all vCPUs; may be null.
  TouchedPages* touched = nullptr;
  // Handles guest page faults (first-touch guest kernel); null: a guest fault is an error.
  GuestOs* os = nullptr;
  // Where Op::Kind::Sync waits for the VMM; null: a Sync op is an error.
  VmmRendezvous* rendezvous = nullptr;
};

// What a vCPU is built from (app/params_hardware.cpp fills it): the latencies of what it does
// itself (its TLBs are its pCPU's: PcpuTlbGeometry).
struct VcpuParams {
  Cycles tlb_l1 = 1;               // L1 TLB lookup
  Cycles tlb_l2 = 7;               // STLB lookup after an L1 miss
  Cycles vmexit = 970;             // guest -> host transition
  Cycles vmentry = 806;            // host -> guest transition
  Cycles ipi = 3120;               // guest IPI send to delivery at the target
  Cycles tlb_flush_local = 150;    // local flush of this vCPU's TLBs
  Cycles request_check = 52;       // scanning pending vCPU requests on guest entry
  Cycles compute_per_access = 0;   // guest work between two accesses of the workload
  Cycles guest_ipi_handler = 1040; // guest flush-IPI entry, handler dispatch and csd release
  Cycles invlpg = 260;             // one per-address TLB invalidation
  Cycles timeslice = 2600000;      // host scheduler tick (overcommit only)
  // Overcommit only (sim/cpu/vcpu_pause_loop.cpp): pause-loop window in cycles (0: no PLE),
  // directed yield on a PLE exit, and the guest's PV sched yield after a shootdown IPI.
  Cycles ple_window = 4096;
  DirectedYield directed_yield = DirectedYield::On;
  PvSchedYield pv_sched_yield = PvSchedYield::On;
  // arm64 FEAT_S2FWB (--arm64-fwb): stage 2 forces Normal write-back whatever stage 1 says, so
  // a guest access with its MMU off is cacheable too.
  bool s2_forced_writeback = false;
};

// The platform pieces every vCPU is wired to.
struct VcpuEnv {
  SimKernel& kernel;
  VcpuParams params;
  const PageTableFormat& guest_fmt;
  const PageTableFormat& stage2_fmt;
  HypervisorMmu& hv;
  RemoteFlush& flush;
  FillClock& fills;
  Stats& stats;
  GuestStats& guest_stats;  // sums over the vCPUs (one group per run)
  FaultStats& faults;       // shared with the hypervisor MMU
  Timeline& timeline;
  Violations& oracle;
  PagePool* table_pool;  // for the freed-table oracle; may be null
  const PhysMem& phys;   // functional peeks by the oracle
  // Builds the vCPU's translation hardware (a child module named `name`).
  std::function<std::unique_ptr<TranslationWalker>(const char* name)> make_walker;
  // Put before the vCPU's thread and timeline track names: "vm.1." when several VMs run.
  std::string name_prefix;
  // Host-wide: every pCPU's TLBs (the vCPU uses its pCPU's) and the hypervisor's tag spaces.
  PcpuTlbs* tlbs = nullptr;
  TlbTags* tags = nullptr;
};

// A guest TLB shootdown (flush_tlb_multi) waiting for the IPI handlers of its targets.
struct GuestShootdownMsg {
  Addr va = 0;
  uint64_t bytes = 0;
  unsigned pending = 0;  // targets that have not run the handler yet
  Event done;
};

class Vcpu : public sc_core::sc_module, public GuestCpu, public GuestMemoryAccess,
             private ReschedSource {
 public:
  MemPort port;   // data accesses and the vCPU's host-side (hypervisor) work
  std::unique_ptr<TranslationWalker> walker;  // translation hardware, with its own port

  // `kernel_words`: simulated address of two words for vcpu->requests and vcpu->mode.
  Vcpu(sc_core::sc_module_name name, int id, int pcpu, const VcpuEnv& env, GuestContext guest,
       std::unique_ptr<OpStream> ops, Addr kernel_words);

  // GuestCpu
  int vcpu_id() const override { return id_; }
  Addr request_word() const override { return request_word_; }
  Addr mode_word() const override { return mode_word_; }
  void send_ipi(Cycles delay, std::shared_ptr<FlushAck> ack) override;
  Tlb& tlb_l1() override { return l1_; }
  Tlb& tlb_l2() override { return l2_; }
  uint16_t tlb_tag() const override { return guest_.tlb_tag; }
  unsigned vm_index() const override { return guest_.vm; }
  bool flush_pending() const override;
  const std::string& thread_name() const override { return agent_.name(); }
  void flush_walk_caches() override { walker->flush_caches(); }
  bool ran_guest() const override { return ran_guest_; }

  // GuestMemoryAccess (used by the guest kernel model while handling a guest page fault)
  uint64_t read_gpa(Addr gpa) override;
  void write_gpa(Addr gpa, uint64_t value) override;
  Agent& agent() override { return agent_; }
  void take_pending_interrupts() override;
  Cycles pause_loop_window() const override;
  void pause_loop_exit() override;
  bool finished() const { return finished_; }
  Cycles populate_cycles() const { return done_at_ - started_at_; }
  uint64_t accesses() const { return accesses_; }
  Event& finished_event() { return finished_ev_; }
  // Folds the hot-path counters into the vCPU's statistics and the sums (end of run).
  void publish_stats();

  // --- overcommit, guest shootdowns and flush words (sim/cpu/vcpu_overcommit.cpp) ---
  // Wiring that needs every vCPU built: the host scheduler (null: a pCPU per vCPU), the guest's
  // vCPUs (its shootdown IPI targets), whether the guest uses PV TLB flush, and `words`: a
  // cache line for the flush words (range, TLB-used) and one for the steal-time word.
  // `thread`: the vCPU thread's index among every VM's vCPU threads, its id in the scheduler.
  void attach_host(HostScheduler* sched, unsigned thread, std::vector<Vcpu*> peers, bool paravirt,
                   Addr words);
  const VcpuFlushWords& flush_words() const override { return words_; }
  // A guest IPI (TLB shootdown) from another vCPU reaching this one at cycle `at`; its guest
  // handler runs at the first op boundary at or after `at` while this vCPU runs in guest mode.
  void post_guest_ipi(Cycles at, std::shared_ptr<GuestShootdownMsg> msg);
  bool guest_gone() const { return guest_gone_; }

 private:
  void run();
  void enter_guest();            // process requests, then IN_GUEST_MODE
  void exit_guest();             // OUTSIDE_GUEST_MODE, pays the exit
  void take_ipi();               // IPI arrived: exit, ack, flush, re-enter
  void process_requests();
  void vmm_sync();               // Op::Kind::Sync: exit to the VMM, wait, re-enter
  void load_root();              // kvm_mmu_reload
  // (sim/cpu/vcpu_overcommit.cpp)
  void guest_shootdown(const Op& op);        // munmap: local INVLPGs + IPIs, wait for acks
  void guest_invalidate(Addr gva, uint64_t bytes);  // INVLPG per page or a full flush
  void spin_until_acked(GuestShootdownMsg& m);
  // The least time from a post to its interrupt landing: an IPI's delivery, or none when the
  // host scheduler can ask for a reschedule at once (resched_now).
  Cycles interrupt_lead() const { return sched_ ? 0 : p_.ipi; }
  bool interrupts_settled();  // no interrupt can still land at or before now
  // The host IPI, then the guest's interrupts (tick, guest IPIs), due by now. The caller first
  // makes them readable: synchronised, or interrupts_settled().
  void take_due_interrupts();
  void guest_compute(Cycles cycles);  // guest work, interrupted by IPIs and the tick when due
  void attend();                 // op boundary at or after attention_at_
  void handle_guest_ipis();      // the guest's flush IPI handler
  void sched_tick();             // timeslice over: preempted if another vCPU waits
  void start_on_pcpu();          // first run: wait for the pCPU
  void schedule_in(Cycles since);  // got the pCPU back: steal time, PV flush on entry
  void retire_guest();           // the guest thread ended: ack what is still queued
  void leave_pcpu();             // the vCPU thread ended: hand the pCPU on
  void note_tlb_use();           // before the first walk since a full flush (--flush targeted)
  void after_flush_request(uint64_t req);  // ranged invalidation and TLB-used bookkeeping
  void publish_overcommit_stats();
  // Gives the pCPU to the next waiter and waits to run again: a tick's preemption or a yield.
  void deschedule(Cycles since, bool tick);
  // --- pause-loop exiting and directed yield (sim/cpu/vcpu_pause_loop.cpp) ---
  void on_spin();                          // kvm_vcpu_on_spin
  bool yield_candidate(const Vcpu& v) const;  // preempted in the guest kernel or an IPI pending
  bool eligible_for_directed_yield();      // the in-spin-loop rule (toggles dy_eligible_)
  bool directed_yield_to(Vcpu& target);    // kvm_vcpu_yield_to; false if it cannot run next
  void resched_now();                      // the host asks this running vCPU to reschedule
  void pv_sched_yield(const std::vector<Vcpu*>& targets);  // after the shootdown IPIs
  // --- shadow paging (sim/cpu/vcpu_shadow.cpp) ---
  void guest_pt_op(const Op& op);        // GuestPteWrite / GuestCr3Load / GuestTlbFlush / ..
  void guest_pte_write(const Op& op);    // store through the (maybe write-protected) mapping
  void guest_cr3_load(const Op& op);     // shadow: exits, then loads the new CR3's root
  void guest_tlb_flush();                // shadow: exits (kvm_mmu_sync_roots); flushes the TLB
  void guest_linear_flush();             // EPT: CR3 load / guest flush without an exit
  void guest_invlpg(const Op& op);       // drops the page's TLB entry; exits if intercepted
  // The MMU's shadow-paging side for `what` a guest did; UsageError if the MMU has none.
  ShadowPaging& shadow_paging(const char* what);
  // A store the hypervisor answered with FaultOutcome::Emulate, emulated by it.
  void emulate_guest_write(Addr gva, uint64_t value);
  void do_access(const Op& op);
  void mmu_off_access(const Op& op);  // Op::mmu_off: stage 2 only, non-cacheable
  void translate_miss(const Op& op);
  // The walk after a TLB miss, at true time (IPIs taken first); a walk ending in a second-stage
  // fault counts toward the fault's cost.
  WalkResult walk_on_miss(Addr gva, Access access);
  void use_entry(const TlbEntry& e, const Op& op);
  // Builds the TLB entry of a completed walk of gva and inserts it in both TLB levels.
  TlbEntry fill_tlbs(const WalkResult& r, Addr gva);
  // --- TLB tags on a shared pCPU (sim/cpu/vcpu_tlb_tags.cpp) ---
  // Drops the entries of this vCPU's current tag from its pCPU's TLBs; returns how many.
  size_t flush_own_tlb_entries();
  // KVM_REQ_TLB_FLUSH (kvm_vcpu_flush_tlb_all) on this pCPU: x86 invalidates every context
  // there, other VMs' too; arm64 the VM's VMID. Returns how many entries went.
  size_t flush_tlb_all_request();
  // A new root's flush (kvm_mmu_load's flush_tlb_current): x86 invalidates the root's EPTP
  // context on this pCPU, every vCPU of the VM there; arm64 the VM's VMID.
  size_t flush_tlb_current_root();
  void tags_before_entry();  // arm64: the VMID update; MIPS: the ASID check (before requests)
  void mips_take_asid();     // MIPS: the context's tag on this pCPU, a new one when due
  void vpidless_transition();  // x86 without VPID: a VM entry's or exit's flush
  void tags_on_load();       // vcpu_load after a switch: arm64 last_vcpu_ran, MIPS switch
  void tags_on_put();        // vcpu_put: arm64 clears the pCPU's active VMID
  // The oracle: an entry another VM filled (its tag was reused without the entries going).
  void check_foreign(const TlbEntry& e, Addr gva);
  // Stage-2 translation of a guest-physical address for the guest kernel's own accesses,
  // exiting to the hypervisor until it is mapped; returns the host address.
  Addr stage2_translate(Addr gpa, Access access);
  // Exit, let the hypervisor handle the fault, re-enter; timed and counted. `addr` is the
  // guest-physical address of a second-stage fault, or under shadow paging the guest-virtual
  // address of the guest #PF. An Emulate answer has the hypervisor emulate the store of
  // `value` before re-entering.
  FaultOutcome stage2_fault_exit(Addr addr, Access access, uint64_t value = 0);
  // A PML log-full VM exit (the walk did nothing): exit, let the hypervisor drain, re-enter.
  void pml_full_exit();
  // KVM refused the entry: the vCPU's dirty ring is soft-full. Back to the VMM until it reset
  // the rings (KVM_EXIT_DIRTY_RING_FULL).
  void dirty_ring_full_exit();
  void on_ipi();                 // SC_METHOD: IPI arrivals at the physical CPU
  void ack_pending();

  int id_;
  const VcpuParams p_;
  HypervisorMmu& hv_;
  // hv_'s optional capabilities (sim/hv/shadow_paging.hpp, kvm_run_hook.hpp); nullptr: none.
  ShadowPaging* shadow_;
  KvmRunHook* run_hook_;
  PmlLogging* pml_;  // null unless the hypervisor drains PML logs (--pml on)
  DirtyLogging* ring_;  // null unless the VM has dirty rings (KVM_CAP_DIRTY_LOG_RING)
  FillClock& fills_;
  GuestContext guest_;
  std::unique_ptr<OpStream> ops_;
  Timeline& timeline_;
  Violations& oracle_;
  const PhysMem& phys_;
  Agent agent_;
  TlbTags& tags_;
  const unsigned pcpu_;
  Tlb &l1_, &l2_;  // the pCPU's
  Addr request_word_, mode_word_;

  Addr root_ = 0;  // second-stage root the vCPU runs on (0: none loaded)
  bool in_guest_ = false;
  bool ran_guest_ = false;       // entered the guest once: its core may hold the VM's entries
  Cycles ipi_at_ = ~Cycles(0);  // arrival of an IPI taken in guest mode, not yet handled
  // IPIs on their way (arrival cycle, ack), and those arrived while in guest mode.
  std::vector<std::pair<Cycles, std::shared_ptr<FlushAck>>> in_flight_;
  std::vector<std::shared_ptr<FlushAck>> pending_acks_;
  Event ipi_ev_;
  Event finished_ev_;
  bool finished_ = false;
  Cycles started_at_ = 0, done_at_ = 0;

  // Hot-path counters, published at the end.
  uint64_t accesses_ = 0, l1_hit_ = 0, l1_miss_ = 0, l2_hit_ = 0, l2_miss_ = 0;
  uint64_t exits_ = 0, faults_ = 0, ipis_taken_ = 0, flushes_ = 0;
  uint64_t fault_walk_cycles_ = 0;  // cycles of walks that ended in a second-stage fault
  VcpuStats stats_;
  GuestStats& guest_stats_;
  FaultStats& fault_stats_;

  // --- overcommit, guest shootdowns and flush words (sim/cpu/vcpu_overcommit.cpp) ---
  HostScheduler* sched_ = nullptr;
  unsigned sched_thread_ = 0;  // this vCPU thread's id in the host scheduler
  uint64_t mips_epoch_ = 0;    // MIPS: the pCPU's tag wraps as of this vCPU's last entry
  bool mips_tagged_ = false;   // MIPS: the walker has been given a tag
  bool need_resched(Agent& a) override;  // ReschedSource: the slice is over and others wait
  std::vector<Vcpu*> peers_;
  VcpuFlushWords words_;
  bool paravirt_ = false;
  bool tlb_used_ = false;        // mirror of words_.tlb_used (saves a store per miss)
  bool guest_gone_ = false;
  Cycles slice_end_ = ~Cycles(0);     // next scheduler tick (overcommit only)
  Cycles guest_ipi_at_ = ~Cycles(0);  // earliest queued guest IPI
  Cycles attention_at_ = ~Cycles(0);  // min(slice_end_, guest_ipi_at_): one compare per op
  std::vector<std::pair<Cycles, std::shared_ptr<GuestShootdownMsg>>> guest_inbox_;
  Event attention_ev_;    // wakes a vCPU spinning for shootdown acks
  uint64_t shootdowns_ = 0, guest_ipis_sent_ = 0, guest_ipis_handled_ = 0, pv_skipped_ = 0;
  uint64_t pv_flushes_ = 0, preemptions_ = 0, full_flushes_ = 0, ranged_entries_ = 0;
  uint64_t invlpg_ = 0;
  Cycles descheduled_ = 0;
  // Pause-loop exiting: whether the guest runs kernel code (what a preemption leaves in
  // preempted_in_kernel_), and KVM's spin_loop.in_spin_loop / dy_eligible.
  bool in_guest_kernel_ = false, preempted_in_kernel_ = false;
  bool in_spin_loop_ = false, dy_eligible_ = false;
  Cycles ple_window_now_ = 0;      // the vCPU's current PLE window (grows on exits)
};

}  // namespace mmusim
