// Which version of a cache line's data each place holds, for the lines whose contents matter to
// a correctness question (a guest image written by the VMM and read by a guest running with its
// MMU off). A version is a global write sequence number: every versioned write makes a new one.
//
//   cached  the version the coherent cache hierarchy holds (meaningful while the line is in the
//           inclusive LLC; coherence keeps every private copy equal to it)
//   dram    the version at the Point of Coherency (DRAM)
//   latest  the newest version anybody wrote, through any path
//
// Cacheable accesses see `cached` (filled from `dram` on a miss); non-cacheable accesses see
// `dram`. A dirty line reaches DRAM only by eviction or a clean to PoC. Lines never written
// with a version are absent and read as version 0 everywhere.
#pragma once
#include <cstdint>
#include <unordered_map>

namespace mmusim {

class DataVersions {
 public:
  struct Line {
    uint64_t cached = 0, dram = 0, latest = 0;
  };
  bool empty() const { return lines_.empty(); }
  Line* find(uint64_t line) {
    auto it = lines_.find(line);
    return it == lines_.end() ? nullptr : &it->second;
  }
  const Line* find(uint64_t line) const {
    auto it = lines_.find(line);
    return it == lines_.end() ? nullptr : &it->second;
  }
  Line& get(uint64_t line) { return lines_[line]; }
  uint64_t next() { return ++seq_; }

  // The line leaves the cache hierarchy: a dirty copy goes to DRAM, a clean one just vanishes.
  void evicted(uint64_t line, bool dirty) {
    if (Line* l = find(line)) {
      if (dirty) l->dram = l->cached;
      l->cached = l->dram;
    }
  }
  // The line enters the cache hierarchy from DRAM.
  void filled(uint64_t line) {
    if (Line* l = find(line)) l->cached = l->dram;
  }

 private:
  std::unordered_map<uint64_t, Line> lines_;
  uint64_t seq_ = 0;
};

}  // namespace mmusim
