// TDP MMU roots: allocation, references, invalidation and the put variants of the root
// put/invalidate change.
#include <sstream>

#include "models/x86/tdp_mmu.hpp"
#include "sim/core/clock.hpp"

namespace mmusim {

void TdpMmu::lock(Agent& a, bool shared) {
  if (shared) mmu_lock_.read_lock(a); else mmu_lock_.write_lock(a);
}

void TdpMmu::unlock(Agent& a, bool shared) {
  if (shared) mmu_lock_.read_unlock(a); else mmu_lock_.write_unlock(a);
}

TdpMmu::Root* TdpMmu::find_root(Addr table) const {
  // Newest first: a freed root's page may have been reused for a newer root.
  for (auto it = roots_.rbegin(); it != roots_.rend(); ++it)
    if ((*it)->table == table) return it->get();
  return nullptr;
}

bool TdpMmu::root_invalid(const Root& r) const { return phys_.read64(r.invalid_word) != 0; }

TdpMmu::Root* TdpMmu::current_root() const {
  for (auto it = roots_.rbegin(); it != roots_.rend(); ++it)
    if (!(*it)->freed && !root_invalid(**it)) return it->get();
  return nullptr;
}

Addr TdpMmu::stage2_root() const {
  const Root* r = current_root();
  return r ? r->table : 0;
}

bool TdpMmu::root_is_current(Addr table) const {
  const Root* r = find_root(table);
  return r && !r->freed && !root_invalid(*r);
}

size_t TdpMmu::live_roots() const {
  size_t n = 0;
  for (const auto& r : roots_) n += !r->freed;
  return n;
}

TdpMmu::Root* TdpMmu::alloc_root(Agent& a) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  a.advance(p_.page_alloc);
  auto r = std::make_unique<Root>();
  r->id = roots_.size();
  r->table = pool_.alloc();
  r->count_word = heap_.alloc();
  r->invalid_word = r->count_word + 8;  // role and count share the page header's line
  r->link_word = heap_.alloc();
  a.store(r->count_word, 1);
  a.store(r->invalid_word, 0);
  r->holders = 1;
  // list_add_rcu onto tdp_mmu_roots under tdp_mmu_pages_lock.
  pages_lock_.lock(a);
  a.store(r->link_word, roots_head_);
  a.store(roots_head_, r->link_word);
  pages_lock_.unlock(a);
  pages_[r->table] = MmuPage{0, fmt_.levels(), r->link_word};
  stats_.roots_alloc.inc();
  roots_.push_back(std::move(r));
  return roots_.back().get();
}

bool TdpMmu::get_root(Agent& a, Root& r, bool only_valid) {
  // kvm_tdp_mmu_get_root: a vCPU wants a valid root; the zappers take any root still listed.
  if (only_valid && a.load(r.invalid_word) != 0) return false;
  // refcount_inc_not_zero.
  uint64_t count = a.load(r.count_word);
  while (count != 0) {
    uint64_t seen = a.cmpxchg(r.count_word, count, count + 1);
    if (seen == count) {
      ++r.holders;
      if (r.freed)
        oracle_.report("reference_to_freed_root", a.now(), a.name(), r.table,
                       "a reference was taken to root " + std::to_string(r.id) +
                           " after its free was queued");
      return true;
    }
    count = seen;
  }
  return false;
}

Addr TdpMmu::load_root(Agent& a, int vcpu_id) {
  // kvm_tdp_mmu_get_vcpu_root_hpa, under mmu_lock for write: reuse a valid root, or make one.
  lock(a, false);
  Root* found = nullptr;
  for (size_t i = roots_.size(); i-- > 0;) {
    Root& r = *roots_[i];
    if (r.on_list && get_root(a, r, true)) {
      found = &r;
      break;
    }
  }
  if (!found) found = alloc_root(a);
  if (root_invalid(*found))
    oracle_.report("invalid_root_reference", a.now(), a.name(), found->table,
                   "vCPU " + std::to_string(vcpu_id) + " was given invalid root " +
                       std::to_string(found->id));
  if (vcpu_id >= 0 && size_t(vcpu_id) < vcpu_root_.size()) vcpu_root_[size_t(vcpu_id)] = found;
  // The VM keeps a reference to the current root of its own (see host_root_).
  if (!host_root_ && get_root(a, *found, false)) host_root_ = found;
  unlock(a, false);
  return found->table;
}

