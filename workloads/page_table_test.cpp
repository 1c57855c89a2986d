#include "workloads/page_table_test.hpp"

#include <string>

#include "sim/core/error.hpp"
#include "sim/hv/dirty_logging.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Accesses of the granule-sized UPDATE step: the write to the granule's first 4K page, then
// reads of the 4K pages of its second half.
uint64_t update_step(uint64_t page_size) { return 1 + page_size / kPageSize / 2; }

// One vCPU's stages in order, each ending with a sync point (the selftest's GUEST_SYNC).
class StagesStream : public OpStream {
 public:
  StagesStream(const PageTableTest& w, unsigned vcpu, uint64_t page_size)
      : w_(w), writer_(vcpu % 2 == 0), page_size_(page_size) {}
  bool next(Op& op) override {
    if (stage_ >= kPageTableStages) return false;
    const auto stage = PageTableStage(stage_);
    if (i_ == w_.accesses(stage)) {  // end of the stage: report to the VMM
      op.kind = Op::Kind::Sync;
      i_ = 0;
      ++stage_;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = access_of(stage, i_) ? Access::Write : Access::Read;
    op.gva = GuestLayout::kDataGva + w_.offset_of(stage, i_);
    ++i_;
    return true;
  }

 private:
  // Whether the i-th access of `stage` writes.
  bool access_of(PageTableStage stage, uint64_t i) const {
    switch (stage) {
      case PageTableStage::Create: return writer_;  // even vCPU ids write, odd ones read
      case PageTableStage::Update:
        return page_size_ == kPageSize || i % update_step(page_size_) == 0;
      default: return false;
    }
  }
  const PageTableTest& w_;
  bool writer_;
  uint64_t page_size_;
  unsigned stage_ = 0;
  uint64_t i_ = 0;
};

}  // namespace

PageTableTest::PageTableTest(const PageTableTestParams& p) : p_(p), rendezvous_(p.vcpus) {}

uint64_t PageTableTest::accesses(PageTableStage stage) const {
  const uint64_t granules = p_.region_bytes / p_.page_size;
  switch (stage) {
    case PageTableStage::Before: return 0;
    case PageTableStage::Create: return granules;
    case PageTableStage::Update:
      // Anonymous 4K backing: every page is written; larger backing: the block-breaking step.
      return p_.page_size == kPageSize ? granules : granules * update_step(p_.page_size);
    case PageTableStage::Adjust: return p_.region_bytes / kPageSize;
  }
  return 0;
}

uint64_t PageTableTest::offset_of(PageTableStage stage, uint64_t i) const {
  if (stage == PageTableStage::Create) return i * p_.page_size;
  if (stage == PageTableStage::Update && p_.page_size != kPageSize) {
    const uint64_t step = update_step(p_.page_size), k = i % step;
    const uint64_t granule = (i / step) * p_.page_size;
    return k == 0 ? granule : granule + p_.page_size / 2 + (k - 1) * kPageSize;
  }
  return i * kPageSize;
}

WorkSize PageTableTest::vcpu_work() const {
  uint64_t ops = 0;
  for (unsigned s = 0; s < kPageTableStages; ++s) ops += accesses(PageTableStage(s));
  return {ops * p_.vcpus, "accesses"};
}

void PageTableTest::attach(WorkloadEnv& env) {
  if (!capability<DirtyLogging>(env.mmu))
    throw UsageError(std::string("--workload page-table-test: --arch ") + mode_name(p_.arch) +
                     " does not model dirty logging, which its UPDATE stage needs");
  env_ = &env;
}

std::unique_ptr<OpStream> PageTableTest::vcpu_stream(unsigned vcpu) {
  return std::make_unique<StagesStream>(*this, vcpu, p_.page_size);
}

std::vector<HostThreadSpec> PageTableTest::host_threads() {
  return {{"page-table-test-vmm", [this](Agent& a) { vmm(a); }}};
}

namespace {

// One stage as the VMM sees it: its cycles, the stage-2 faults the vCPUs took in it, and the
// leaves mapping the region when it ended.
struct StageStats {
  StageStats(StatsGroup& g, const std::string& stage)
      : cycles{g, stage + "_cycles", "cycles from starting the " + stage + " stage until every vCPU finished it"},
        faults{g, stage + "_faults", "stage-2 faults the vCPUs took in the " + stage + " stage"},
        leaves_4k{g, stage + "_leaves_4k", "4K stage-2 leaves mapping the region after the " + stage + " stage"},
        leaves_block{g, stage + "_leaves_block",
                     "block (huge) stage-2 leaves mapping the region after the " + stage + " stage"} {}
  statistics::Value cycles, faults, leaves_4k, leaves_block;
};

struct PageTableTestStats : StatsGroup {
  explicit PageTableTestStats(Stats& s) : StatsGroup(s, "workload.page_table_test") {}
  StageStats create{*this, "create"}, update{*this, "update"}, adjust{*this, "adjust"};
  statistics::Value enable_cycles{*this, "enable_dirty_log_cycles",
                                  "cycles of enabling dirty logging before the update stage"};
  statistics::Value disable_cycles{*this, "disable_dirty_log_cycles",
                                   "cycles of disabling dirty logging before the adjust stage"};
};

}  // namespace

void PageTableTest::vmm(Agent& a) {
  PageTableTestStats s(env_->stats);
  DirtyLogging& log = *capability<DirtyLogging>(env_->mmu);
  const Counter* faults = env_->stats.find_counter("hv.fault.count");
  auto fault_count = [&] { return faults ? faults->value() : 0; };
  // One stage: every vCPU is let go, and the stage ends when the last one reports back.
  auto run_stage = [&](StageStats& st) {
    const Cycles t = a.now();
    const uint64_t f = fault_count();
    rendezvous_.vmm_release(a);
    rendezvous_.vmm_wait_all(a);
    st.cycles.set(a.now() - t);
    st.faults.set(fault_count() - f);
    // Functional count of the leaves over the region: the vCPUs wait at their sync points.
    uint64_t small = 0, block = 0;
    env_->mmu.visit_leaves([&](const Stage2Leaf& l) {
      if (l.gpa < GuestLayout::kDataGpa || l.gpa >= GuestLayout::kDataGpa + p_.region_bytes) return;
      ++(l.level == 1 ? small : block);
    });
    st.leaves_4k.set(small);
    st.leaves_block.set(block);
  };

  rendezvous_.vmm_wait_all(a);  // BEFORE: every vCPU has started
  run_stage(s.create);

  Cycles t = a.now();
  log.enable_dirty_log(a, GuestLayout::kDataGpa, p_.region_bytes);
  s.enable_cycles.set(a.now() - t);
  run_stage(s.update);

  t = a.now();
  log.disable_dirty_log(a);
  s.disable_cycles.set(a.now() - t);
  run_stage(s.adjust);
  rendezvous_.vmm_release(a);  // the selftest's host_quit: the vCPUs stop
}

}  // namespace mmusim
