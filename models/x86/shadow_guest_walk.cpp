// The shadow MMU's walk of the guest's own page tables (FNAME(walk_addr)), in simulated guest
// memory read through the host mapping, and the guest accessed/dirty bits that walk sets.
// KVM's walker is the guest's MMU here: no hardware walks the guest tables under shadow paging,
// so when the walk finds an entry without the accessed bit, or a write finds its last entry
// without the dirty bit, KVM sets them with a cmpxchg on the guest entry
// (update_accessed_dirty_bits) from the top level down, and walks again if an entry changed
// under it. The dirty bit is what protect_clean_gpte reads: a writable guest PTE that is still
// clean is mapped read-only, so the guest's first write to the page faults again and sets it
// (set_leaf, shadow_mmu.cpp; docs/ARCHITECTURE.md, Shadow MMU).
#include <sstream>

#include "models/x86/shadow_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

namespace {
// A walk that keeps losing its cmpxchg to guest stores: a model error, not a guest behaviour.
constexpr unsigned kMaxWalkRetries = 1000;
}  // namespace

Addr ShadowMmu::guest_page_hpa(Agent& a, uint64_t gfn) { return host_.user_access(a, gfn, false).hpa; }

// Reads the guest entries for gva, top down: 4-level x86-64 tables, 4 KiB and 2 MiB pages.
bool ShadowMmu::read_guest_walk(Agent& a, uint64_t cr3_gfn, Addr gva, GuestWalk& w) {
  // The iterator walks guest-physical table addresses; each table is read at its host backing.
  for (PtIter it(fmt_, cr3_gfn << kPageShift, gva);; it.descend()) {
    const unsigned level = it.level();
    const uint64_t table = it.table() >> kPageShift;
    w.table_gfn[level] = table;
    w.pte_hpa[level] = PtIter::entry_at(guest_page_hpa(a, table), it.index());
    const uint64_t e = a.load(w.pte_hpa[level], MemClass::PageTable);
    w.pte[level] = e;
    it.set_entry(e);
    if (!fmt_.present(e)) return false;
    if (level == 1) {
      w.leaf = e;
      return true;
    }
    if (level == 2 && fmt_.is_leaf(e, level)) {
      w.leaf = e;
      w.leaf_level = 2;
      return true;
    }
    if (fmt_.is_leaf(e, level)) {
      std::ostringstream m;
      m << "shadow MMU: guest 1 GiB page at gva 0x" << std::hex << gva << " is not modelled";
      throw ModelError(m.str());
    }
  }
}

// update_accessed_dirty_bits: every entry of the walk gets its accessed bit, the last one its
// dirty bit on a write; each change is one cmpxchg on the guest entry (through the host's
// writable mapping of the table page). False when an entry changed since the walk read it.
bool ShadowMmu::set_accessed_dirty(Agent& a, GuestWalk& w, bool write) {
  for (unsigned level = 4; level >= w.leaf_level; --level) {
    const uint64_t old = w.pte[level];
    uint64_t want = old | X86PageFormat::kAccessed;
    if (level == w.leaf_level && write) want |= X86PageFormat::kDirty;
    if (want == old) continue;
    const Addr off = w.pte_hpa[level] & (kPageSize - 1);
    const Addr ptep = host_.user_access(a, w.table_gfn[level], true).hpa + off;
    if (a.cmpxchg(ptep, old, want, MemClass::PageTable) != old) return false;
    stats_.guest_ad_set.inc();
    w.pte[level] = want;
    if (level == w.leaf_level) w.leaf = want;
  }
  return true;
}

bool ShadowMmu::walk_guest(Agent& a, uint64_t cr3_gfn, Addr gva, Access access, GuestWalk& w) {
  for (unsigned tries = 0;; ++tries) {
    if (tries == kMaxWalkRetries)
      throw ModelError("shadow MMU: the guest walk keeps losing its accessed/dirty cmpxchg");
    w = GuestWalk{};
    if (!read_guest_walk(a, cr3_gfn, gva, w)) return false;
    // A write to a read-only guest page is the guest's own fault: no bit is set (the caller
    // reports it).
    if (access == Access::Write && !fmt_.perms(w.leaf).write) return true;
    if (set_accessed_dirty(a, w, access == Access::Write)) return true;
    stats_.guest_ad_retries.inc();
  }
}

bool ShadowMmu::gpte_changed(Agent& a, const GuestWalk& w, unsigned level) {
  return a.load(w.pte_hpa[level], MemClass::PageTable) != w.pte[level];
}

}  // namespace mmusim
