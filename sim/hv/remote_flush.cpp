#include "sim/hv/remote_flush.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "sim/core/error.hpp"

namespace mmusim {

RemoteFlush::RemoteFlush(const RemoteFlushParams& p, Stats& stats, Timeline& timeline,
                         Violations& oracle, FillClock& fills)
    : p_(p), timeline_(timeline), oracle_(oracle), fills_(fills), env_(p.env, stats),
      strategy_(make_generic_flush_strategy(p.flush)),
      stats_(stats) {}

void RemoteFlush::note_zap(Addr gpa, uint64_t len) {
  if (oracle_.enabled()) zaps_.push_back({gpa, len, fills_.tick()});
}

void RemoteFlush::request_all(Agent& caller, int self, uint64_t bits) {
  auto ack = std::make_shared<FlushAck>();
  for (GuestCpu* v : env_.vcpus) {
    env_.make_request(caller, *v, bits);
    if (v->vcpu_id() != self) env_.kick(caller, *v, ack);
  }
  env_.wait_acks(caller, ack);
}

void RemoteFlush::flush_all(Agent& caller, int self) {
  FlushRequest req;
  req.self = self;
  run(caller, req);
}

void RemoteFlush::flush_current(Agent& caller, int self) {
  for (GuestCpu* v : env_.vcpus)
    if (v->vcpu_id() == self) env_.make_request(caller, *v, kReqTlbFlush);
}

void RemoteFlush::flush_range(Agent& caller, int self, Addr gpa, uint64_t len,
                              TlbiShape shape) {
  stats_.ranged_pages.inc(len / kPageSize);
  FlushRequest req;
  req.shape = shape;
  req.self = self;
  req.ranged = true;
  req.gpa = gpa;
  req.len = len;
  run(caller, req);
}

void RemoteFlush::run(Agent& caller, const FlushRequest& req) {
  if (!strategy_)
    throw UsageError(std::string("--flush: '") + mode_name(p_.flush) + "' is not available for --arch " + mode_name(p_.arch));
  stats_.flushes.inc();
  Cycles start = caller.now();
  // Zaps noted before this point are covered by this flush; later ones wait for the next.
  std::vector<Zap> covered;
  covered.swap(zaps_);
  if (arch_prepare_ && strategy_->tells_vcpus()) {
    caller.sync_for_access();  // host state the vCPUs read at their true time
    arch_prepare_();
  }
  strategy_->flush(caller, req, env_);
  caller.sync();
  Cycles end = caller.now();
  stats_.latency.sample(end - start);
  if (caller.track() >= 0) timeline_.span(caller.track(), "remote tlb flush", start, end);
  if (!covered.empty()) {
    zaps_done_.insert(zaps_done_.end(), covered.begin(), covered.end());
    mark_stale_after_flush();
  }
}

void RemoteFlush::mark_stale_after_flush() {
  // An entry of this VM whose vCPU has no pending flush request was flushed after the zap, or
  // must be newer than it: an older one still there is a translation the flush missed. The TLBs
  // are the pCPUs' (several of this VM's vCPUs, and other VMs', may share one): each is visited
  // once, and only this VM's entries are looked at.
  if (env_.vcpus.empty()) return;
  const unsigned vm = env_.vcpus.front()->vm_index();
  std::vector<bool> pending;
  std::vector<Tlb*> seen;
  for (GuestCpu* v : env_.vcpus) {
    const size_t id = size_t(v->vcpu_id());
    if (pending.size() <= id) pending.resize(id + 1, true);
    pending[id] = v->flush_pending();
  }
  auto mark = [&](TlbEntry& e) {
    if (e.vm != vm || e.vcpu >= pending.size() || pending[e.vcpu]) return;
    uint64_t size = uint64_t(1) << e.page_shift;
    for (const Zap& z : zaps_done_) {
      if (e.fill_seq < z.seq && e.gpa_base < z.gpa + z.len && z.gpa < e.gpa_base + size)
        e.stale = true;
    }
  };
  for (GuestCpu* v : env_.vcpus) {
    for (Tlb* t : {&v->tlb_l1(), &v->tlb_l2()}) {
      if (std::find(seen.begin(), seen.end(), t) != seen.end()) continue;
      seen.push_back(t);
      t->for_each(mark);
    }
  }
  zaps_done_.clear();
}

}  // namespace mmusim
