// The locked-boot workload (the locked-memslots series): how a VMM boots an arm64 guest from locked
// memory. Before any vCPU runs, the VMM thread creates one memslot over the guest's RAM
// (--mem-per-vcpu x --vcpus), locks it (pin + map stage 2 up front; --lock-writable), and only
// then writes the guest image (--image-size) into it through its own cacheable mapping. Then it
// starts the vCPUs; each one runs with its MMU off (as firmware and early kernel code do) and
// reads every line of the image non-cacheably. Whether the guest sees the image depends on the
// cache maintenance to the PoC that --cmo-policy performs; the stale-data oracle reports every
// line read older than what the VMM wrote. Needs --arch arm64.
//
// --relock-cycles N: after reading the image the vCPUs exit to the VMM (a guest sync point);
// the VMM unlocks the memslot (a migration starts), re-locks it (the migration is cancelled:
// the pending cache maintenance is set again), rewrites the image and lets the vCPUs issue
// KVM_RUN again; the first of them to get there performs the pending maintenance, and they all read
// the image again. N times.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/cpu/vmm_rendezvous.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

class LockedMemslots;

struct LockedBootParams {
  unsigned vcpus = 4;                   // vCPUs reading the image; the RAM is theirs together
  uint64_t mem_per_vcpu = 64ull << 20;  // the guest's RAM is this times vcpus
  uint64_t image_size = 256ull << 10;   // bytes of the guest image the VMM writes after locking
  bool lock_writable = true;            // lock the memslot writable (else read-only)
  unsigned relock_cycles = 0;           // unlock/re-lock cycles (cancelled migrations)
};

class LockedBoot : public Workload {
 public:
  explicit LockedBoot(const LockedBootParams& p);
  const char* name() const override { return "locked-boot"; }
  uint64_t data_bytes() const override { return ram_bytes_; }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  void publish(Stats& stats) override;
  VmmRendezvous* rendezvous() override { return &rendezvous_; }

 private:
  void vmm_boot(Agent& vmm);
  void write_image(Agent& vmm);  // through the VMM's cacheable mapping of guest memory
  LockedBootParams p_;
  uint64_t ram_bytes_ = 0;
  WorkloadEnv* env_ = nullptr;
  LockedMemslots* slots_ = nullptr;
  Cycles vcpus_started_at_ = 0;
  uint64_t image_lines_written_ = 0;
  VmmRendezvous rendezvous_;
  unsigned relocks_ = 0;
};

}  // namespace mmusim
