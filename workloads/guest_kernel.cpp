#include "workloads/guest_kernel.hpp"

#include <algorithm>

#include "sim/core/clock.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

GuestKernel::GuestKernel(const GuestKernelParams& p, Placement placement, uint64_t data_bytes)
    : p_(p), placement_(placement), data_bytes_(data_bytes) {}

void GuestKernel::attach(WorkloadEnv& env) {
  fmt_ = &env.guest_fmt;
  // The kernel's own data was touched while the guest booted, long before the trace starts:
  // map it in stage 2 up front, as the harness does for memory the run does not study.
  const uint64_t gfn = kKernelDataGpa >> kPageShift;
  lock_hpa_ = env.host.resolve_functional(gfn).hpa;
  env.mmu.map_functional(kKernelDataGpa, 1, lock_hpa_);
  env.touched.set(gfn);
  lock_wait_.emplace(StatsGroup(env.stats, "guest.kernel"), "lock_wait",
                     "cycles the guest kernel waited for its page_table_lock");
}

// A test-and-test-and-set spinlock on a word of guest memory (the guest's page_table_lock).
// A waiter re-reads the word when the holder releases it (released_) or, at the latest, after
// its poll interval, and takes interrupts between polls, so a flush IPI is acknowledged while
// it spins. The interval starts at guest_lock_spin and doubles up to lock_spin_max_factor times
// that, which bounds both the IPI delay and the number of polls during a long hold. The wait
// emerges from the holder's run time; a release missed in the same instant is caught by the
// next poll.
void GuestKernel::lock(GuestMemoryAccess& cpu) {
  Agent& a = cpu.agent();
  const Cycles t0 = a.now();
  const Cycles spin = std::max<Cycles>(p_.guest_lock_spin, 1);
  const Cycles max_interval = spin * std::max(p_.lock_spin_max_factor, 1u);
  Cycles interval = spin;
  bool waited = false;
  // Pause-loop exiting: a spin of a whole window exits to the hypervisor (which may run the
  // preempted lock holder meanwhile); the window restarts after it.
  Cycles spin_since = t0;
  while (true) {
    if (a.load(lock_hpa_) == 0 && a.cmpxchg(lock_hpa_, 0, uint64_t(cpu.vcpu_id()) + 1) == 0) break;
    waited = true;
    cpu.take_pending_interrupts();
    a.sync();
    a.before_kernel_wait();
    sc_core::wait(a.clock().cycles(interval), released_.sc());
    a.set_offset(sc_core::SC_ZERO_TIME);
    interval = std::min(interval * 2, max_interval);
    const Cycles ple_window = cpu.pause_loop_window();
    if (ple_window && a.now() - spin_since >= ple_window) {
      cpu.pause_loop_exit();
      a.sync();
      spin_since = a.now();
    }
  }
  if (waited) ++contended_;
  lock_wait_->sample(a.now() - t0);
}

void GuestKernel::unlock(GuestMemoryAccess& cpu) {
  cpu.agent().store(lock_hpa_, 0);
  cpu.agent().notify(released_);
}

bool GuestKernel::handle_page_fault(GuestMemoryAccess& cpu, Addr gva, Access) {
  Agent& a = cpu.agent();
  a.advance(p_.guest_fault_work);
  lock(cpu);
  ++faults_;
  PtIter it(*fmt_, kRootGpa, gva);
  while (it.level() > 1) {
    uint64_t e = cpu.read_gpa(it.entry_addr());
    if (!fmt_->present(e)) {
      if (next_table_ >= GuestLayout::kDataGpa) {
        unlock(cpu);
        return false;  // out of page-table memory: the vCPU reports the address
      }
      // A never-used guest frame reads as zero (the host zeroed its backing), so the new
      // table needs no clearing; linking it is the first guest write to it.
      Addr table = next_table_;
      next_table_ += kPageSize;
      ++tables_;
      e = fmt_->make_table(table);
      cpu.write_gpa(it.entry_addr(), e);
    }
    it.set_entry(e);
    it.descend();
  }
  if (fmt_->present(cpu.read_gpa(it.entry_addr()))) {
    ++spurious_;  // another vCPU mapped the page while this one waited for the lock
    unlock(cpu);
    return true;
  }
  const Addr frame = placement_ == Placement::Identity
                         ? GuestLayout::kDataGpa + ((gva - GuestLayout::kDataGva) & ~(kPageSize - 1))
                         : next_frame_;
  if (frame < GuestLayout::kDataGpa || frame >= GuestLayout::kDataGpa + data_bytes_) {
    unlock(cpu);
    return false;
  }
  if (placement_ == Placement::FirstTouch) next_frame_ += kPageSize;
  ++frames_;
  // clear_page: its first store is what faults the fresh frame in stage 2; the rest of the
  // zeroing is charged as one step.
  cpu.write_gpa(frame, 0);
  a.advance(p_.guest_clear_page);
  cpu.write_gpa(it.entry_addr(), fmt_->make_leaf(frame, 1, Perms{true, true, true}, false, false));
  unlock(cpu);
  return true;
}

namespace {

struct GuestKernelStats : StatsGroup {
  explicit GuestKernelStats(Stats& s) : StatsGroup(s, "guest.kernel") {}
  statistics::Counter faults{*this, "faults", "guest page faults the guest kernel handled"};
  statistics::Counter spurious{*this, "spurious", "guest page faults that found the page mapped"};
  statistics::Counter tables{*this, "tables", "guest page-table pages the kernel allocated"};
  statistics::Counter frames{*this, "frames", "guest data frames the kernel allocated"};
  statistics::Counter lock_contended{*this, "lock_contended",
                                     "page_table_lock acquisitions that waited"};
};

}  // namespace

void GuestKernel::publish(Stats& stats) const {
  GuestKernelStats st(stats);
  st.faults.set(faults_);
  st.spurious.set(spurious_);
  st.tables.set(tables_);
  st.frames.set(frames_);
  st.lock_contended.set(contended_);
}

}  // namespace mmusim
