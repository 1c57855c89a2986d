#include "workloads/dirty_log.hpp"

#include "sim/core/error.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Goes over every page of a slice once per round, with a sync point after each round: page i
// is written when i % write_fraction == 0, else read (perf_test_util's guest code with -f).
class RoundsStream : public OpStream {
 public:
  RoundsStream(uint64_t base, uint64_t pages, unsigned rounds, unsigned write_fraction)
      : base_(base), pages_(pages), rounds_(rounds), write_fraction_(write_fraction) {}
  bool next(Op& op) override {
    if (round_ >= rounds_) return false;
    if (i_ == pages_) {  // end of a round: report to the VMM
      op.kind = Op::Kind::Sync;
      i_ = 0;
      ++round_;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = i_ % write_fraction_ == 0 ? Access::Write : Access::Read;
    op.gva = GuestLayout::kDataGva + base_ + i_ * kPageSize;
    ++i_;
    return true;
  }

 private:
  uint64_t base_, pages_;
  unsigned rounds_, write_fraction_;
  uint64_t i_ = 0;
  unsigned round_ = 0;
};

}  // namespace

DirtyLog::DirtyLog(const DirtyLogParams& p)
    : p_(p), paging_(p.paging), rendezvous_(p.paging.vcpus) {}

void DirtyLog::attach(WorkloadEnv& env) {
  if (!capability<DirtyLogging>(env.mmu))
    throw UsageError(std::string("--workload dirty-log: --arch ") + mode_name(p_.arch) + " does not model dirty logging");
  env_ = &env;
  // KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING) right after the VM is created, before its vCPUs.
  if (p_.tracking == DirtyTracking::Ring) {
    DirtyLogging& kvm = *capability<DirtyLogging>(env.mmu);
    kvm.enable_dirty_ring(env.stats, p_.paging.vcpus, p_.ring);
    reaper_ = std::make_unique<DirtyRingReaper>(env.stats, kvm, p_.paging.vcpus);
  }
}

std::unique_ptr<OpStream> DirtyLog::vcpu_stream(unsigned vcpu) {
  // Round 0 populates; rounds 1..iterations dirty memory with logging on.
  return std::make_unique<RoundsStream>(paging_.slice_offset(vcpu),
                                        p_.paging.mem_per_vcpu / kPageSize, p_.iterations + 1,
                                        p_.write_fraction);
}

std::vector<HostThreadSpec> DirtyLog::host_threads() {
  return {{"dirty-log-vmm", [this](Agent& a) { vmm(a); }}};
}

namespace {

// The VMM thread's phases (docs/VALIDATION.md describes the experiment).
struct DirtyLogStats : StatsGroup {
  explicit DirtyLogStats(Stats& s) : StatsGroup(s, "workload.dirty_log") {}
  statistics::Value populate_cycles{*this, "populate_cycles", "cycles until every vCPU populated"};
  statistics::Value enable_cycles{*this, "enable_cycles", "cycles of enabling dirty logging"};
  statistics::Histogram dirty_memory_cycles{*this, "dirty_memory_cycles",
                                            "cycles of one round of the vCPUs dirtying memory"};
  statistics::Histogram get_log_cycles{*this, "get_log_cycles", "cycles of one KVM_GET_DIRTY_LOG"};
  statistics::Histogram clear_log_cycles{*this, "clear_log_cycles",
                                         "cycles of one KVM_CLEAR_DIRTY_LOG (manual protect)"};
  statistics::Value disable_cycles{*this, "disable_cycles", "cycles of disabling dirty logging"};
};

}  // namespace

void DirtyLog::vmm(Agent& a) {
  DirtyLogStats s(env_->stats);
  DirtyLogging& mmu = *capability<DirtyLogging>(env_->mmu);
  const Addr slot = GuestLayout::kDataGpa;
  const uint64_t len = data_bytes();
  Cycles t = a.now();
  rendezvous_.vmm_wait_all(a);
  s.populate_cycles.set(a.now() - t);

  mmu.set_dirty_log_caps(p_.caps);  // KVM_ENABLE_CAP before the slot starts logging
  t = a.now();
  mmu.enable_dirty_log(a, slot, len);
  s.enable_cycles.set(a.now() - t);

  // The pages written each round: every write_fraction-th page of every slice.
  const uint64_t slot_pages = len / kPageSize;
  std::vector<uint64_t> written((slot_pages + 63) / 64, 0);
  for (unsigned v = 0; v < p_.paging.vcpus; ++v) {
    uint64_t first = paging_.slice_offset(v) / kPageSize;
    for (uint64_t i = 0; i < p_.paging.mem_per_vcpu / kPageSize; i += p_.write_fraction)
      written[(first + i) / 64] |= uint64_t(1) << ((first + i) % 64);
  }
  // With initially-set the first get also holds every page of the slot.
  std::vector<uint64_t> every_page(written.size(), 0);
  for (uint64_t p = 0; p < slot_pages; ++p) every_page[p / 64] |= uint64_t(1) << (p % 64);
  statistics::Histogram& dirty = s.dirty_memory_cycles;
  statistics::Histogram& get = s.get_log_cycles;
  statistics::Histogram& clear = s.clear_log_cycles;
  for (unsigned i = 1; i <= p_.iterations; ++i) {
    rendezvous_.vmm_release(a);
    t = a.now();
    std::vector<uint64_t> log;
    if (reaper_) {
      log.assign(written.size(), 0);
      ring_round(a, log);
      dirty.sample(a.now() - t);
      reaper_->collect(a, log);  // what the round left in the rings
    } else {
      rendezvous_.vmm_wait_all(a);
      dirty.sample(a.now() - t);
      t = a.now();
      log = mmu.get_dirty_log(a);
      get.sample(a.now() - t);
    }
    const std::vector<uint64_t>& expected = i == 1 && p_.caps.initially_set ? every_page : written;
    if (log != expected) {
      uint64_t missing = 0, extra = 0;
      for (size_t w = 0; w < log.size(); ++w) {
        missing += uint64_t(__builtin_popcountll(expected[w] & ~log[w]));
        extra += uint64_t(__builtin_popcountll(log[w] & ~expected[w]));
      }
      env_->oracle.report("dirty_log_mismatch", a.now(), a.name(), slot,
                          "round " + std::to_string(i) + ": " + std::to_string(missing) +
                              " written pages missing from the log, " + std::to_string(extra) +
                              " pages logged that were not written");
    }
    // The get cleared and protected already; the ring has no clear (the reset protected).
    if (!p_.caps.manual_protect || reaper_) continue;
    t = a.now();
    mmu.clear_dirty_log(a, log);
    clear.sample(a.now() - t);
  }
  t = a.now();
  mmu.disable_dirty_log(a);
  s.disable_cycles.set(a.now() - t);
  rendezvous_.vmm_release(a);
}

void DirtyLog::ring_round(Agent& a, std::vector<uint64_t>& log) {
  // During the round a vCPU whose ring reached the soft limit waits in KVM_RUN's caller until
  // the rings are reset; the others keep running (and pushing) meanwhile.
  while (!rendezvous_.vmm_wait_all_or_ring_full(a)) {
    reaper_->stats().full_wakeups.inc();
    reaper_->collect(a, log);
    rendezvous_.vmm_rings_reset(a);
  }
}

}  // namespace mmusim
