#include "sim/hv/remote_flush.hpp"

#include <memory>

namespace mmusim {

RemoteFlush::RemoteFlush(const SimConfig& cfg, Stats& stats, Timeline& timeline,
                         Violations& oracle, FillClock& fills)
    : cfg_(cfg), timeline_(timeline), oracle_(oracle), fills_(fills),
      flushes_(stats.counter("hv.flush.count")),
      ipis_(stats.counter("hv.ipi.count")),
      ranged_pages_(stats.counter("hv.flush.ranged_pages")),
      latency_(stats.histogram("hv.flush.latency")) {}

void RemoteFlush::note_zap(Addr gpa, uint64_t len) {
  if (oracle_.enabled()) zaps_.push_back({gpa, len, fills_.tick()});
}

void RemoteFlush::flush_range(Agent& caller, int self, Addr /*gpa*/, uint64_t len) {
  ranged_pages_.inc(len / kPageSize);
  flush_all(caller, self);
}

void RemoteFlush::flush_all(Agent& caller, int self) {
  flushes_.inc();
  Cycles start = caller.now();
  // Zaps noted before this point are covered by this flush; later ones wait for the next.
  std::vector<Zap> covered;
  covered.swap(zaps_);

  auto ack = std::make_shared<FlushAck>();
  // unsafe-skip: the flush is reported done without asking any vCPU to flush.
  const bool skip = cfg_.flush == "unsafe-skip";
  for (GuestCpu* v : skip ? std::vector<GuestCpu*>{} : vcpus_) {
    // kvm_make_request: atomically set the bit (lock or, modelled as a cmpxchg loop).
    uint64_t old = caller.load(v->request_word());
    while (true) {
      uint64_t seen = caller.cmpxchg(v->request_word(), old, old | kReqTlbFlush);
      if (seen == old) break;
      old = seen;
    }
    if (v->vcpu_id() == self) continue;
    // kvm_vcpu_exiting_guest_mode: only a vCPU that was in guest mode needs the IPI.
    uint64_t mode = caller.cmpxchg(v->mode_word(), kInGuestMode, kExitingGuestMode);
    if (mode == kInGuestMode) {
      ack->pending++;
      ipis_.inc();
      v->send_ipi(cfg_.lat.ipi, ack);
    }
  }
  caller.sync();  // at true time first: an ack landing during the sync must not be missed
  while (ack->pending > 0) caller.wait_event(ack->done, "remote TLB flush acknowledgements");
  Cycles end = caller.now();
  latency_.sample(end - start);
  if (caller.track() >= 0) timeline_.span(caller.track(), "remote tlb flush", start, end);

  if (!covered.empty()) {
    zaps_done_.insert(zaps_done_.end(), covered.begin(), covered.end());
    mark_stale_after_flush();
  }
}

void RemoteFlush::mark_stale_after_flush() {
  // Any vCPU without a pending flush request already flushed after the zap, or must hold no
  // older entry for the range: an older one still there is a translation the flush missed.
  for (GuestCpu* v : vcpus_) {
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
