// The vCPU's side of remote-flush strategies, guest TLB shootdowns and vCPU overcommit:
//
// - Guest shootdowns (Op::Kind::GuestShootdown): the guest unmapped a range. It invalidates the
//   range in its own TLB (INVLPG per page, a full flush above Linux's single-page ceiling) and
//   sends a flush IPI to every other vCPU of the guest, then spins in guest mode until each
//   target has run its IPI handler (flush_tlb_multi waits for every csd). A target runs the
//   handler only while it runs in guest mode, so a descheduled target holds the sender up until
//   the host scheduler runs it again.
//   IPI delivery: x2APIC ICR writes exit to KVM (no IPI virtualisation is modelled), so the
//   sender pays one exit and entry for the whole batch; the target takes the interrupt without
//   an exit (posted interrupts) and pays lat.guest_ipi_handler.
// - PV TLB flush (--flush pv, KVM_FEATURE_PV_TLB_FLUSH): for a target whose steal-time word says
//   PREEMPTED, the sender sets FLUSH_TLB in that word (cmpxchg) instead of sending an IPI, and
//   does not wait; the host flushes the target's TLB when it next schedules it in, before it
//   re-enters the guest (record_steal_time). A cmpxchg that loses to the target clearing the
//   word means the target is running again: it gets a normal IPI.
// - Overcommit (--pcpus < --vcpus): at each tick (--timeslice) a vCPU running in guest mode asks
//   the host scheduler whether another vCPU waits for its pCPU; if so it exits, the host marks
//   it PREEMPTED in its steal-time word, and it queues for its pCPU again.
// - Flush words: the TLB-used word of --flush targeted and the range words of --flush ranged.
#include <algorithm>

#include "sim/cpu/vcpu.hpp"

