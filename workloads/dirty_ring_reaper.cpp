#include "workloads/dirty_ring_reaper.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

DirtyRingReaper::DirtyRingReaper(Stats& stats, DirtyLogging& kvm, unsigned vcpus)
    : stats_(stats), kvm_(kvm), fetch_(vcpus, 0) {}

void DirtyRingReaper::collect(Agent& a, std::vector<uint64_t>& log) {
  Cycles t = a.now();
  for (unsigned v = 0; v < fetch_.size(); ++v) {
    const DirtyRingView ring = kvm_.dirty_ring(v);
    for (;;) {
      const Addr e = ring.gfns + (fetch_[v] & (ring.entries - 1)) * kDirtyGfnBytes;
      const uint64_t word = a.load(e);  // the flags (and the slot), read first
      if (!(word & kDirtyGfnDirty)) break;
      const uint64_t page = a.load(e + 8);
      if (page / 64 >= log.size()) throw ModelError("dirty ring entry beyond the logged slot");
      log[page / 64] |= uint64_t(1) << (page % 64);
      a.store(e, (word & ~(kDirtyGfnDirty | kDirtyGfnReset)) | kDirtyGfnReset);
      ++fetch_[v];
      stats_.harvested.inc();
    }
  }
  stats_.harvest_cycles.sample(a.now() - t);
  t = a.now();
  kvm_.reset_dirty_rings(a);
  stats_.reset_cycles.sample(a.now() - t);
}

}  // namespace mmusim
