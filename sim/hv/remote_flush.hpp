// The front end of remote TLB flushes (kvm_flush_remote_tlbs and its ranged variant): the MMU
// code calls it; the configured FlushStrategy (sim/hv/flush_strategy.hpp, --flush) does the
// work -- with ipi-all, KVM_REQ_TLB_FLUSH to every vCPU, an IPI to those in guest mode and a wait
// for every acknowledgement. All of it is simulated memory traffic, IPI delivery latency and
// waiting, so the cost of a flush emerges.
//
// Stale-translation oracle: the MMU code reports every removed or downgraded translation with
// note_zap() before flushing. When the flush completes, any TLB entry still held by a vCPU with
// no flush pending that covers a noted range and was filled before the zap is marked stale; a
// later hit on it is a check violation.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/flush_strategy.hpp"
#include "sim/hv/guest_cpu.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// Global order in which TLB entries are filled and zaps are noted.
class FillClock {
 public:
  uint64_t tick() { return ++seq_; }
  uint64_t now() const { return seq_; }

 private:
  uint64_t seq_ = 0;
};

// What the remote-flush front end is built from (app/params_hardware.cpp fills it).
struct RemoteFlushParams {
  FlushKind flush = FlushKind::IpiAll;  // the arch-neutral strategy built at first
  Arch arch = Arch::X86;                // named when no strategy is available for --flush
  FlushEnvParams env;                   // the building blocks' latencies
};

class RemoteFlush {
 public:
  RemoteFlush(const RemoteFlushParams& p, Stats& stats, Timeline& timeline, Violations& oracle,
              FillClock& fills);
  void add_vcpu(GuestCpu* v) { env_.vcpus.push_back(v); }
  // Replaces the strategy (an arch supplying one of its own, e.g. arm64's broadcast TLBI).
  void set_strategy(std::unique_ptr<FlushStrategy> s) { strategy_ = std::move(s); }
  bool has_strategy() const { return strategy_ != nullptr; }
  // kvm_arch_flush_remote_tlbs: what the arch does before the vCPUs are asked (MIPS VZ without
  // GuestIDs marks the VM's root ASID stale on every pCPU: sim/hv/tlb_tags.hpp).
  void set_arch_prepare(std::function<void()> f) { arch_prepare_ = std::move(f); }
  const FlushStrategy& strategy() const { return *strategy_; }
  const std::vector<GuestCpu*>& vcpus() const { return env_.vcpus; }

  // The translation of [gpa, gpa + len) was removed or downgraded at this point.
  void note_zap(Addr gpa, uint64_t len);
  // Flush every vCPU's translations of this VM; returns when all have acknowledged.
  // `self` is the calling vCPU (-1 for a host thread): it gets the request but no IPI.
  void flush_all(Agent& caller, int self);
  // kvm_make_all_cpus_request: set `bits` in every vCPU's request word, IPI those in guest
  // mode (except `self`), wait for every acknowledgement. Used for requests other than the
  // TLB flush (e.g. KVM_REQ_MMU_RELOAD).
  void request_all(Agent& caller, int self, uint64_t bits);
  // kvm_make_request(KVM_REQ_TLB_FLUSH_CURRENT): only vCPU `self` flushes its TLB, before it
  // next enters the guest; no IPI, no wait. Zaps noted so far stay for the next remote flush.
  void flush_current(Agent& caller, int self);
  // kvm_flush_remote_tlbs_with_address: the strategy may use the range (and `shape`).
  void flush_range(Agent& caller, int self, Addr gpa, uint64_t len,
                   TlbiShape shape = TlbiShape::PerPage);

 private:
  void run(Agent& caller, const FlushRequest& req);
  void mark_stale_after_flush();
  const RemoteFlushParams p_;
  Timeline& timeline_;
  Violations& oracle_;
  FillClock& fills_;
  FlushEnv env_;
  std::unique_ptr<FlushStrategy> strategy_;
  std::function<void()> arch_prepare_;
  struct Zap {
    Addr gpa;
    uint64_t len;
    uint64_t seq;
  };
  std::vector<Zap> zaps_;       // noted since the last flush started
  std::vector<Zap> zaps_done_;  // covered by the flush that just completed
  struct RemoteFlushStats : StatsGroup {
    explicit RemoteFlushStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter flushes{*this, "hv.flush.count",
                                "remote TLB flushes (kvm_flush_remote_tlbs and ranged variants)"};
    statistics::Counter ranged_pages{*this, "hv.flush.ranged_pages",
                                     "guest pages named by ranged remote flushes"};
    statistics::Histogram latency{*this, "hv.flush.latency",
        "cycles from a remote flush request until every vCPU acknowledged it"};
  } stats_;
};

}  // namespace mmusim
