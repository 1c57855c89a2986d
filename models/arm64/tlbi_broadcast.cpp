#include "models/arm64/tlbi_broadcast.hpp"

#include <algorithm>

namespace mmusim {

BroadcastTlbi::BroadcastTlbi(const BroadcastTlbiParams& p, Stats& stats)
    : p_(p), stats_(stats) {}

void BroadcastTlbi::flush(Agent& caller, const FlushRequest& req, FlushEnv& env) {
  const uint64_t pages = req.ranged ? (req.len + kPageSize - 1) / kPageSize : 0;
  const bool full = !req.ranged || pages > p_.tlbi_range_threshold;
  // By IPA: one TLBI per page plus the VMALLE1IS for combined entries; else one VMALLS12E1IS.
  const uint64_t msgs = full ? 1 : pages + 1;
  if (full) stats_.full_vmid.inc(); else stats_.by_ipa.inc(pages);
  stats_.ops.inc(msgs);

  // The messages leave at the caller's true time and queue on the shared DVM channel.
  caller.sync();
  const Cycles now = caller.now();
  const Cycles start = std::max(now, dvm_busy_until_);
  const Cycles delivered = start + msgs * p_.tlbi_op;
  dvm_busy_until_ = delivered;
  stats_.dvm_wait.sample(start - now);
  caller.wait_cycles(delivered - now);

  // Delivered: every core drops the VMID's combined entries and its walk caches. (Each vCPU
  // runs one VM here, so the VMID is the whole TLB; the IPAS2E1IS part of a ranged flush only
  // matters for stage-2-only entries, which the model keeps in the walk caches.)
  for (GuestCpu* v : env.vcpus) {
    stats_.removed.inc(v->tlb_l1().flush_all() + v->tlb_l2().flush_all());
    v->flush_walk_caches();
  }
  // DSB ISH: the barrier's sync reaches the cores (--lat-tlbi-dsb, in parallel); then every
  // core that may hold entries of the VMID -- each that ran one of its vCPUs -- answers with
  // a completion message on the same DVM channel, one after the other. The DSB completes with
  // the last answer, so its wait grows with the cores and with other flushers' traffic.
  const Cycles sync_done = delivered + p_.tlbi_dsb;
  uint64_t acks = 0;
  for (GuestCpu* v : env.vcpus) {
    if (!v->ran_guest()) continue;
    dvm_busy_until_ = std::max(dvm_busy_until_, sync_done) + p_.tlbi_op;
    ++acks;
  }
  dvm_busy_until_ = std::max(dvm_busy_until_, sync_done);
  stats_.acks.inc(acks);
  stats_.dsb_wait.sample(dvm_busy_until_ - delivered);
  caller.wait_cycles(dvm_busy_until_ - delivered);
}

}  // namespace mmusim