namespace mmusim {

namespace {
// Linux's tlb_single_page_flush_ceiling: above this many pages one full flush is cheaper.
constexpr uint64_t kSinglePageFlushCeiling = 33;
constexpr Cycles kNever = ~Cycles(0);
}  // namespace

void Vcpu::attach_host(HostScheduler* sched, unsigned thread, std::vector<Vcpu*> peers,
                       bool paravirt, Addr words) {
  sched_ = sched;
  sched_thread_ = thread;
  if (sched_) {
    agent_.set_resched_source(this);
    sched_->set_resched(thread, [this] { resched_now(); });
  }
  peers_ = std::move(peers);
  paravirt_ = paravirt;
  words_.range_first = words;
  words_.range_last = words + 8;
  words_.tlb_used = words + 16;
  // Steal time lives in guest memory in KVM; a line of its own keeps it from bouncing with the
  // host's request words.
  words_.steal_time = words + kLineSize;
}

// ---- guest TLB shootdowns ----

void Vcpu::guest_invalidate(Addr gva, uint64_t bytes) {
  const uint64_t pages = (bytes + kPageSize - 1) / kPageSize;
  if (pages > kSinglePageFlushCeiling) {
    l1_.flush_tag(guest_.tlb_tag);
    l2_.flush_tag(guest_.tlb_tag);
    walker->flush_caches();
    agent_.advance(p_.tlb_flush_local);
    return;
  }
  // INVLPG keeps the paging-structure caches of other addresses; the guest tables themselves do
  // not change here (the window stays mapped), so the walker's caches are left alone.
  for (uint64_t i = 0; i < pages; ++i) {
    l1_.flush_va(guest_.tlb_tag, gva + i * kPageSize);
    l2_.flush_va(guest_.tlb_tag, gva + i * kPageSize);
    walker->flush_va(gva + i * kPageSize);
    agent_.advance(p_.invlpg);
    ++invlpg_;
  }
}

void Vcpu::guest_shootdown(const Op& op) {
  agent_.sync();
  const Cycles t0 = agent_.now();
  ++shootdowns_;
  in_guest_kernel_ = true;  // flush_tlb_multi runs in the guest kernel
  guest_invalidate(op.gva, op.bytes);
  auto msg = std::make_shared<GuestShootdownMsg>();
  msg->va = op.gva;
  msg->bytes = op.bytes;
  std::vector<Vcpu*> targets;
  for (Vcpu* t : peers_) {
    if (t == this || t->guest_gone_) continue;
    if (paravirt_) {
      // kvm_flush_tlb_multi: a preempted vCPU is asked to flush on its next entry instead.
      const Addr w = t->words_.steal_time;
      uint64_t st = agent_.load(w);
      if ((st & kStealPreempted) && agent_.cmpxchg(w, st, st | kStealFlushTlb) == st) {
        ++pv_skipped_;
        continue;
      }
    }
    targets.push_back(t);
  }
  if (!targets.empty()) {
    exit_guest();  // the ICR writes
    agent_.catch_up();  // post_guest_ipi wakes the target at the kernel's "now"
    for (Vcpu* t : targets) {
      // A target whose guest thread ended in the meantime left the address space.
      if (t->guest_gone_) continue;
      ++msg->pending;
      ++guest_ipis_sent_;
      t->post_guest_ipi(agent_.now() + p_.ipi, msg);
    }
    enter_guest();
    pv_sched_yield(targets);
    spin_until_acked(*msg);
  }
  in_guest_kernel_ = false;
  agent_.sync();
  const Cycles t1 = agent_.now();
  guest_stats_.latency.sample(t1 - t0);
  if (agent_.track() >= 0) timeline_.span(agent_.track(), "guest tlb shootdown", t0, t1);
}

void Vcpu::post_guest_ipi(Cycles at, std::shared_ptr<GuestShootdownMsg> msg) {
  if (at < agent_.clock().now() + interrupt_lead())  // interrupts_settled() relies on it
    throw ModelError(agent_.name() + ": guest IPI delivered sooner than the interrupt lead");
  guest_inbox_.push_back({at, std::move(msg)});
  guest_ipi_at_ = std::min(guest_ipi_at_, at);
  attention_at_ = std::min(attention_at_, guest_ipi_at_);
  agent_.kernel().notify(attention_ev_);
}

void Vcpu::spin_until_acked(GuestShootdownMsg& m) {
  // Pause-loop exiting (sim/cpu/vcpu_pause_loop.cpp): the window restarts at every entry.
  agent_.sync();
  Cycles ple_at = pause_loop_window() ? agent_.now() + pause_loop_window() : kNever;
  while (true) {
    agent_.sync();
    take_due_interrupts();
    agent_.sync();
    // Checked after the sync: an ack landing while we synchronised is seen here.
    if (m.pending == 0) return;
    const Cycles now = agent_.now();
    if (now >= ple_at) {
      pause_loop_exit();
      agent_.sync();
      ple_at = agent_.now() + pause_loop_window();
      continue;
    }
    const Cycles next = std::min({ipi_at_, attention_at_, ple_at});
    if (next <= now) continue;
    // Spinning: woken by the last ack, by an interrupt for us, or at the next tick.
    agent_.before_kernel_wait();
    if (next == kNever)
      sc_core::wait(m.done.sc() | attention_ev_.sc());
    else
      sc_core::wait(agent_.clock().cycles(next - now), m.done.sc() | attention_ev_.sc());
  }
}

void Vcpu::guest_compute(Cycles cycles) {
  // Guest work runs with interrupts enabled: a host IPI, a flush IPI, a reschedule or the tick
  // that falls due meanwhile is taken then, and the work resumes after its handler, as on a
  // core the interrupt preempts the running code (docs/ARCHITECTURE.md, Overcommit). The work
  // waits in the kernel, where a poster running later in host order still wakes it, unless
  // lookahead shows no other thread can run before the stretch ends.
  Cycles left = cycles;
  auto stretch = [&] {  // the work up to the next interrupt known now
    const Cycles now = agent_.now(), next = std::min(ipi_at_, attention_at_);
    return next > now ? std::min(left, next - now) : 0;
  };
  while (left) {
    Cycles run = stretch();
    if (run && agent_.runs_alone_for(run)) {
      agent_.advance(run);
      agent_.sync_for_access();  // skipped: nothing runs first
      left -= run;
    } else if (run) {
      // Threads due before this one run first: what they post is read after the sync, since
      // a notification sent while this thread is not yet waiting on the event is lost.
      agent_.sync();
      const Cycles t0 = agent_.now();
      run = stretch();
      if (run) {
        agent_.wait_event_for(run, attention_ev_);
        left -= agent_.now() - t0;
      }
    }
    agent_.sync_for_access();
    take_due_interrupts();
  }
}

void Vcpu::attend() {
  agent_.sync();
  if (agent_.now() >= guest_ipi_at_) handle_guest_ipis();
  if (agent_.now() >= slice_end_) sched_tick();
  attention_at_ = std::min(guest_ipi_at_, slice_end_);
}

void Vcpu::handle_guest_ipis() {
  const Cycles now = agent_.now();
  std::vector<std::shared_ptr<GuestShootdownMsg>> due;
  Cycles later = kNever;
  for (size_t i = 0; i < guest_inbox_.size();) {
    if (guest_inbox_[i].first <= now) {
      due.push_back(std::move(guest_inbox_[i].second));
      guest_inbox_.erase(guest_inbox_.begin() + long(i));
    } else {
      later = std::min(later, guest_inbox_[i].first);
      ++i;
    }
  }
  guest_ipi_at_ = later;
  if (due.empty()) return;
  agent_.advance(p_.guest_ipi_handler);
  for (auto& m : due) guest_invalidate(m->va, m->bytes);
  // The acknowledgement (csd unlock) is seen by the sender: at this vCPU's true time.
  agent_.sync();
  for (auto& m : due) {
    ++guest_ipis_handled_;
    if (--m->pending == 0) agent_.kernel().notify(m->done);
  }
}

void Vcpu::retire_guest() {
  // Called right after the final exit, with no wait in between: a sender that finds
  // guest_gone_ false has queued its IPI already, and it is acknowledged here.
  guest_gone_ = true;
  for (auto& [at, m] : guest_inbox_)
    if (--m->pending == 0) agent_.notify(m->done);
  guest_inbox_.clear();
  guest_ipi_at_ = kNever;
}

// ---- host scheduler ----

void Vcpu::start_on_pcpu() {
  if (!sched_) return;
  const Cycles t0 = agent_.now();
  sched_->acquire(agent_, sched_thread_);
  schedule_in(t0);
}

bool Vcpu::need_resched(Agent& a) {
  // The tick sets TIF_NEED_RESCHED once the slice is over and another thread waits for the
  // pCPU; host-side work in the vCPU thread (a fault, a zap) sees it at its cond_resched points.
  a.sync_for_access();  // resched_now may be posted for a cycle this thread already ran past
  return a.now() >= slice_end_ && sched_->has_waiter(a, sched_thread_);
}

void Vcpu::sched_tick() {
  if (!sched_->has_waiter(agent_, sched_thread_)) {
    slice_end_ = agent_.now() + p_.timeslice;
    return;
  }
  const Cycles t0 = agent_.now();
  ++preemptions_;
  exit_guest();  // the host's timer interrupt
  deschedule(t0, true);
  enter_guest();
}

void Vcpu::deschedule(Cycles since, bool tick) {
  // kvm_steal_time_set_preempted: the guest can see this vCPU is not running; KVM also notes
  // whether it was preempted in guest kernel mode (directed yield prefers those).
  preempted_in_kernel_ = in_guest_kernel_;
  agent_.store(words_.steal_time, kStealPreempted);
  tags_on_put();
  if (tick)
    sched_->preempt(agent_, sched_thread_);
  else
    sched_->yield(agent_, sched_thread_);
  schedule_in(since);
  if (agent_.track() >= 0) timeline_.span(agent_.track(), "descheduled", since, agent_.now());
}

void Vcpu::schedule_in(Cycles since) {
  // record_steal_time: clear PREEMPTED; a flush a PV shootdown asked for is done now, before
  // the vCPU can run guest code again.
  tags_on_load();
  const uint64_t st = agent_.xchg(words_.steal_time, 0);
  if (st & kStealFlushTlb) {
    l1_.flush_tag(guest_.tlb_tag);
    l2_.flush_tag(guest_.tlb_tag);
    walker->flush_caches();
    agent_.advance(p_.tlb_flush_local);
    ++pv_flushes_;
  }
  agent_.sync();
  ple_window_now_ = p_.ple_window;  // shrink_ple_window when loaded after being scheduled out
  descheduled_ += agent_.now() - since;
  slice_end_ = agent_.now() + p_.timeslice;
  attention_at_ = std::min(guest_ipi_at_, slice_end_);
}

void Vcpu::leave_pcpu() {
  if (!sched_) return;
  tags_on_put();
  sched_->release(agent_, sched_thread_);
}

// ---- flush words ----

void Vcpu::note_tlb_use() {
  // Published before the walk reads any table (see the targeted strategy).
  tlb_used_ = true;
  agent_.store(words_.tlb_used, 1);
}

void Vcpu::after_flush_request(uint64_t req) {
  if (req & kReqTlbFlushRange) {
    // Taken after the request bits (the flusher widens the range before setting the bit).
    const Addr first = agent_.xchg(words_.range_first, ~Addr(0));
    const Addr last = agent_.xchg(words_.range_last, 0);
    if (!(req & kReqTlbFlush) && first <= last) {
      const uint64_t len = last - first + 1;
      size_t n = l1_.flush_gpa_range(guest_.tlb_tag, first, len);
      n += l2_.flush_gpa_range(guest_.tlb_tag, first, len);
      // Cached stage-2 table entries cannot be picked out by address: drop them all.
      walker->flush_caches();
      agent_.advance(p_.invlpg * std::max<size_t>(n, 1));
      ranged_entries_ += n;
    }
  }
  if (req & kReqTlbFlush) {
    ++full_flushes_;
    tlb_used_ = false;
    agent_.store(words_.tlb_used, 0);
  }
}

void Vcpu::publish_overcommit_stats() {
  stats_.descheduled_cycles.set(descheduled_);
  stats_.preemptions.set(preemptions_);
  stats_.shootdowns.set(shootdowns_);
  stats_.pv_flushes_on_entry.set(pv_flushes_);
  stats_.flush_full.set(full_flushes_);
  stats_.flush_ranged_entries.set(ranged_entries_);
  guest_stats_.shootdowns.inc(shootdowns_);
  guest_stats_.ipis.inc(guest_ipis_sent_);
  guest_stats_.ipis_handled.inc(guest_ipis_handled_);
  guest_stats_.pv_skipped.inc(pv_skipped_);
  guest_stats_.pv_flushes_on_entry.inc(pv_flushes_);
  guest_stats_.invlpg.inc(invlpg_);
  guest_stats_.flush_full.inc(full_flushes_);
  guest_stats_.flush_ranged_entries.inc(ranged_entries_);
}

}  // namespace mmusim
