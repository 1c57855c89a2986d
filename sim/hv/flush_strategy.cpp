#include "sim/hv/flush_strategy.hpp"

#include <optional>

namespace mmusim {

void FlushEnv::make_request(Agent& caller, GuestCpu& v, uint64_t bits) {
  // set_bit is a locked OR; modelled as a cmpxchg loop on the request word.
  uint64_t old = caller.load(v.request_word());
  while (true) {
    uint64_t seen = caller.cmpxchg(v.request_word(), old, old | bits);
    if (seen == old) return;
    old = seen;
  }
}

bool FlushEnv::kick(Agent& caller, GuestCpu& v, const std::shared_ptr<FlushAck>& ack) {
  uint64_t mode = caller.cmpxchg(v.mode_word(), kInGuestMode, kExitingGuestMode);
  if (mode != kInGuestMode) return false;
  ack->pending++;
  ipis_.inc();
  // send_ipi times the IPI from the kernel's clock: bring that to the caller's true time.
  caller.catch_up();
  v.send_ipi(p_.ipi, ack);
  return true;
}

void FlushEnv::wait_acks(Agent& caller, const std::shared_ptr<FlushAck>& ack) {
  caller.sync();  // at true time first: an ack landing during the sync must not be missed
  while (ack->pending > 0) caller.wait_event(ack->done, "remote TLB flush acknowledgements");
}

namespace {

// kvm_flush_remote_tlbs: KVM_REQ_TLB_FLUSH to every vCPU, an IPI to those in guest mode, wait
// for every acknowledgement. Those outside guest mode flush before they next enter.
class IpiAll : public FlushStrategy {
 public:
  const char* name() const override { return "ipi-all"; }
  void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) override {
    auto ack = std::make_shared<FlushAck>();
    for (GuestCpu* v : env.vcpus) {
      env.make_request(caller, *v, kReqTlbFlush);
      if (v->vcpu_id() != req.self) env.kick(caller, *v, ack);
    }
    env.wait_acks(caller, ack);
  }
};

// Only vCPUs that may hold translations of this VM since their last full flush: each vCPU
// publishes a "TLB used" word before the first page walk after a flush and clears it when it
// flushes (Vcpu::note_tlb_use / process_requests). Because the word is set before the walk reads
// any table, a vCPU whose walk saw the entry this flush covers set its word before the zap, so
// a flusher that reads the word after the zap cannot miss it. KVM does not track this per vCPU
// on x86 with EPT (it requests every vCPU); it is the idea of its per-pCPU "ran this VM" masks
// (arm64 last_vcpu_ran, SVM ASID generations), made exact per vCPU.
class Targeted : public FlushStrategy {
 public:
  const char* name() const override { return "targeted"; }
  void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) override {
    // Registered with the first flush, so runs that never flush do not list it.
    if (!skipped_)
      skipped_.emplace(StatsGroup(env.stats), "hv.flush.targeted_skipped",
                       "vCPUs a targeted flush skipped (no TLB use since their last flush)");
    statistics::Counter& skipped = *skipped_;
    auto ack = std::make_shared<FlushAck>();
    for (GuestCpu* v : env.vcpus) {
      if (caller.load(v->flush_words().tlb_used) == 0) {
        skipped.inc();
        continue;
      }
      env.make_request(caller, *v, kReqTlbFlush);
      if (v->vcpu_id() != req.self) env.kick(caller, *v, ack);
    }
    env.wait_acks(caller, ack);
  }

 private:
  std::optional<statistics::Counter> skipped_;
};

// kvm_flush_remote_tlbs_with_address with a per-address invalidation: when the caller knows the
// range, each vCPU is asked to drop only the entries whose guest-physical page overlaps it
// (as Hyper-V's enlightened flush of a GPA list does); otherwise a full flush as ipi-all.
// Several ranged flushes may meet before a vCPU looks at its requests: the range words only
// ever widen (min of first, max of last), and are widened before the request bit is set, so
// the vCPU, which takes the request bits before the range, never drops a range it was asked
// to flush (at worst it flushes a range twice).
class Ranged : public FlushStrategy {
 public:
  const char* name() const override { return "ranged"; }
  void flush(Agent& caller, const FlushRequest& req, FlushEnv& env) override {
    auto ack = std::make_shared<FlushAck>();
    const bool ranged = req.ranged && req.len != 0;
    for (GuestCpu* v : env.vcpus) {
      if (ranged) {
        const VcpuFlushWords& w = v->flush_words();
        widen(caller, w.range_first, req.gpa, true);
        widen(caller, w.range_last, req.gpa + req.len - 1, false);
      }
      env.make_request(caller, *v, ranged ? kReqTlbFlushRange : kReqTlbFlush);
      if (v->vcpu_id() != req.self) env.kick(caller, *v, ack);
    }
    env.wait_acks(caller, ack);
  }

 private:
  // Atomically lowers (or raises) the word to `value` when that widens it.
  static void widen(Agent& caller, Addr word, uint64_t value, bool lower) {
    uint64_t old = caller.load(word);
    while (lower ? value < old : value > old) {
      uint64_t seen = caller.cmpxchg(word, old, value);
      if (seen == old) return;
      old = seen;
    }
  }
};

// The host side of KVM_FEATURE_PV_TLB_FLUSH is kvm_flush_remote_tlbs as in ipi-all (a
// preempted vCPU is outside guest mode and gets the request without an IPI anyway). What the
// feature changes is the guest's own shootdowns (Vcpu::guest_shootdown): a preempted target is
// flagged in its steal-time word instead of being sent an IPI and waited for.
class Paravirt : public IpiAll {
 public:
  const char* name() const override { return "pv"; }
  bool paravirt_guest_flush() const override { return true; }
};

// Wrong on purpose: reports the flush done without telling any vCPU. Exists to show that the
// stale-translation oracle catches a strategy that forgets vCPUs.
class UnsafeSkip : public FlushStrategy {
 public:
  const char* name() const override { return "unsafe-skip"; }
  void flush(Agent&, const FlushRequest&, FlushEnv&) override {}
  bool tells_vcpus() const override { return false; }
};

}  // namespace

std::unique_ptr<FlushStrategy> make_generic_flush_strategy(FlushKind kind) {
  switch (kind) {
    case FlushKind::IpiAll: return std::make_unique<IpiAll>();
    case FlushKind::Targeted: return std::make_unique<Targeted>();
    case FlushKind::Ranged: return std::make_unique<Ranged>();
    case FlushKind::Pv: return std::make_unique<Paravirt>();
    case FlushKind::UnsafeSkip: return std::make_unique<UnsafeSkip>();
    case FlushKind::Broadcast: break;  // an arch's own (ArchModel::make_flush_strategy)
  }
  return nullptr;
}

}  // namespace mmusim
