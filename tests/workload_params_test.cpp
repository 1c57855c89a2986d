// Workloads built from their own typed Params (no SimConfig): a tunable that used to be a
// constant in the workload (ebizzy's chunk slots, the stores a reused table page gets) takes
// effect when set, and the app/ builders carry the options into the nested Params.
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "app/params_workloads.hpp"
#include "app/progress_meter.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "workloads/ebizzy.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/guest_process.hpp"

namespace mmusim {
namespace {

std::vector<Op> drain(OpStream& s) {
  std::vector<Op> ops;
  Op op;
  while (s.next(op)) ops.push_back(op);
  return ops;
}

TEST(WorkloadParams, EbizzyCyclesOverItsSlots) {
  EbizzyParams p;
  p.vcpus = 2;
  p.iterations = 3;
  p.ebizzy_chunk = 8 << 10;
  p.slots = 2;  // not the default 4: the third record reuses the first chunk
  Ebizzy w(p);
  EXPECT_EQ(w.data_bytes(), 2u * 2 * (8 << 10));
  auto s = w.vcpu_stream(1);
  std::vector<Addr> freed;
  for (const Op& op : drain(*s))
    if (op.kind == Op::Kind::GuestShootdown) freed.push_back(op.gva);
  const Addr base = GuestLayout::kDataGva + 2 * (8 << 10);  // vCPU 1's first slot
  EXPECT_EQ(freed, (std::vector<Addr>{base, base + (8 << 10), base}));
}

TEST(WorkloadParams, ReusedTablePageGetsReuseStores) {
  X86PageFormat fmt(4);
  GuestProcessParams p;
  p.churn_proc_bytes = 2 << 20;  // one last-level table: root, PDPT, PD, PT
  p.churn_reuse_data = 1.0;      // every freed table page is reused as data
  p.reuse_stores = 6;            // not the default 4
  std::deque<uint64_t> free_tables;
  for (uint64_t g = 0x100; g < 0x108; ++g) free_tables.push_back(g);
  ChurnCounters n;
  std::deque<Op> q;
  GuestProcessOps ops(p, fmt, 0, 0, free_tables, n, q, 0);
  GuestProcess proc;
  ops.create(proc);
  q.clear();
  ops.teardown(proc);
  unsigned stores = 0;
  for (const Op& op : q)
    if (op.kind == Op::Kind::Access && op.access == Access::Write) ++stores;
  EXPECT_EQ(n.tables_reused_as_data, 4u);
  EXPECT_EQ(stores, 4u * 6);
}

TEST(WorkloadParams, BuildersCarryTheOptions) {
  SimConfig cfg;
  cfg.vcpus = 3;
  cfg.mem_per_vcpu = 8ull << 20;
  cfg.seed = 7;
  cfg.churn_reuse_data = 0.25;
  cfg.lat.guest_lock_spin = 55;
  cfg.arch = Arch::Arm64;
  const GuestPtChurnParams churn = guest_pt_churn_params(cfg);
  EXPECT_EQ(churn.process.churn_reuse_data, 0.25);
  EXPECT_EQ(churn.process.seed, 7u);
  const TraceWorkloadParams trace = trace_workload_params(cfg);
  EXPECT_EQ(trace.kernel.guest_lock_spin, 55u);
  EXPECT_EQ(trace.arch, Arch::Arm64);
  const KsmMergeParams ksm = ksm_merge_params(cfg);
  EXPECT_EQ(ksm.events.paging.vcpus, 3u);
  EXPECT_EQ(ksm.events.paging.mem_per_vcpu, 8ull << 20);
  EXPECT_EQ(ksm.write_fraction, 0.5);
}

// The guest kernel's latencies are written in SimConfig and in its own Params: one default each.
TEST(WorkloadParams, GuestKernelLatencyDefaultsAreItsOwn) {
  const SimConfig cfg;
  const GuestKernelParams g = guest_kernel_params(cfg), own;
  EXPECT_EQ(g.guest_fault_work, own.guest_fault_work);
  EXPECT_EQ(g.guest_clear_page, own.guest_clear_page);
  EXPECT_EQ(g.guest_lock_spin, own.guest_lock_spin);
}

// The clock that turns cycles into seconds is written in SimConfig and in the Params of the
// two components that report seconds: the defaults must be one clock.
TEST(WorkloadParams, ClockDefaultIsOneClock) {
  const SimConfig cfg;
  EXPECT_EQ(ebizzy_params(cfg).clock_ghz, EbizzyParams{}.clock_ghz);
  EXPECT_EQ(cfg.clock_ghz, EbizzyParams{}.clock_ghz);
  EXPECT_EQ(progress_params(cfg).clock_ghz, ProgressParams{}.clock_ghz);
}

}  // namespace
}  // namespace mmusim
