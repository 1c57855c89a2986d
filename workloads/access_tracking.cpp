#include "workloads/access_tracking.hpp"

#include <algorithm>

#include "sim/core/error.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Phase 0: write every page; sync. Phase 1: read every other page (even pages); sync.
class TrackingStream : public OpStream {
 public:
  TrackingStream(uint64_t base, uint64_t pages) : base_(base), pages_(pages) {}
  bool next(Op& op) override {
    if (phase_ > 1) return false;
    const uint64_t step = phase_ == 0 ? 1 : 2;
    if (i_ >= pages_) {
      op.kind = Op::Kind::Sync;
      i_ = 0;
      ++phase_;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = phase_ == 0 ? Access::Write : Access::Read;
    op.gva = GuestLayout::kDataGva + base_ + i_ * kPageSize;
    i_ += step;
    return true;
  }

 private:
  uint64_t base_, pages_;
  uint64_t i_ = 0;
  unsigned phase_ = 0;
};

}  // namespace

AccessTracking::AccessTracking(const AccessTrackingParams& p)
    : p_(p), paging_(p.paging), rendezvous_(p.paging.vcpus) {}

void AccessTracking::attach(WorkloadEnv& env) {
  if (!capability<NotifierCallbacks>(env.mmu) || !env.host.notifier())
    throw UsageError(std::string("--workload access-tracking: --arch ") + mode_name(p_.arch) +
                     " has no MMU notifiers here (on MIPS: --mips-sync-mmu on)");
  if (p_.paging.overlap != 0.0)
    throw UsageError("--workload access-tracking: needs --overlap 0 (each page has one reader)");
  env_ = &env;
}

std::unique_ptr<OpStream> AccessTracking::vcpu_stream(unsigned vcpu) {
  return std::make_unique<TrackingStream>(paging_.slice_offset(vcpu),
                                          p_.paging.mem_per_vcpu / kPageSize);
}

std::vector<HostThreadSpec> AccessTracking::host_threads() {
  return {{"access-tracking-vmm", [this](Agent& a) { vmm(a); }}};
}

namespace {

struct AccessTrackingStats : StatsGroup {
  explicit AccessTrackingStats(Stats& s) : StatsGroup(s, "workload.access") {}
  statistics::Value populate_cycles{*this, "populate_cycles", "cycles until every vCPU populated"};
  statistics::Value mark_idle_cycles{*this, "mark_idle_cycles",
                                     "cycles of clear_flush_young over the whole guest"};
  statistics::Value access_cycles{*this, "access_cycles", "cycles of the vCPUs' read pass"};
  statistics::Value test_young_cycles{*this, "test_young_cycles",
                                      "cycles of test_young on every page"};
  statistics::Counter young{*this, "young", "pages test_young found young"};
  statistics::Counter idle{*this, "idle", "pages test_young found idle"};
};

}  // namespace

void AccessTracking::vmm(Agent& a) {
  AccessTrackingStats s(env_->stats);
  HostMmNotifier& mmu_notifier = *env_->host.notifier();
  const uint64_t gfn0 = GuestLayout::kDataGpa >> kPageShift;
  const uint64_t pages = data_bytes() / kPageSize;
  const uint64_t chunk = std::max<uint64_t>(p_.mark_idle_bytes / kPageSize, 1);

  Cycles t = a.now();
  rendezvous_.vmm_wait_all(a);
  s.populate_cycles.set(a.now() - t);

  t = a.now();
  for (uint64_t p = 0; p < pages; p += chunk) {
    uint64_t n = std::min(chunk, pages - p);
    mmu_notifier.clear_flush_young(a, HostMm::hva_of(gfn0 + p), HostMm::hva_of(gfn0 + p + n));
  }
  s.mark_idle_cycles.set(a.now() - t);
  rendezvous_.vmm_release(a);

  t = a.now();
  rendezvous_.vmm_wait_all(a);
  s.access_cycles.set(a.now() - t);

  // Which pages the vCPUs read: every other page of each slice.
  std::vector<bool> read(pages, false);
  for (unsigned v = 0; v < p_.paging.vcpus; ++v) {
    uint64_t first = paging_.slice_offset(v) / kPageSize;
    for (uint64_t i = 0; i < p_.paging.mem_per_vcpu / kPageSize; i += 2) read[first + i] = true;
  }
  t = a.now();
  uint64_t young = 0, idle = 0, wrong = 0;
  for (uint64_t p = 0; p < pages; ++p) {
    bool y = mmu_notifier.test_young(a, HostMm::hva_of(gfn0 + p));
    (y ? young : idle)++;
    if (y != read[p]) ++wrong;
  }
  s.test_young_cycles.set(a.now() - t);
  s.young.set(young);
  s.idle.set(idle);
  if (wrong)
    env_->oracle.report("access_tracking_mismatch", a.now(), a.name(), GuestLayout::kDataGpa,
                        std::to_string(wrong) + " pages reported young/idle against what the "
                        "vCPUs did");
  rendezvous_.vmm_release(a);
}

}  // namespace mmusim
