#include "sim/hv/flush_strategy.hpp"

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
  v.send_ipi(cfg.lat.ipi, ack);
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

// Wrong on purpose: reports the flush done without telling any vCPU. Exists to show that the
// stale-translation oracle catches a strategy that forgets vCPUs.
class UnsafeSkip : public FlushStrategy {
 public:
  const char* name() const override { return "unsafe-skip"; }
  void flush(Agent&, const FlushRequest&, FlushEnv&) override {}
};

}  // namespace

std::unique_ptr<FlushStrategy> make_generic_flush_strategy(const std::string& name) {
  if (name == "ipi-all") return std::make_unique<IpiAll>();
  if (name == "unsafe-skip") return std::make_unique<UnsafeSkip>();
  return nullptr;
}

}  // namespace mmusim
