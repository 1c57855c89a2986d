#include "sim/hv/host_mm.hpp"

#include <vector>

#include "sim/core/error.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

namespace {
constexpr unsigned kLevelBits = 9;  // host tables of 512 entries (PTRS_PER_PTE): fixed by Linux
uint64_t pages_in_level(unsigned level) { return uint64_t(1) << (kLevelBits * (level - 1)); }
}  // namespace

HostMm::HostMm(const HostMmParams& p, Stats& stats)
    : p_(p),
      next_hpa_(phys_layout::kDataBase + (Addr(1) << 30)),  // keep frame 0 unused
      stats_(stats) {}

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
  return p_.backing_level;
}

HostPage HostMm::back(uint64_t gfn) {
  unsigned level = level_of(gfn);
  uint64_t n = pages_in_level(level);
  uint64_t base = gfn & ~(n - 1);
  Backing b = backing_.get_or_default(base);
  uint64_t bytes = n * kPageSize;
  // Align the frame to its own size so a huge backing page can be mapped by a huge leaf.
  next_hpa_ = (next_hpa_ + bytes - 1) & ~(bytes - 1);
  b.hpa_base = next_hpa_;
  b.level = level;
  backing_.put(base, b);
  next_hpa_ += bytes;
  backed_bytes_ += bytes;
  return HostPage{b.hpa_base + (gfn - base) * kPageSize, level, true};
}

HostPage HostMm::lookup(uint64_t gfn) const {
  for (unsigned level = 1; level <= 3; ++level) {
    uint64_t base = gfn & ~(pages_in_level(level) - 1);
    const Backing b = backing_.get(base);
    if (b.present && b.level == level)
      return HostPage{b.hpa_base + (gfn - base) * kPageSize, level, b.writable};
  }
  return HostPage{0, 0, false};
}

HostPage HostMm::resolve_functional(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level) return p;
  HostPage made = back(gfn);
  const uint64_t base = gfn & ~(pages_in_level(made.level) - 1);
  Backing b = backing_.get(base);
  b.ready = true;
  backing_.put(base, b);
  return made;
}

HostPage HostMm::resolve(Agent& a, uint64_t gfn, bool write) {
  stats_.lookups.inc();
  HostPage p = lookup(gfn);
  if (p.level && write && !p.writable) {
    // A write to a shared page (KSM, or COW after fork) breaks COW here, inside
    // gfn_to_pfn_prot: the notifiers run synchronously in the faulting thread.
    a.advance(p_.host_page_fault);
    cow_break(a, gfn);
    p = lookup(gfn);
  }
  if (p.level) {
    uint64_t base = gfn & ~(pages_in_level(p.level) - 1);
    if (!backing_.get(base).ready) {
      // Another thread is faulting this backing page in: wait for it, as a second fault on
      // the same host page waits for the page lock.
      stats_.waits.inc();
      a.sync();  // reach true time first, so a completion during the sync is not missed
      while (!backing_.get(base).ready) {
        InFlight& f = in_flight_.at(base);
        ++f.waiters;
        a.wait_event(*f.ev, "host page fault of another thread");
      }
    }
    a.advance(p_.l2_hit);  // walk of the host's own (cached) tables
    return p;
  }
  stats_.faults.inc();
  if (swapped_.erase(gfn)) {
    // Swap-in: the page is read back from swap into a fresh frame.
    stats_.ev_swap_in.inc();
    a.advance(p_.host_swap_io);
  }
  HostPage made = back(gfn);
  const uint64_t base = gfn & ~(pages_in_level(made.level) - 1);
  if (spare_nodes_.empty()) {
    in_flight_[base] = InFlight{take_event(), 0};
  } else {
    auto node = std::move(spare_nodes_.back());
    spare_nodes_.pop_back();
    node.key() = base;
    node.mapped() = InFlight{take_event(), 0};
    auto res = in_flight_.insert(std::move(node));
    if (!res.inserted) {  // as the assignment above: the new touch replaces the old record
      res.position->second = std::move(res.node.mapped());
      spare_nodes_.push_back(std::move(res.node));
    }
  }
  // The host fault and the zeroing of the whole backing page take simulated time; others that
  // need the same page meanwhile wait on its in-flight event.
  a.wait_cycles(p_.host_page_fault + p_.page_zero_4k * pages_in_level(made.level));
  finish_first_touch(a, base);
  return made;
}

std::unique_ptr<Event> HostMm::take_event() {
  // An event notified in an earlier delta cycle has fired: the kernel holds no waiter of it.
  const auto now = sc_core::sc_delta_count();
  for (size_t i = 0; i < notified_.size(); ++i) {
    if (notified_[i].first >= now) continue;
    std::unique_ptr<Event> ev = std::move(notified_[i].second);
    notified_[i] = std::move(notified_.back());
    notified_.pop_back();
    return ev;
  }
  return std::make_unique<Event>();
}

void HostMm::finish_first_touch(Agent& a, uint64_t base) {
  if (backing_.contains(base)) {
    Backing b = backing_.get(base);
    b.ready = true;
    backing_.put(base, b);
  }
  auto it = in_flight_.find(base);
  if (it->second.waiters == 0) {
    // Nobody blocked on it: nothing to wake, and the event is free for the next touch.
    notified_.emplace_back(0, std::move(it->second.ev));
  } else {
    a.notify(*it->second.ev);  // at this thread's true time (it catches the kernel's clock up)
    notified_.emplace_back(sc_core::sc_delta_count(), std::move(it->second.ev));
  }
  spare_nodes_.push_back(in_flight_.extract(it));
}

