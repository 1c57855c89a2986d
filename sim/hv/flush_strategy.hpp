// How a "drop these translations from every vCPU" request is carried out. RemoteFlush (the
// front end the MMU code calls) keeps the statistics and the stale-translation oracle; a
// FlushStrategy does the work: requests and IPIs, ranged invalidations, broadcast TLBI, ...
// A strategy returns only when no vCPU can use an affected translation any more (or, for a
// deliberately unsafe one, when it pretends so).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/hv/guest_cpu.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// How a broadcast-TLBI strategy invalidates a ranged request (other strategies ignore it):
// per-page (one TLBI by IPA per page, or the whole VMID above a threshold), one-leaf (the range
// is one stage-2 leaf: one TLBI by IPA with its level), or range (TLBI range instructions).
enum class TlbiShape { PerPage, OneLeaf, Range };

struct FlushRequest {
  int self = -1;        // calling vCPU (-1: a host thread); it needs no IPI
  bool ranged = false;  // the caller knows the range below
  Addr gpa = 0;
  uint64_t len = 0;
  TlbiShape shape = TlbiShape::PerPage;
};

// What the flush building blocks are built from (part of RemoteFlushParams).
struct FlushEnvParams {
  Cycles ipi = 3120;  // IPI send to delivery at the target
};

// What every strategy may use: the vCPUs and the two KVM building blocks.
class FlushEnv {
 public:
  FlushEnv(const FlushEnvParams& p, Stats& stats)
      : stats(stats), p_(p),
        ipis_(StatsGroup(stats), "hv.ipi.count", "IPIs sent to vCPUs for remote TLB flushes") {}
  Stats& stats;  // for a strategy's own counters
  std::vector<GuestCpu*> vcpus;
  // kvm_make_request: atomically OR `bits` into the vCPU's request word.
  void make_request(Agent& caller, GuestCpu& v, uint64_t bits);
  // kvm_vcpu_exiting_guest_mode + IPI: if the vCPU is in guest mode, move it to EXITING and
  // send it an IPI that `ack` waits for. Returns whether an IPI was sent.
  bool kick(Agent& caller, GuestCpu& v, const std::shared_ptr<FlushAck>& ack);
  // Waits until every IPI sent with `ack` has been acknowledged.
  void wait_acks(Agent& caller, const std::shared_ptr<FlushAck>& ack);

 private:
  const FlushEnvParams p_;
  statistics::Counter ipis_;
};

class FlushStrategy {
 public:
  virtual ~FlushStrategy() = default;
  virtual const char* name() const = 0;
  virtual void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) = 0;
  // Whether the guest is offered paravirtual TLB flush (KVM_FEATURE_PV_TLB_FLUSH): its own
  // shootdowns then skip the IPI to a preempted vCPU and ask the host to flush it on entry.
  virtual bool paravirt_guest_flush() const { return false; }
  // Whether it asks the vCPUs at all (unsafe-skip does not, nor the arch's preparation).
  virtual bool tells_vcpus() const { return true; }
};

// The arch-neutral strategies by --flush name (ipi-all, targeted, ranged, pv, unsafe-skip);
// nullptr if unknown.
std::unique_ptr<FlushStrategy> make_generic_flush_strategy(FlushKind kind);

}  // namespace mmusim
