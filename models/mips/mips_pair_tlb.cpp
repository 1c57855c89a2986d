#include "models/mips/mips_pair_tlb.hpp"

namespace mmusim {

MipsPairTlb::Entry* MipsPairTlb::lookup(uint64_t tag, Addr a) {
  const Addr v = vpn2(a);
  for (Entry& e : e_)
    if (e.valid && e.tag == tag && e.vpn2 == v) {
      e.lru = ++clock_;
      return &e;
    }
  return nullptr;
}

MipsPairTlb::Entry& MipsPairTlb::insert(uint64_t tag, Addr a, const Half& even, const Half& odd) {
  Entry* slot = lookup(tag, a);
  if (!slot) {
    if (e_.size() < entries_) {
      slot = &e_.emplace_back();
    } else {
      // An invalid entry if there is one, else the least recently used.
      slot = &e_[0];
      for (Entry& e : e_) {
        if (!e.valid) {
          slot = &e;
          break;
        }
        if (e.lru < slot->lru) slot = &e;
      }
    }
  }
  slot->valid = true;
  slot->tag = tag;
  slot->vpn2 = vpn2(a);
  slot->half[0] = even;
  slot->half[1] = odd;
  slot->lru = ++clock_;
  return *slot;
}

bool MipsPairTlb::erase(uint64_t tag, Addr a) {
  Entry* e = lookup(tag, a);
  if (!e) return false;
  e->valid = false;
  return true;
}

void MipsPairTlb::flush_all() {
  for (Entry& e : e_) e.valid = false;
}

size_t MipsPairTlb::valid_entries() const {
  size_t n = 0;
  for (const Entry& e : e_) n += e.valid;
  return n;
}

}  // namespace mmusim
