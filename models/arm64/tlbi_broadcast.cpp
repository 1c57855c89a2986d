#include "models/arm64/tlbi_broadcast.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace mmusim {

uint64_t range_tlbi_ops(uint64_t pages) {
  uint64_t ops = pages & 1;
  const uint64_t pairs = pages >> 1;
  for (unsigned scale = 0; scale < 4; ++scale) {
    const uint64_t digit = pairs >> (5 * scale);
    if ((scale == 3 ? digit : digit & 31) != 0) ++ops;
  }
  return ops;
}

BroadcastTlbi::BroadcastTlbi(const BroadcastTlbiParams& p, DvmChannel& dvm, Stats& stats)
    : p_(p), dvm_(dvm), stats_(stats) {}

void BroadcastTlbi::flush(Agent& caller, const FlushRequest& req, FlushEnv& env) {
  const uint64_t pages = req.ranged ? (req.len + kPageSize - 1) / kPageSize : 0;
  // Each ranged form ends with a VMALLE1IS for the combined stage-1+2 entries.
  uint64_t msgs = 1;
  if (!req.ranged || (req.shape == TlbiShape::PerPage && pages > p_.tlbi_range_threshold)) {
    stats_.full_vmid.inc();  // one VMALLS12E1IS
  } else if (req.shape == TlbiShape::OneLeaf) {
    stats_.by_ipa.inc();
    msgs = 2;
  } else if (req.shape == TlbiShape::Range) {
    const uint64_t ops = range_tlbi_ops(pages);
    stats_.by_range.inc(ops);
    msgs = ops + 1;
  } else {
    stats_.by_ipa.inc(pages);
    msgs = pages + 1;
  }
  stats_.ops.inc(msgs);

  // The messages leave at the caller's true time and queue on the shared DVM channel.
  caller.sync();
  const Cycles now = caller.now();
  const Cycles start = dvm_.book(now, msgs * p_.tlbi_op);
  const Cycles delivered = start + msgs * p_.tlbi_op;
  stats_.dvm_wait.sample(start - now);
  caller.wait_cycles(delivered - now);

  // Delivered: every core drops the VMID's combined entries and its walk caches. (TLBs are
  // the pCPUs': each is visited once, and loses only this VMID's entries; the IPAS2E1IS part of
  // a ranged flush only matters for stage-2-only entries, which the model keeps in the walk
  // caches.)
  // A vCPU's tag is refreshed at its entries, so two vCPUs of the VM on one pCPU may hold
  // different ones (one not run yet, one descheduled across a VMID rollover): each distinct
  // (core, tag) pair is flushed once, so the entries of whichever vCPU ran there go.
  std::vector<std::pair<const Tlb*, uint16_t>> seen;
  for (GuestCpu* v : env.vcpus) {
    const std::pair<const Tlb*, uint16_t> key{&v->tlb_l1(), v->tlb_tag()};
    if (std::find(seen.begin(), seen.end(), key) == seen.end()) {
      seen.push_back(key);
      stats_.removed.inc(v->tlb_l1().flush_tag(key.second) + v->tlb_l2().flush_tag(key.second));
    }
    v->flush_walk_caches();
  }
  // DSB ISH: the barrier's sync reaches the cores (--lat-tlbi-dsb, in parallel); then every
  // core that may hold entries of the VMID -- each that ran one of its vCPUs -- answers with
  // a completion message on the same DVM channel, one after the other. The DSB completes with
  // the last answer, so its wait grows with the cores and with other flushers' traffic.
  const Cycles sync_done = delivered + p_.tlbi_dsb;
  // One answer per core: the pCPUs (their TLBs) that ran a vCPU of the VM.
  uint64_t acks = 0;
  std::vector<const Tlb*> cores;
  for (GuestCpu* v : env.vcpus) {
    if (!v->ran_guest()) continue;
    if (std::find(cores.begin(), cores.end(), &v->tlb_l1()) != cores.end()) continue;
    cores.push_back(&v->tlb_l1());
    dvm_.book(sync_done, p_.tlbi_op);
    ++acks;
  }
  // Complete once the sync has reached the cores and the channel has carried what was booked
  // on it until now: the answers, behind any other flusher's traffic.
  const Cycles done = dvm_.book(sync_done, 0);
  stats_.acks.inc(acks);
  stats_.dsb_wait.sample(done - delivered);
  caller.wait_cycles(done - delivered);
}

}  // namespace mmusim
