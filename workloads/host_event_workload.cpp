#include "workloads/host_event_workload.hpp"

#include "sim/core/error.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/cpu/op.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Each pass touches every page of the slice in order; each access is a write with the
// workload's probability, drawn from the vCPU's own random stream.
class MixedPassStream : public OpStream {
 public:
  MixedPassStream(uint64_t base, uint64_t pages, unsigned passes, double write_fraction,
                  uint64_t seed, unsigned vcpu)
      : base_(base), pages_(pages), passes_(passes), write_fraction_(write_fraction),
        rng_(seed, 0x5eed0000u + vcpu) {}
  bool next(Op& op) override {
    if (pass_ >= passes_ || pages_ == 0) return false;
    op.kind = Op::Kind::Access;
    // The first pass writes everything, so each page is backed and dirty before events start.
    op.access = (pass_ == 0 || rng_.uniform() < write_fraction_) ? Access::Write : Access::Read;
    op.gva = GuestLayout::kDataGva + base_ + i_ * kPageSize;
    if (++i_ == pages_) {
      i_ = 0;
      ++pass_;
    }
    return true;
  }

 private:
  uint64_t base_, pages_;
  unsigned passes_;
  double write_fraction_;
  Rng rng_;
  uint64_t i_ = 0;
  unsigned pass_ = 0;
};

}  // namespace

HostEventWorkload::HostEventWorkload(const HostEventWorkloadParams& p, double write_fraction)
    : p_(p), paging_(p.paging), write_fraction_(write_fraction) {}

void HostEventWorkload::attach(WorkloadEnv& env) {
  if (!capability<NotifierCallbacks>(env.mmu))
    throw UsageError("--workload " + std::string(name()) +
                     ": host memory events need KVM's MMU notifiers, modelled for --arch x86, arm64 "
                     "and mips");
  env_ = &env;
}

std::unique_ptr<OpStream> HostEventWorkload::vcpu_stream(unsigned vcpu) {
  return std::make_unique<MixedPassStream>(paging_.slice_offset(vcpu),
                                           p_.paging.mem_per_vcpu / kPageSize, p_.event_passes,
                                           write_fraction_, p_.seed, vcpu);
}

std::vector<HostThreadSpec> HostEventWorkload::host_threads() {
  return {HostThreadSpec{"mm", [this](Agent& a) { host_main(a); }}};
}

void HostEventWorkload::host_main(Agent& a) {
  Rng rng(p_.seed, 0x4057u);
  const uint64_t pages = data_bytes() / kPageSize;
  const uint64_t batch = std::min<uint64_t>(p_.host_event_pages, pages);
  for (unsigned k = 0; k < p_.host_events; ++k) {
    a.wait_cycles(p_.host_event_interval);
    ++events_;
    begin_event(a);
    const uint64_t first = rng.below(pages - batch + 1);
    const uint64_t done = event_on_range(a, (GuestLayout::kDataGpa >> kPageShift) + first, batch);
    pages_done_ += done;
    pages_skipped_ += batch - done;
  }
}

uint64_t HostEventWorkload::event_on_range(Agent& a, uint64_t gfn, uint64_t count) {
  uint64_t done = 0;
  for (uint64_t g = gfn; g < gfn + count; ++g)
    if (event_on_page(a, g)) ++done;
  return done;
}

void HostEventWorkload::publish(Stats& stats) {
  struct EventStats : StatsGroup {
    EventStats(Stats& s, const std::string& prefix) : StatsGroup(s, prefix) {}
    statistics::Counter events{*this, "events", "host events the workload raised"};
    statistics::Counter pages{*this, "pages", "pages the host events acted on"};
    statistics::Counter pages_skipped{*this, "pages_skipped",
                                      "pages the host events skipped (not backed)"};
  } st(stats, stat_prefix());
  st.events.set(events_);
  st.pages.set(pages_done_);
  st.pages_skipped.set(pages_skipped_);
}

}  // namespace mmusim
