// Directory state kept beside each LLC line: which CPUs' private caches (L2, and so possibly L1)
// hold the line, and whether the single holder owns it (Exclusive or Modified, the private
// arrays say which). The LLC is inclusive, so every privately held line has such an entry and the
// directory needs no structure of its own: it is a vector parallel to the LLC tag array.
#pragma once
#include <cstdint>

namespace mmusim {

// Set of CPU ids that scales to thousands of CPUs while costing 16 bytes for the common case.
// Up to kInline ids are stored in place (most lines have one or two sharers); a fifth sharer
// switches the set to a heap bitset sized to the largest id seen (lock words and shared tables
// are the lines that get there). clear() returns to the inline form.
class SharerSet {
 public:
  static constexpr unsigned kInline = 4;
  static constexpr unsigned kMaxCpus = 65535;  // ids are 16-bit

  SharerSet() = default;
  ~SharerSet() { release(); }
  SharerSet(const SharerSet&) = delete;
  SharerSet& operator=(const SharerSet&) = delete;
  SharerSet(SharerSet&& o) noexcept;
  SharerSet& operator=(SharerSet&& o) noexcept;

  unsigned size() const { return n_; }
  bool empty() const { return n_ == 0; }
  // The inline form (the common case) is handled here in the header, so the directory updates
  // of every private miss cost no calls; the bitset form and errors go to the *_bits functions.
  bool contains(unsigned cpu) const {
    if (nwords_ != 0) return contains_bits(cpu);
    for (unsigned i = 0; i < n_; ++i)
      if (u_.ids[i] == cpu) return true;
    return false;
  }
  // No effect if present.
  void add(unsigned cpu) {
    if (nwords_ != 0 || n_ == kInline || cpu > kMaxCpus) return add_bits(cpu);
    for (unsigned i = 0; i < n_; ++i)
      if (u_.ids[i] == cpu) return;
    u_.ids[n_++] = uint16_t(cpu);
  }
  // No effect if absent.
  void remove(unsigned cpu) {
    if (nwords_ != 0) return remove_bits(cpu);
    for (unsigned i = 0; i < n_; ++i) {
      if (u_.ids[i] == cpu) {
        u_.ids[i] = u_.ids[--n_];  // order does not matter
        return;
      }
    }
  }
  void clear() {
    if (nwords_ != 0) release();
    n_ = 0;
  }
  // The smallest member (the owner when size() == 1). Undefined when empty.
  unsigned first() const {
    if (nwords_ != 0) return first_bits();
    unsigned best = kMaxCpus + 1;
    for (unsigned i = 0; i < n_; ++i)
      if (u_.ids[i] < best) best = u_.ids[i];
    return best;
  }
  // Words of heap bitset held; 0 in the inline form (lets tests check the compact form).
  unsigned heap_words() const { return nwords_; }

  // Calls f(cpu) for every member. f must not modify this set.
  template <typename F>
  void for_each(F&& f) const {
    if (nwords_ == 0) {
      for (unsigned i = 0; i < n_; ++i) f(unsigned(u_.ids[i]));
      return;
    }
    for (unsigned w = 0; w < nwords_; ++w) {
      uint64_t bits = u_.bits[w];
      while (bits) {
        const unsigned b = unsigned(__builtin_ctzll(bits));
        f(w * 64 + b);
        bits &= bits - 1;
      }
    }
  }

 private:
  void release();
  bool contains_bits(unsigned cpu) const;
  void add_bits(unsigned cpu);  // add() beyond the inline fast path (also the range check)
  void remove_bits(unsigned cpu);
  unsigned first_bits() const;
  void to_bitset(unsigned min_cpu);
  void grow(unsigned cpu);
  union {
    uint16_t ids[kInline];
    uint64_t* bits;
  } u_{};
  uint16_t n_ = 0;       // members
  uint16_t nwords_ = 0;  // 0: inline form; else length of u_.bits
};

struct DirEntry {
  SharerSet sharers;
  bool owned = false;  // the one sharer holds the line Exclusive or Modified
  bool dirty = false;  // the LLC copy is newer than DRAM (a modified line was written back)
  // The cycle at which the transaction now holding the line at the directory completes: a fill
  // from DRAM, a transfer from another core's cache, an invalidation round, plus the locked
  // read-modify-write of an atomic. Requests for the line queue behind it (docs/ARCHITECTURE.md,
  // "Memory system": one transaction per line at a time).
  uint64_t busy_until = 0;

  void reset() {
    sharers.clear();
    owned = false;
    dirty = false;
    busy_until = 0;
  }
};

}  // namespace mmusim
