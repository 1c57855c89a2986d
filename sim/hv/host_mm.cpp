#include "sim/hv/host_mm.hpp"

#include "sim/core/error.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

namespace {
constexpr unsigned kLevelBits = 9;
uint64_t pages_in_level(unsigned level) { return uint64_t(1) << (kLevelBits * (level - 1)); }
}  // namespace

HostMm::HostMm(const SimConfig& cfg, Stats& stats, unsigned default_backing_level)
    : cfg_(cfg), default_level_(default_backing_level),
      next_hpa_(phys_layout::kDataBase + (Addr(1) << 30)),  // keep frame 0 unused
      faults_(stats.counter("host.mm.faults")),
      lookups_(stats.counter("host.mm.lookups")),
      waits_(stats.counter("host.mm.fault_waits")) {}

void HostMm::set_backing_level(uint64_t gfn, uint64_t count, unsigned level) {
  if (level < 1 || level > 3) throw ModelError("host backing level must be 1..3");
  level_ranges_[gfn] = {gfn + count, level};
}

unsigned HostMm::level_of(uint64_t gfn) const {
  auto it = level_ranges_.upper_bound(gfn);
  if (it != level_ranges_.begin()) {
    --it;
    if (gfn < it->second.first) return it->second.second;
  }
  return default_level_;
}

HostPage HostMm::back(uint64_t gfn) {
  unsigned level = level_of(gfn);
  uint64_t n = pages_in_level(level);
  uint64_t base = gfn & ~(n - 1);
  Backing& b = backing_[base];
  uint64_t bytes = n * kPageSize;
  // Align the frame to its own size so a huge backing page can be mapped by a huge leaf.
  next_hpa_ = (next_hpa_ + bytes - 1) & ~(bytes - 1);
  b.hpa_base = next_hpa_;
  b.level = level;
  next_hpa_ += bytes;
  backed_bytes_ += bytes;
  return HostPage{b.hpa_base + (gfn - base) * kPageSize, level, true};
}

HostPage HostMm::lookup(uint64_t gfn) const {
  for (unsigned level = 1; level <= 3; ++level) {
    uint64_t base = gfn & ~(pages_in_level(level) - 1);
    auto it = backing_.find(base);
    if (it != backing_.end() && it->second.level == level)
      return HostPage{it->second.hpa_base + (gfn - base) * kPageSize, level, true};
  }
  return HostPage{0, 0, false};
}

HostPage HostMm::resolve_functional(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level) return p;
  HostPage made = back(gfn);
  backing_[gfn & ~(pages_in_level(made.level) - 1)].ready = true;
  return made;
}

HostPage HostMm::resolve(Agent& a, uint64_t gfn, bool /*write*/) {
  lookups_.inc();
  HostPage p = lookup(gfn);
  if (p.level) {
    uint64_t base = gfn & ~(pages_in_level(p.level) - 1);
    Backing& b = backing_[base];
    if (!b.ready) {
      // Another thread is faulting this backing page in: wait for it, as a second fault on
      // the same host page waits for the page lock.
      waits_.inc();
      a.sync();  // reach true time first, so a completion during the sync is not missed
      while (!b.ready) a.wait_event(*b.ready_ev, "host page fault of another thread");
    }
    a.advance(cfg_.lat.l2_hit);  // walk of the host's own (cached) tables
    return p;
  }
  faults_.inc();
  HostPage made = back(gfn);
  Backing& b = backing_[gfn & ~(pages_in_level(made.level) - 1)];
  b.ready_ev = std::make_unique<sc_core::sc_event>();
  // The host fault and the zeroing of the whole backing page take simulated time; others that
  // need the same page meanwhile wait on ready_ev.
  a.wait_cycles(cfg_.lat.host_page_fault + cfg_.lat.page_zero_4k * pages_in_level(made.level));
  b.ready = true;
  b.ready_ev->notify(sc_core::SC_ZERO_TIME);
  return made;
}

bool HostMm::split_backing(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level <= 1) return false;
  uint64_t n = pages_in_level(p.level);
  uint64_t base = gfn & ~(n - 1);
  Backing huge = std::move(backing_[base]);
  backing_.erase(base);
  for (uint64_t i = 0; i < n; ++i) {
    Backing& b = backing_[base + i];
    b.hpa_base = huge.hpa_base + i * kPageSize;
    b.level = 1;
    b.ready = true;
  }
  level_ranges_[base] = {base + n, 1};
  return true;
}

void HostMm::collapse_backing(uint64_t gfn, unsigned level) {
  uint64_t n = pages_in_level(level);
  uint64_t base = gfn & ~(n - 1);
  for (uint64_t i = 0; i < n; ++i) {
    auto it = backing_.find(base + i);
    if (it != backing_.end() && it->second.level == 1) {
      backing_.erase(it);
      backed_bytes_ -= kPageSize;
    }
  }
  level_ranges_[base] = {base + n, level};
  back(base);
  backing_[base].ready = true;
}

}  // namespace mmusim
