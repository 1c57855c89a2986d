// The page-table-test workload, shaped like KVM's kvm_page_table_test selftest: one region of
// --mem-per-vcpu bytes that every vCPU touches as a whole (the selftest's -b), in four stages
// the VMM thread starts and waits for (the selftest's two semaphores: a vCPU runs one stage,
// reaches its sync point, and waits for the next):
//   BEFORE  the vCPUs only report in;
//   CREATE  one access to the first byte of every mapping granule (--page-size): even vCPUs
//           write, odd vCPUs read, so the stage-2 mappings are created concurrently;
//   UPDATE  with dirty logging enabled just before: at 4K, a write to every page; with larger
//           pages, a write to the first 4K page of each granule (breaking the block) and reads
//           of the 4K pages of its second half (mapped at 4K while logging);
//   ADJUST  with dirty logging disabled just before: a read of every 4K page, where KVM may
//           map blocks again over the ranges still unmapped.
// The VMM thread times each stage, and the logging toggles, in simulated cycles
// ("workload.page_table_test.*"), and records the stage-2 faults each stage took and the
// leaves (4K and block) mapping the region after it (README.md, Workloads).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/cpu/vmm_rendezvous.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct PageTableTestParams {
  unsigned vcpus = 1;                  // every vCPU touches the whole region
  uint64_t region_bytes = 1ull << 30;  // the one shared region (the selftest's -b)
  uint64_t page_size = 4096;           // backing and stage-2 mapping size (the selftest's -s)
  Arch arch = Arch::X86;               // named when the arch models no dirty logging
};

// The selftest's stages, in the order the VMM runs them.
enum class PageTableStage { Before, Create, Update, Adjust };
constexpr unsigned kPageTableStages = 4;

class PageTableTest : public Workload {
 public:
  explicit PageTableTest(const PageTableTestParams& p);
  const char* name() const override { return "page-table-test"; }
  uint64_t data_bytes() const override { return p_.region_bytes; }
  void attach(WorkloadEnv& env) override;
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  std::vector<HostThreadSpec> host_threads() override;
  VmmRendezvous* rendezvous() override { return &rendezvous_; }
  WorkSize vcpu_work() const override;

  // The accesses one vCPU makes in `stage`, and the i-th of them (offset in the region).
  uint64_t accesses(PageTableStage stage) const;
  uint64_t offset_of(PageTableStage stage, uint64_t i) const;

 private:
  void vmm(Agent& a);
  PageTableTestParams p_;
  VmmRendezvous rendezvous_;
  WorkloadEnv* env_ = nullptr;
};

}  // namespace mmusim
