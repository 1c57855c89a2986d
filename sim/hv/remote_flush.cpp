#include "sim/hv/remote_flush.hpp"

#include <memory>

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
  // Any vCPU without a pending flush request already flushed after the zap, or must hold no
  // older entry for the range: an older one still there is a translation the flush missed.
  for (GuestCpu* v : env_.vcpus) {
    if (v->flush_pending()) continue;
    auto mark = [&](TlbEntry& e) {
      uint64_t size = uint64_t(1) << e.page_shift;
      for (const Zap& z : zaps_done_) {
        if (e.fill_seq < z.seq && e.gpa_base < z.gpa + z.len && z.gpa < e.gpa_base + size)
          e.stale = true;
      }
    };
    v->tlb_l1().for_each(mark);
    v->tlb_l2().for_each(mark);
  }
  zaps_done_.clear();
}

}  // namespace mmusim
