// The host memory manager's record of backing pages, keyed by the gfn of a backing page's base
// (a 4 KiB page keys itself; a 2 MiB or 1 GiB page is keyed by its first gfn).
//
// Why not a hash map: a populated 64 GiB guest has 16 M backing pages, and a hash node per page
// (plus its bucket) costs about 50 bytes, which alone is more than the page tables the run
// models (16 bytes a page for stage 2 and the guest's tables together). Here a record is one
// 64-bit word in a chunk of 512 (one 2 MiB region of guest frames): 8 bytes a page, and chunks
// exist only for regions that were ever backed.
//
// A record packs the page-aligned host frame with the flags in its low 12 bits. The event a
// second toucher waits on while the first one zeroes the page is not part of it: HostMm keeps
// those only while a first touch is in flight.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "sim/core/types.hpp"

namespace mmusim {

class BackingTable {
 public:
  // One record, unpacked. `present` tells an absent key from a record.
  struct Record {
    bool present = false;
    Addr hpa_base = 0;     // page aligned
    unsigned level = 1;    // 1, 2 or 3
    bool ready = false;    // zeroing finished; others may use it
    bool writable = true;  // false: shared (KSM) page, a write breaks COW
  };

  Record get(uint64_t key) const {
    const uint64_t* w = word(key);
    return w ? unpack(*w) : Record{};
  }
  bool contains(uint64_t key) const {
    const uint64_t* w = word(key);
    return w && (*w & kPresent);
  }
  // Stores r under key (r.present is implied).
  void put(uint64_t key, const Record& r) { *slot(key) = pack(r); }
  // The record under key, made with the defaults of Record (hpa 0, level 1, not ready,
  // writable) when absent: what operator[] of the map this replaces did.
  Record get_or_default(uint64_t key) {
    uint64_t* w = slot(key);
    if (!(*w & kPresent)) *w = pack(Record{});
    return unpack(*w);
  }
  void erase(uint64_t key) {
    if (uint64_t* w = const_cast<uint64_t*>(word(key))) *w = 0;
  }
  uint64_t chunks() const { return chunks_.size(); }

 private:
  static constexpr unsigned kChunkBits = 9;
  static constexpr uint64_t kChunk = uint64_t(1) << kChunkBits;
  static constexpr uint64_t kPresent = 1, kReady = 2, kWritable = 4, kLevelShift = 3;
  static constexpr uint64_t kFlagMask = kPageSize - 1;
  using Chunk = std::array<uint64_t, kChunk>;

  static uint64_t pack(const Record& r) {
    return (r.hpa_base & ~kFlagMask) | kPresent | (r.ready ? kReady : 0) |
           (r.writable ? kWritable : 0) | (uint64_t(r.level) << kLevelShift);
  }
  static Record unpack(uint64_t w) {
    if (!(w & kPresent)) return Record{};
    return Record{true, w & ~kFlagMask, unsigned((w >> kLevelShift) & 3), (w & kReady) != 0,
                  (w & kWritable) != 0};
  }
  // Consecutive resolutions fall in the same 2 MiB region, so one remembered chunk saves most
  // hash lookups.
  const uint64_t* word(uint64_t key) const {
    const uint64_t c = key >> kChunkBits;
    if (c != last_index_ || !last_) {
      auto it = chunks_.find(c);
      if (it == chunks_.end()) return nullptr;
      last_index_ = c;
      last_ = it->second.get();
    }
    return &(*last_)[key & (kChunk - 1)];
  }
  uint64_t* slot(uint64_t key) {
    if (const uint64_t* w = word(key)) return const_cast<uint64_t*>(w);
    auto& chunk = chunks_[key >> kChunkBits];
    chunk = std::make_unique<Chunk>();
    chunk->fill(0);
    last_index_ = key >> kChunkBits;
    last_ = chunk.get();
    return &(*last_)[key & (kChunk - 1)];
  }

  std::unordered_map<uint64_t, std::unique_ptr<Chunk>> chunks_;  // chunk index -> records
  mutable uint64_t last_index_ = 0;
  mutable Chunk* last_ = nullptr;
};

}  // namespace mmusim
