#include "sim/mmu/walker.hpp"

#include <algorithm>

#include "sim/core/clock.hpp"

namespace mmusim {

namespace {

// Paging-structure cache lines hold a page-aligned table address; the low bits carry the
// permissions accumulated over the levels the hit skips (x86 and EPT rights are the AND over
// every level), so a cached walk grants exactly what the full walk would. Walks keep those
// rights as a Perms::bits() set, so packing is an OR and meeting a level's rights an AND.
constexpr Addr kPermBits = 7;
constexpr unsigned kAllBits = 7;

Addr low_mask(unsigned shift) { return (Addr(1) << shift) - 1; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// PagingStructureCache

PagingStructureCache::PagingStructureCache(unsigned entries, unsigned ways)
    : entries_(entries), ways_(0), sets_(0) {
  if (entries == 0) return;  // disabled: sets_ == 0 makes every lookup miss
  ways_ = (ways == 0 || ways > entries) ? entries : ways;
  sets_ = entries / ways_;
  pow2_ = (sets_ & (sets_ - 1)) == 0;
  lines_.assign(size_t(sets_) * ways_, Line{});
}

void PagingStructureCache::insert(uint64_t key, uint64_t tag, Addr next_table) {
  if (sets_ == 0) return;
  Line* set = set_of(key);
  Line* victim = nullptr;
  for (unsigned w = 0; w < ways_; ++w) {
    Line& l = set[w];
    if (l.valid && l.key == key && l.tag == tag) {  // refresh in place, never duplicate
      victim = &l;
      break;
    }
    if (!victim || (victim->valid && (!l.valid || l.lru < victim->lru))) victim = &l;
  }
  victim->valid = true;
  victim->key = key;
  victim->tag = tag;
  victim->next = next_table;
  victim->lru = ++clock_;
}

void PagingStructureCache::flush() {
  for (auto& l : lines_) l.valid = false;
}

size_t PagingStructureCache::valid_lines() const {
  size_t n = 0;
  for (const auto& l : lines_) n += l.valid ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Walker

Walker::Walker(sc_core::sc_module_name name, const WalkerParams& p, const Clock& clock,
               const PageTableFormat& guest_fmt, const PageTableFormat& stage2_fmt,
               PagePool* table_pool, Violations* oracle, HwWalkStats& stats,
               PmlWalkStats* pml_stats)
    : sc_core::sc_module(name),
      port("port", 0, clock),
      p_(p),
      guest_fmt_(guest_fmt),
      s2_fmt_(stage2_fmt),
      pool_(table_pool),
      oracle_(oracle),
      stats_(stats),
      pwc_enabled_(p.pwc_entries > 0),
      pml_stats_(p.pml ? pml_stats : nullptr) {
  // One cache per non-leaf level (2..levels); slots 0 and 1 stay empty so the vectors can be
  // indexed by level directly. Caches smaller than pwc_ways are fully associative.
  const unsigned n = p.pwc_entries;
  const unsigned ways = n < p.pwc_ways ? n : p.pwc_ways;
  for (unsigned l = 0; l <= guest_fmt_.levels(); ++l)
    guest_pwc_.emplace_back(l >= 2 ? n : 0, ways);
  for (unsigned l = 0; l <= s2_fmt_.levels(); ++l)
    s2_pwc_.emplace_back(l >= 2 ? n : 0, ways);
}

void Walker::flush_caches() {
  for (auto& c : guest_pwc_) c.flush();
  for (auto& c : s2_pwc_) c.flush();
}

void Walker::flush_guest_caches() {
  for (auto& c : guest_pwc_) c.flush();
}

void Walker::report_freed_table(Addr hpa, const sc_core::sc_time& delay,
                                const std::string& thread) {
  oracle_->report("freed_table_access", port.clock().to_cycles(sc_core::sc_time_stamp() + delay),
                  thread, hpa, std::string(name()) + " read an entry of a freed page-table page");
}

inline uint64_t Walker::read_table_entry(Addr hpa, sc_core::sc_time& delay,
                                         const std::string& thread, unsigned& refs) {
  // The oracle: a walker must never read a page-table page that has gone back to the
  // allocator (an RCU-freed table still reachable from a stale TLB or PWC, or a zap race).
  if (pool_ && pool_->owns(hpa) && !pool_->live(hpa) && oracle_)
    report_freed_table(hpa, delay, thread);
  ++refs;
  // Still read: the walker sees whatever memory holds, as hardware would.
  return port.read64(hpa, MemClass::PageTable, delay);
}

// Forced inline: walk() calls it once per guest level and once for the data address, and the
// call itself (saving registers, building the result) cost as much as a cached walk's work.
[[gnu::always_inline]] inline Walker::Stage2 Walker::translate_stage2(
    Addr gpa, Access access, Addr stage2_root_hpa, sc_core::sc_time& delay,
    const std::string& thread, unsigned& refs) {
  Stage2 r;
  PtIter it(s2_fmt_, stage2_root_hpa, gpa);
  unsigned acc = kAllBits;

  if (pwc_enabled_) {
    // All levels' caches are probed in parallel: one lookup cost, the deepest hit wins.
    delay += port.clock().cycles(p_.pwc);
    for (unsigned l = 2; l <= s2_fmt_.levels(); ++l) {
      Addr v;
      if (s2_pwc_[l].lookup(gpa >> s2_fmt_.shift(l), stage2_root_hpa, v)) {
        stats_.pwc_hit.inc();
        it.resume_below(l, v & ~kPermBits);
        acc = unsigned(v & kPermBits);
        break;
      }
    }
  }

  for (;;) {
    const uint64_t e = read_table_entry(it.entry_addr(), delay, thread, refs);
    it.set_entry(e);
    const unsigned level = it.level();
    // Each question asked once: a present non-leaf can be descended except at level 1.
    const bool present = s2_fmt_.present(e);
    const bool leaf = present && s2_fmt_.is_leaf(e, level);
    if (!present || (!leaf && level <= 1)) {
      r.level = level;
      return r;
    }
    acc &= s2_fmt_.perm_bits(e);
    if (leaf) break;
    if (pwc_enabled_)
      s2_pwc_[level].insert(gpa >> s2_fmt_.shift(level), stage2_root_hpa,
                            s2_fmt_.table_address(e) | acc);
    it.descend();
  }

  r.level = it.level();
  if (!Perms::bits_allow(acc, access)) return r;  // an EPT violation on permissions
  const bool write = access == Access::Write;
  if (pml_stats_ && pml_.buffer) {
    if (write && !s2_fmt_.dirty(it.entry()) && !pml_log(gpa, delay)) {
      r.pml_full = true;  // the dirty flag stays clear and the access is not done
      return r;
    }
    // A translation cached without the dirty flag cannot serve a write: the write walks again
    // and sets the flag (and logs). Dropping W from what a read caches has that effect.
    if (!write && !s2_fmt_.dirty(it.entry())) acc &= ~Perms{false, true, false}.bits();
  }
  r.ok = true;
  r.page_shift = s2_fmt_.shift(r.level);
  r.hpa_base = s2_fmt_.address(it.entry(), r.level);
  r.perm_bits = acc;
  // Hardware-managed accessed/dirty flags: a locked update of the leaf when one is missing
  // (it races with the hypervisor's own cmpxchg on the entry, as on real hardware).
  const uint64_t used = s2_fmt_.mark_used(it.entry(), write);
  if (used != it.entry()) {
    port.cmpxchg64(it.entry_addr(), it.entry(), used, MemClass::PageTable, delay);
    stats_.ad_updates.inc();
  }
  return r;
}

// The log is kernel memory with contents (MemClass::Sync), not timing-only guest data.
bool Walker::pml_log(Addr gpa, sc_core::sc_time& delay) {
  const uint64_t index = port.read64(pml_.index, MemClass::Sync, delay);
  if (index >= kPmlEntries) {
    pml_stats_->full.inc();
    return false;
  }
  port.write64(pml_.buffer + index * 8, gpa & ~(kPageSize - 1), MemClass::Sync, delay);
  port.write64(pml_.index, (index - 1) & kPmlIndexMask, MemClass::Sync, delay);
  pml_stats_->logged.inc();
  return true;
}

WalkResult Walker::walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa,
                               sc_core::sc_time& delay, const std::string& thread) {
  WalkResult r;
  r.gpa = gpa;
  const Stage2 s2 = translate_stage2(gpa, access, stage2_root_hpa, delay, thread, r.refs);
  if (!s2.ok) {
    r.status = s2.pml_full ? WalkResult::Status::PmlFull : WalkResult::Status::StageTwoFault;
    r.stage2_level = s2.level;
    return r;
  }
  r.page_shift = s2.page_shift;
  r.hpa_base = s2.hpa_base;
  r.perms = Perms::from_bits(s2.perm_bits);
  return r;
}

WalkResult Walker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr stage2_root_hpa,
                        sc_core::sc_time& delay, const std::string& thread) {
  stats_.count.inc();
  WalkResult r;
  PtIter it(guest_fmt_, guest_root_gpa, gva);
  unsigned acc = kAllBits;

  // Every exit returns `r` itself, so it is built in place (no copy of the whole result).
  auto finish = [&](WalkResult::Status st) {
    r.status = st;
    stats_.refs.sample(r.refs);
  };

  if (pwc_enabled_) {
    delay += port.clock().cycles(p_.pwc);
    for (unsigned l = 2; l <= guest_fmt_.levels(); ++l) {
      Addr v;
      if (guest_pwc_[l].lookup(gva >> guest_fmt_.shift(l), guest_root_gpa, v)) {
        stats_.pwc_hit.inc();
        it.resume_below(l, v & ~kPermBits);
        acc = unsigned(v & kPermBits);
        break;
      }
    }
  }

  for (;;) {
    // The guest entry lives at a guest-physical address: translate it through stage 2 first.
    const Addr entry_gpa = it.entry_addr();
    const Stage2 s2 =
        translate_stage2(entry_gpa, Access::Read, stage2_root_hpa, delay, thread, r.refs);
    if (!s2.ok) {
      r.gpa = entry_gpa;
      r.on_guest_table = true;
      r.stage2_level = s2.level;
      finish(WalkResult::Status::StageTwoFault);
      return r;
    }
    const Addr entry_hpa = s2.hpa_base + (entry_gpa & low_mask(s2.page_shift));
    const uint64_t e = read_table_entry(entry_hpa, delay, thread, r.refs);
    it.set_entry(e);
    const unsigned level = it.level();
    const bool present = guest_fmt_.present(e);
    const bool leaf = present && guest_fmt_.is_leaf(e, level);
    if (!present || (!leaf && level <= 1)) {
      finish(WalkResult::Status::GuestFault);
      return r;
    }
    acc &= guest_fmt_.perm_bits(e);
    if (leaf) break;
    if (pwc_enabled_)
      guest_pwc_[level].insert(gva >> guest_fmt_.shift(level), guest_root_gpa,
                               guest_fmt_.table_address(e) | acc);
    it.descend();
  }

  // The guest's own rights are checked before the data GPA is translated: a guest #PF is
  // delivered to the guest without involving the second stage.
  if (!Perms::bits_allow(acc, access)) {
    finish(WalkResult::Status::GuestFault);
    return r;
  }

  const unsigned g_level = it.level();
  const unsigned g_shift = guest_fmt_.shift(g_level);
  const Addr data_gpa = guest_fmt_.address(it.entry(), g_level) + (gva & low_mask(g_shift));
  r.gpa = data_gpa;

  const Stage2 s2 = translate_stage2(data_gpa, access, stage2_root_hpa, delay, thread, r.refs);
  if (!s2.ok) {
    r.on_guest_table = false;
    r.stage2_level = s2.level;
    finish(s2.pml_full ? WalkResult::Status::PmlFull : WalkResult::Status::StageTwoFault);
    return r;
  }

  // A TLB entry can only cover what both stages map contiguously: the smaller of the two pages.
  const unsigned shift = std::min(g_shift, s2.page_shift);
  r.page_shift = shift;
  r.hpa_base = s2.hpa_base + ((data_gpa & low_mask(s2.page_shift)) & ~low_mask(shift));
  r.perms = Perms::from_bits(acc & s2.perm_bits);
  finish(WalkResult::Status::Ok);
  return r;
}

}  // namespace mmusim
