// Pause-loop exiting and directed yield (docs/ARCHITECTURE.md, Pause-loop exiting and directed
// yield): what keeps a vCPU that spins in guest mode for a preempted vCPU from burning its whole
// timeslice, when vCPUs outnumber pCPUs.
//
// - PLE (VMX pause-loop exiting, handle_pause): a vCPU that has spun in guest mode for the
//   window exits to KVM. The window is per vCPU, as KVM's: it starts at --ple-window (KVM's
//   ple_window), doubles on every exit (grow_ple_window with ple_window_grow 2, up to
//   ple_window_max, UINT_MAX on VMX) and returns to --ple-window when the vCPU is loaded again
//   after being scheduled out (shrink_ple_window with ple_window_shrink 0).
// - kvm_vcpu_on_spin: on that exit KVM looks, round-robin from the vCPU after the last one it
//   boosted, for a vCPU of the VM that is preempted (runnable, waiting for its pCPU) and worth
//   running: preempted in guest kernel mode or with an interrupt pending (the spinner is in
//   the guest kernel, so KVM yields to kernel mode only), and eligible by the in-spin-loop
//   rule (a vCPU that is itself in kvm_vcpu_on_spin is a candidate every other time). At most
//   three yield_to attempts fail before it gives up.
// - yield_to: the candidate becomes the next to run on its own pCPU (CFS next buddy); the vCPU
//   running there -- whichever VM it belongs to -- is told to reschedule (resched_curr, through
//   the host scheduler), and the spinner yields its own pCPU if another vCPU waits for it.
//   With vCPUs pinned (vCPU i on pCPU i % P) the candidate can only ever run on its own pCPU,
//   so a yield across pCPUs preempts whichever vCPU runs there.
// - PV sched yield (KVM_FEATURE_PV_SCHED_YIELD): after sending a shootdown's IPIs to more than
//   one vCPU, the guest checks its targets' steal-time words and, for the first one marked
//   PREEMPTED, makes the KVM_HC_SCHED_YIELD hypercall; KVM yields to that vCPU as above
//   (kvm_sched_yield).
//
// All of it applies only with a host scheduler (--pcpus < --vcpus). With a pCPU per vCPU the
// platform is the dedicated-pCPU setup (KVM_X86_DISABLE_EXITS_PAUSE, KVM_HINTS_REALTIME): no
// PAUSE exits and no PV sched yield.
#include <algorithm>

#include "sim/cpu/vcpu.hpp"

namespace mmusim {

namespace {
// kvm_vcpu_on_spin gives up after this many failed yield_to attempts.
constexpr int kYieldTries = 3;
constexpr int kPleWindowGrow = 2;                // ple_window_grow
constexpr Cycles kPleWindowMax = 0xffffffffu;    // ple_window_max on VMX (UINT_MAX)
}  // namespace

Cycles Vcpu::pause_loop_window() const {
  if (!sched_ || p_.ple_window == 0) return 0;
  return ple_window_now_ ? ple_window_now_ : p_.ple_window;
}

void Vcpu::pause_loop_exit() {
  exit_guest();
  sched_->note_ple_exit();
  ple_window_now_ = std::min(pause_loop_window() * kPleWindowGrow, kPleWindowMax);
  if (p_.directed_yield == DirectedYield::On) on_spin();
  enter_guest();
}

bool Vcpu::yield_candidate(const Vcpu& v) const {
  // kvm_arch_dy_has_pending_interrupt: a posted interrupt the target has not taken yet (the
  // shootdown IPI the spinner waits for); else it must have been preempted in kernel mode.
  return v.guest_ipi_at_ != ~Cycles(0) || v.preempted_in_kernel_;
}

bool Vcpu::eligible_for_directed_yield() {
  const bool eligible = !in_spin_loop_ || dy_eligible_;
  if (in_spin_loop_) dy_eligible_ = !dy_eligible_;
  return eligible;
}

void Vcpu::on_spin() {
  in_spin_loop_ = true;
  dy_eligible_ = false;
  const size_t n = peers_.size();
  if (n == 0) return;
  const unsigned vm_key = peers_.front()->sched_thread_;  // the VM's first vCPU
  const size_t start = sched_->last_boosted(vm_key);
  int tries = kYieldTries;
  for (size_t i = 1; i <= n; ++i) {
    const size_t idx = (start + i) % n;
    Vcpu& v = *peers_[idx];
    if (&v == this) continue;
    // vcpu->ready: preempted while runnable. A running vCPU or one whose thread ended is not.
    if (v.finished_ || !sched_->waiting(agent_, v.sched_thread_) || !yield_candidate(v) ||
        !v.eligible_for_directed_yield()) {
      sched_->note_candidate_skipped();
      continue;
    }
    if (directed_yield_to(v)) {
      sched_->set_last_boosted(vm_key, unsigned(idx));
      break;
    }
    if (--tries == 0) break;
  }
  in_spin_loop_ = false;
}

bool Vcpu::directed_yield_to(Vcpu& target) {
  // yield_to fails for a task that is running or not runnable.
  if (target.finished_ || !sched_->waiting(agent_, target.sched_thread_)) return false;
  agent_.sync();
  const Cycles t0 = agent_.now();
  sched_->boost(agent_, sched_thread_, target.sched_thread_);
  // yield_task_fair: the spinner steps aside on its own pCPU when another vCPU waits for it
  // (the target itself when they share the pCPU: it is now the head of the queue).
  if (sched_->has_waiter(agent_, sched_thread_)) deschedule(t0, false);
  return true;
}

void Vcpu::resched_now() {
  // resched_curr on this vCPU's pCPU: its next tick check finds the slice over and the boosted
  // vCPU waiting. A vCPU spinning for acknowledgements is woken to see it.
  slice_end_ = 0;
  attention_at_ = 0;
  agent_.kernel().notify(attention_ev_);
}

void Vcpu::pv_sched_yield(const std::vector<Vcpu*>& targets) {
  if (!sched_ || p_.pv_sched_yield == PvSchedYield::Off) return;
  // Only the IPI-many path (kvm_smp_send_call_func_ipi) yields: smp_call_function_many_cond
  // sends one target its IPI through the single-IPI path, which does not.
  if (targets.size() < 2) return;
  for (Vcpu* t : targets) {
    if (t->guest_gone_) continue;
    // vcpu_is_preempted: the target's steal-time word, read from guest memory.
    if (!(agent_.load(t->words_.steal_time) & kStealPreempted)) continue;
    exit_guest();  // the hypercall
    sched_->note_pv_sched_yield();
    // kvm_sched_yield: only to a vCPU that is ready (preempted), never to itself.
    directed_yield_to(*t);
    enter_guest();
    break;
  }
}

}  // namespace mmusim
