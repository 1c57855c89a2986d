#include "sim/hv/memslots.hpp"

#include <algorithm>
#include <string>

#include "sim/core/error.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

uint32_t Memslots::add(uint64_t base_gfn, uint64_t npages, Addr userspace_addr, uint32_t flags) {
  for (const Memslot& s : slots_)
    if (base_gfn < s.base_gfn + s.npages && s.base_gfn < base_gfn + npages)
      throw ModelError("memslots overlap");
  Memslot s;
  s.id = uint32_t(slots_.size());
  s.base_gfn = base_gfn;
  s.npages = npages;
  s.userspace_addr = userspace_addr;
  s.flags = flags;
  if (flags & kMemLogDirtyPages) s.dirty_bitmap = heap_.alloc((npages + 7) / 8);
  slots_.push_back(s);
  return s.id;
}

const Memslot* Memslots::find(uint64_t gfn) const {
  for (const Memslot& s : slots_)
    if (s.has_gfn(gfn)) return &s;
  return nullptr;
}

std::vector<GfnRange> Memslots::hva_to_gfn(Addr hva_start, Addr hva_end) const {
  std::vector<GfnRange> out;
  for (const Memslot& s : slots_) {
    Addr lo = std::max(hva_start, s.userspace_addr);
    Addr hi = std::min(hva_end, s.userspace_addr + (s.npages << kPageShift));
    if (lo >= hi) continue;
    // Every page that intersects [lo, hi): round the end up to a page boundary.
    out.push_back({&s, s.gfn_of(lo), s.gfn_of(hi + kPageSize - 1)});
  }
  return out;
}

void Memslots::set_flags(uint32_t id, uint32_t flags) {
  if (id >= slots_.size()) throw ModelError("no memslot " + std::to_string(id));
  Memslot& s = slots_[id];
  // Logging turned on gets a fresh, all-clear bitmap (simulated memory reads zero until written).
  if ((flags & kMemLogDirtyPages) && !(s.flags & kMemLogDirtyPages))
    s.dirty_bitmap = heap_.alloc((s.npages + 7) / 8);
  s.flags = flags;
}

bool Memslots::mark_page_dirty(Agent& a, uint64_t gfn) const {
  const Memslot* s = find(gfn);
  if (!s || !s->dirty_bitmap || !(s->flags & kMemLogDirtyPages)) return false;
  uint64_t bit = gfn - s->base_gfn;
  Addr word = s->dirty_bitmap + (bit / 64) * 8;
  uint64_t mask = uint64_t(1) << (bit % 64);
  // set_bit_le is a locked OR: a cmpxchg loop on the bitmap word.
  uint64_t old = a.load(word);
  while (!(old & mask)) {
    uint64_t seen = a.cmpxchg(word, old, old | mask);
    if (seen == old) return true;
    old = seen;
  }
  return false;
}

bool Memslots::page_dirty(const PhysMem& phys, uint64_t gfn) const {
  const Memslot* s = find(gfn);
  if (!s || !s->dirty_bitmap) return false;
  uint64_t bit = gfn - s->base_gfn;
  return (phys.read64(s->dirty_bitmap + (bit / 64) * 8) >> (bit % 64)) & 1;
}

}  // namespace mmusim