void TdpMmu::unload_root(Agent& a, int vcpu_id) {
  if (vcpu_id < 0 || size_t(vcpu_id) >= vcpu_root_.size()) return;
  Root* r = vcpu_root_[size_t(vcpu_id)];
  if (!r) return;
  vcpu_root_[size_t(vcpu_id)] = nullptr;
  lock(a, false);  // kvm_mmu_free_roots takes mmu_lock for write
  put_root(a, *r, false);
  unlock(a, false);
}

namespace {
// refcount_dec_not_one: decrements unless the count is 1; true when it decremented.
bool dec_not_one(Agent& a, Addr word) {
  uint64_t count = a.load(word);
  while (count != 1) {
    uint64_t seen = a.cmpxchg(word, count, count - 1);
    if (seen == count) return true;
    count = seen;
  }
  return false;
}
}  // namespace

void TdpMmu::put_root(Agent& a, Root& r, bool shared) {
  lockdep_assert_held_mode(a, mmu_lock_, shared, __func__);
  --r.holders;  // the caller gives its reference up
  if (p_.root_put == RootPut::DecNotOne) {
    // A draft from the seed thread: keep the count at 1 while zapping, force it to 0 at the
    // end. Another task may take a reference meanwhile, and the forced 0 then frees the root
    // under it ("KVM should never force a refcount to 0").
    if (dec_not_one(a, r.count_word)) return;
    if (a.xchg(r.invalid_word, 1) == 0) {
      ++r.holders;  // still ours across the zap
      zap_root(a, r, shared);
      --r.holders;
      if (dec_not_one(a, r.count_word)) return;  // may drop another task's reference
    }
    a.store(r.count_word, 0);
    free_root(a, r, shared);
    return;
  }
  // refcount_dec_and_test.
  if (a.fetch_add(r.count_word, ~uint64_t(0)) != 1) return;
  if (p_.root_put == RootPut::ZapAlways) {
    // Zaps whatever state the root is in: an invalidated root was already zapped by
    // zap_all, so this zaps it a second time.
    a.xchg(r.invalid_word, 1);
    zap_root(a, r, shared);
    free_root(a, r, shared);
    return;
  }
  // The agreed version: whoever invalidates the root zaps it, holding a fresh reference so
  // that it may yield; an already-invalid root was zapped by its invalidator and is freed.
  if (a.xchg(r.invalid_word, 1) == 0) {
    a.store(r.count_word, 1);
    ++r.holders;
    zap_root(a, r, shared);
    --r.holders;
    if (a.fetch_add(r.count_word, ~uint64_t(0)) != 1) return;
  }
  free_root(a, r, shared);
}

void TdpMmu::free_root(Agent& a, Root& r, bool shared) {
  lockdep_assert_held_mode(a, mmu_lock_, shared, __func__);
  if (r.holders > 0)
    oracle_.report("root_freed_while_referenced", a.now(), a.name(), r.table,
                   "root " + std::to_string(r.id) + " freed while " +
                       std::to_string(r.holders) + " reference(s) are held");
  if (r.freed) {
    oracle_.report("root_freed_twice", a.now(), a.name(), r.table,
                   "root " + std::to_string(r.id) + " freed a second time");
    return;
  }
  r.freed = true;
  // list_del_rcu under tdp_mmu_pages_lock; the page itself goes after a grace period.
  pages_lock_.lock(a);
  a.store(r.link_word, 0);
  r.on_list = false;
  pages_lock_.unlock(a);
  pages_.erase(r.table);
  (void)shared;
  Addr table = r.table;
  rcu_.call_rcu(a, [this, table]() {
    pool_.free(table);
    stats_.roots_freed.inc();
  });
}

}  // namespace mmusim
