#include "sim/mmu/walker.hpp"

#include <algorithm>

#include "sim/core/clock.hpp"

namespace mmusim {

namespace {

// Paging-structure cache lines hold a page-aligned table address; the low bits carry the
// permissions accumulated over the levels the hit skips (x86 and EPT rights are the AND over
// every level), so a cached walk grants exactly what the full walk would.
constexpr Addr kPermBits = 7;

Addr pack(Addr table, Perms p) {
  return table | (p.read ? 1 : 0) | (p.write ? 2 : 0) | (p.exec ? 4 : 0);
}
Perms unpack_perms(Addr v) {
  Perms p;
  p.read = v & 1;
  p.write = v & 2;
  p.exec = v & 4;
  return p;
}
Perms meet(Perms a, Perms b) {
  Perms p;
  p.read = a.read && b.read;
  p.write = a.write && b.write;
  p.exec = a.exec && b.exec;
  return p;
}
constexpr Perms kAll{true, true, true};

Addr low_mask(unsigned shift) { return (Addr(1) << shift) - 1; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// PagingStructureCache

PagingStructureCache::PagingStructureCache(unsigned entries, unsigned ways)
    : entries_(entries), ways_(0), sets_(0) {
  if (entries == 0) return;  // disabled: sets_ == 0 makes every lookup miss
  ways_ = (ways == 0 || ways > entries) ? entries : ways;
  sets_ = entries / ways_;
  lines_.assign(size_t(sets_) * ways_, Line{});
}

bool PagingStructureCache::lookup(uint64_t key, uint64_t tag, Addr& next_table) {
  if (sets_ == 0) return false;
  Line* set = set_of(key);
  for (unsigned w = 0; w < ways_; ++w) {
    Line& l = set[w];
    if (l.valid && l.key == key && l.tag == tag) {
      l.lru = ++clock_;
      next_table = l.next;
      return true;
    }
  }
  return false;
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

Walker::Walker(sc_core::sc_module_name name, const SimConfig& cfg,
               const PageTableFormat& guest_fmt, const PageTableFormat& stage2_fmt,
               PagePool* table_pool, Violations* oracle, Stats& stats,
               const std::string& stat_prefix)
    : sc_core::sc_module(name),
      port("port", 0),
      cfg_(cfg),
      guest_fmt_(guest_fmt),
      s2_fmt_(stage2_fmt),
      pool_(table_pool),
      oracle_(oracle),
      refs_hist_(stats.histogram(stat_prefix + ".refs")),
      walks_(stats.counter(stat_prefix + ".count")),
      pwc_hits_(stats.counter(stat_prefix + ".pwc_hit")),
      ad_updates_(stats.counter(stat_prefix + ".ad_updates")),
      pwc_enabled_(cfg.pwc_entries > 0) {
  // One cache per non-leaf level (2..levels); slots 0 and 1 stay empty so the vectors can be
  // indexed by level directly. Small caches are fully associative, larger ones 4-way.
  const unsigned n = cfg.pwc_entries;
  const unsigned ways = n < 4 ? n : 4;
  for (unsigned l = 0; l <= guest_fmt_.levels(); ++l)
    guest_pwc_.emplace_back(l >= 2 ? n : 0, ways);
  for (unsigned l = 0; l <= s2_fmt_.levels(); ++l)
    s2_pwc_.emplace_back(l >= 2 ? n : 0, ways);
}

void Walker::flush_caches() {
  for (auto& c : guest_pwc_) c.flush();
  for (auto& c : s2_pwc_) c.flush();
}

void Walker::resume_below(PtIter& it, unsigned level, Addr table) {
  // PtIter only starts at the root; feeding it synthetic table entries for the skipped levels
  // keeps its index math the single source of truth without touching memory.
  const PageTableFormat& f = it.format();
  while (it.level() >= level) {
    it.set_entry(f.make_table(it.level() == level ? table : 0));
    it.descend();
  }
}

uint64_t Walker::read_table_entry(Addr hpa, sc_core::sc_time& delay, const std::string& thread,
                                  unsigned& refs) {
  // The oracle: a walker must never read a page-table page that has gone back to the
  // allocator (an RCU-freed table still reachable from a stale TLB or PWC, or a zap race).
  if (pool_ && pool_->owns(hpa) && !pool_->live(hpa) && oracle_) {
    oracle_->report("freed_table_access",
                    Clock::to_cycles(sc_core::sc_time_stamp() + delay), thread, hpa,
                    std::string(name()) + " read an entry of a freed page-table page");
  }
  ++refs;
  // Still read: the walker sees whatever memory holds, as hardware would.
  return port.read64(hpa, MemClass::PageTable, delay);
}

WalkResult Walker::walk_stage2(Addr gpa, Access access, Addr stage2_root_hpa,
                               sc_core::sc_time& delay, const std::string& thread) {
  WalkResult r;
  r.gpa = gpa;
  PtIter it(s2_fmt_, stage2_root_hpa, gpa);
  Perms acc = kAll;

  if (pwc_enabled_) {
    // All levels' caches are probed in parallel: one lookup cost, the deepest hit wins.
    delay += Clock::cycles(cfg_.lat.pwc);
    for (unsigned l = 2; l <= s2_fmt_.levels(); ++l) {
      Addr v;
      if (s2_pwc_[l].lookup(gpa >> s2_fmt_.shift(l), stage2_root_hpa, v)) {
        pwc_hits_.inc();
        resume_below(it, l, v & ~kPermBits);
        acc = unpack_perms(v);
        break;
      }
    }
  }

  for (;;) {
    it.set_entry(read_table_entry(it.entry_addr(), delay, thread, r.refs));
    const unsigned level = it.level();
    if (!it.present() || (!it.leaf() && !it.can_descend())) {
      r.status = WalkResult::Status::StageTwoFault;
      r.stage2_level = level;
      return r;
    }
    acc = meet(acc, s2_fmt_.perms(it.entry()));
    if (it.leaf()) break;
    if (pwc_enabled_)
      s2_pwc_[level].insert(gpa >> s2_fmt_.shift(level), stage2_root_hpa,
                            pack(s2_fmt_.address(it.entry(), level), acc));
    it.descend();
  }

  const unsigned level = it.level();
  if (!acc.allows(access)) {  // an EPT violation on permissions, not on presence
    r.status = WalkResult::Status::StageTwoFault;
    r.stage2_level = level;
    return r;
  }
  r.page_shift = s2_fmt_.shift(level);
  r.hpa_base = s2_fmt_.address(it.entry(), level);
  r.perms = acc;
  // Hardware-managed accessed/dirty flags: a locked update of the leaf when one is missing
  // (it races with the hypervisor's own cmpxchg on the entry, as on real hardware).
  const uint64_t used = s2_fmt_.mark_used(it.entry(), access == Access::Write);
  if (used != it.entry()) {
    port.cmpxchg64(it.entry_addr(), it.entry(), used, MemClass::PageTable, delay);
    ad_updates_.inc();
  }
  return r;
}

WalkResult Walker::walk(Addr gva, Access access, Addr guest_root_gpa, Addr stage2_root_hpa,
                        sc_core::sc_time& delay, const std::string& thread) {
  walks_.inc();
  WalkResult r;
  PtIter it(guest_fmt_, guest_root_gpa, gva);
  Perms acc = kAll;

  auto finish = [&](WalkResult::Status st) -> WalkResult {
    r.status = st;
    refs_hist_.sample(r.refs);
    return r;
  };

  if (pwc_enabled_) {
    delay += Clock::cycles(cfg_.lat.pwc);
    for (unsigned l = 2; l <= guest_fmt_.levels(); ++l) {
      Addr v;
      if (guest_pwc_[l].lookup(gva >> guest_fmt_.shift(l), guest_root_gpa, v)) {
        pwc_hits_.inc();
        resume_below(it, l, v & ~kPermBits);
        acc = unpack_perms(v);
        break;
      }
    }
  }

  for (;;) {
    // The guest entry lives at a guest-physical address: translate it through stage 2 first.
    const Addr entry_gpa = it.entry_addr();
    const WalkResult s2 = walk_stage2(entry_gpa, Access::Read, stage2_root_hpa, delay, thread);
    r.refs += s2.refs;
    if (s2.status != WalkResult::Status::Ok) {
      r.gpa = entry_gpa;
      r.on_guest_table = true;
      r.stage2_level = s2.stage2_level;
      return finish(WalkResult::Status::StageTwoFault);
    }
    const Addr entry_hpa = s2.hpa_base + (entry_gpa & low_mask(s2.page_shift));
    it.set_entry(read_table_entry(entry_hpa, delay, thread, r.refs));
    const unsigned level = it.level();
    if (!it.present() || (!it.leaf() && !it.can_descend()))
      return finish(WalkResult::Status::GuestFault);
    acc = meet(acc, guest_fmt_.perms(it.entry()));
    if (it.leaf()) break;
    if (pwc_enabled_)
      guest_pwc_[level].insert(gva >> guest_fmt_.shift(level), guest_root_gpa,
                               pack(guest_fmt_.address(it.entry(), level), acc));
    it.descend();
  }

  // The guest's own rights are checked before the data GPA is translated: a guest #PF is
  // delivered to the guest without involving the second stage.
  if (!acc.allows(access)) return finish(WalkResult::Status::GuestFault);

  const unsigned g_level = it.level();
  const unsigned g_shift = guest_fmt_.shift(g_level);
  const Addr data_gpa = guest_fmt_.address(it.entry(), g_level) + (gva & low_mask(g_shift));
  r.gpa = data_gpa;

  const WalkResult s2 = walk_stage2(data_gpa, access, stage2_root_hpa, delay, thread);
  r.refs += s2.refs;
  if (s2.status != WalkResult::Status::Ok) {
    r.on_guest_table = false;
    r.stage2_level = s2.stage2_level;
    return finish(WalkResult::Status::StageTwoFault);
  }

  // A TLB entry can only cover what both stages map contiguously: the smaller of the two pages.
  const unsigned shift = std::min(g_shift, s2.page_shift);
  r.page_shift = shift;
  r.hpa_base = s2.hpa_base + ((data_gpa & low_mask(s2.page_shift)) & ~low_mask(shift));
  r.perms = meet(acc, s2.perms);
  return finish(WalkResult::Status::Ok);
}

}  // namespace mmusim