bool HostMm::split_backing(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level <= 1) return false;
  uint64_t n = pages_in_level(p.level);
  uint64_t base = gfn & ~(n - 1);
  const Backing huge = backing_.get(base);
  backing_.erase(base);
  for (uint64_t i = 0; i < n; ++i) {
    Backing b = backing_.get_or_default(base + i);
    b.hpa_base = huge.hpa_base + i * kPageSize;
    b.level = 1;
    b.ready = true;
    backing_.put(base + i, b);
  }
  level_ranges_[base] = {base + n, 1};
  return true;
}

void HostMm::collapse_backing(uint64_t gfn, unsigned level) {
  uint64_t n = pages_in_level(level);
  uint64_t base = gfn & ~(n - 1);
  for (uint64_t i = 0; i < n; ++i) {
    const Backing b = backing_.get(base + i);
    if (b.present && b.level == 1) {
      backing_.erase(base + i);
      backed_bytes_ -= kPageSize;
    }
  }
  level_ranges_[base] = {base + n, level};
  back(base);
  Backing b = backing_.get(base);
  b.ready = true;
  backing_.put(base, b);
}

// ---------------------------------------------------------------------------------------------
// Host memory-manager events

bool HostMm::small_backing(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level == 0) return false;
  if (p.level > 1) split_backing(gfn);
  const Backing b = backing_.get(gfn);
  return b.present && b.ready;  // not ready: still being faulted in
}

Addr HostMm::new_shared_frame() {
  Addr f = next_hpa_;
  next_hpa_ += kPageSize;
  backed_bytes_ += kPageSize;
  return f;
}

void HostMm::replace_frame(Agent& a, uint64_t gfn, Addr frame, bool writable, bool young,
                           bool dirty, Cycles work) {
  const Addr hva = hva_of(gfn);
  // Linux's order (wp_page_copy, replace_page, migration): invalidate the range, switch the
  // host PTE and announce it with change_pte, then end the invalidation.
  // The copy (or compare) happens before the mapping is touched; only the PTE switch sits
  // inside the invalidation, so faults retry only while the switch itself is in progress.
  a.advance(work);
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva + kPageSize);
  a.advance(p_.host_pte_update);
  Backing b = backing_.get_or_default(gfn);
  b.hpa_base = frame;
  b.writable = writable;
  backing_.put(gfn, b);
  if (notifier_) {
    HostPte pte;
    pte.hpa = frame;
    pte.present = true;
    pte.writable = writable;
    pte.young = young;
    pte.dirty = dirty;
    notifier_->change_pte(a, hva, pte);
    notifier_->invalidate_range_end(a, hva, hva + kPageSize);
  }
}

bool HostMm::cow_break(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_cow.inc();
  Addr frame = new_shared_frame();  // a private copy
  replace_frame(a, gfn, frame, true, true, true, p_.host_page_copy);
  return true;
}

bool HostMm::ksm_merge(Agent& a, uint64_t gfn, Addr shared) {
  if (!small_backing(gfn) || backing_.get(gfn).hpa_base == shared) return false;
  stats_.ev_ksm.inc();
  // KSM write-protects the page, compares it with the stable page and maps that one read-only;
  // the new mapping is clean and old (mk_pte sets neither bit).
  backed_bytes_ -= kPageSize;  // the private frame goes back to the allocator
  replace_frame(a, gfn, shared, false, false, false, p_.host_page_copy);
  return true;
}

bool HostMm::migrate(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_migrate.inc();
  bool writable = backing_.get(gfn).writable;
  Addr frame = next_hpa_;
  next_hpa_ += kPageSize;
  replace_frame(a, gfn, frame, writable, true, false, p_.host_page_copy);
  return true;
}

void HostMm::drop_backing(Agent& a, uint64_t gfn, Cycles work) {
  const Addr hva = hva_of(gfn);
  // try_to_unmap clears the PTE inside the invalidation; writing the page to swap comes after.
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva + kPageSize);
  a.advance(p_.host_pte_update);
  backing_.erase(gfn);
  backed_bytes_ -= kPageSize;
  if (notifier_) notifier_->invalidate_range_end(a, hva, hva + kPageSize);
  a.advance(work);
}

bool HostMm::swap_out(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_swap_out.inc();
  swapped_.insert(gfn);
  drop_backing(a, gfn, p_.host_swap_io);
  return true;
}

bool HostMm::balloon(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_balloon.inc();
  drop_backing(a, gfn, 0);
  return true;
}

uint64_t HostMm::unmap_range(Agent& a, uint64_t gfn, uint64_t count) {
  std::vector<uint64_t> backed;
  for (uint64_t g = gfn; g < gfn + count; ++g)
    if (small_backing(g)) backed.push_back(g);
  if (backed.empty()) return 0;
  const Addr hva = hva_of(gfn), hva_end = hva_of(gfn + count);
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva_end);
  for (uint64_t g : backed) {
    a.advance(p_.host_pte_update);
    stats_.ev_balloon.inc();
    backing_.erase(g);
    backed_bytes_ -= kPageSize;
  }
  if (notifier_) notifier_->invalidate_range_end(a, hva, hva_end);
  return backed.size();
}

bool HostMm::clear_young(Agent& a, uint64_t gfn) {
  a.advance(p_.host_pte_update);
  return notifier_ && small_backing(gfn) &&
         notifier_->clear_young(a, hva_of(gfn), hva_of(gfn) + kPageSize);
}

bool HostMm::test_young(Agent& a, uint64_t gfn) {
  return notifier_ && small_backing(gfn) && notifier_->test_young(a, hva_of(gfn));
}

}  // namespace mmusim
