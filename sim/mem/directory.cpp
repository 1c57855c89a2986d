#include "sim/mem/directory.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

SharerSet::SharerSet(SharerSet&& o) noexcept : u_(o.u_), n_(o.n_), nwords_(o.nwords_) {
  o.u_ = {};
  o.n_ = 0;
  o.nwords_ = 0;
}

SharerSet& SharerSet::operator=(SharerSet&& o) noexcept {
  if (this != &o) {
    release();
    u_ = o.u_;
    n_ = o.n_;
    nwords_ = o.nwords_;
    o.u_ = {};
    o.n_ = 0;
    o.nwords_ = 0;
  }
  return *this;
}

void SharerSet::release() {
  if (nwords_) delete[] u_.bits;
  u_ = {};
  nwords_ = 0;
}

bool SharerSet::contains_bits(unsigned cpu) const {
  const unsigned w = cpu / 64;
  return w < nwords_ && (u_.bits[w] >> (cpu % 64) & 1);
}

void SharerSet::to_bitset(unsigned min_cpu) {
  unsigned top = min_cpu;
  for (unsigned i = 0; i < n_; ++i) top = std::max<unsigned>(top, u_.ids[i]);
  const unsigned words = top / 64 + 1;
  uint64_t* bits = new uint64_t[words]();
  for (unsigned i = 0; i < n_; ++i) bits[u_.ids[i] / 64] |= uint64_t(1) << (u_.ids[i] % 64);
  u_.bits = bits;
  nwords_ = uint16_t(words);
}

void SharerSet::grow(unsigned cpu) {
  const unsigned words = cpu / 64 + 1;
  uint64_t* bits = new uint64_t[words]();
  std::memcpy(bits, u_.bits, nwords_ * sizeof(uint64_t));
  delete[] u_.bits;
  u_.bits = bits;
  nwords_ = uint16_t(words);
}

void SharerSet::add_bits(unsigned cpu) {
  if (cpu > kMaxCpus) throw ModelError("SharerSet: cpu id " + std::to_string(cpu) + " too large");
  if (contains(cpu)) return;
  if (nwords_ == 0 && n_ < kInline) {
    u_.ids[n_++] = uint16_t(cpu);
    return;
  }
  if (nwords_ == 0) to_bitset(cpu);
  if (cpu / 64 >= nwords_) grow(cpu);
  u_.bits[cpu / 64] |= uint64_t(1) << (cpu % 64);
  ++n_;
}

void SharerSet::remove_bits(unsigned cpu) {
  if (!contains_bits(cpu)) return;
  u_.bits[cpu / 64] &= ~(uint64_t(1) << (cpu % 64));
  --n_;
  // Stay in bitset form until clear(): a line that once had many sharers tends to get them
  // again (lock words), and flipping forms on every change would churn the heap.
}

unsigned SharerSet::first_bits() const {
  for (unsigned w = 0; w < nwords_; ++w)
    if (u_.bits[w]) return w * 64 + unsigned(__builtin_ctzll(u_.bits[w]));
  return kMaxCpus + 1;
}

}  // namespace mmusim
