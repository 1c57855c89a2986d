// "Caller holds X" rules checked in code, as KVM's lockdep_assert_held*() and
// kvm_lockdep_assert_mmu_lock_held() check them: a function whose contract says its caller
// holds a lock (in a mode) calls lockdep_assert_* on entry. The rule is checked against the
// agent's held-lock stack (sim/sync/held_locks.hpp), not against "someone holds it".
//
// As lockdep, the checks cost nothing in ordinary builds: they are compiled in check builds
// (MMUSIM_CHECK_LOCKS: the sanitizer and fuzzing builds, and Debug; docs/HARDENING.md), where a
// broken rule is a ModelError naming the function, the thread and the lock. The lockdep_check_*
// forms always check (tests of the rules themselves).
#pragma once
#include <string>

#include "sim/core/error.hpp"
#include "sim/sync/agent.hpp"
#include "sim/sync/rwlock.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

#ifdef MMUSIM_CHECK_LOCKS
inline constexpr bool kCheckLocks = true;
#else
inline constexpr bool kCheckLocks = false;
#endif

[[noreturn]] inline void lockdep_broken(const char* where, const Agent& a, const std::string& what) {
  throw ModelError(std::string(where) + ": " + a.name() + " " + what);
}

inline void lockdep_check_held(const Agent& a, const SpinLock& l, const char* where) {
  if (!l.held_by(a)) lockdep_broken(where, a, "does not hold " + l.name());
}
inline void lockdep_check_held_write(const Agent& a, const RwLock& l, const char* where) {
  if (!l.held_for_write_by(a)) lockdep_broken(where, a, "does not hold " + l.name() + " for write");
}
inline void lockdep_check_held_read(const Agent& a, const RwLock& l, const char* where) {
  if (!l.held_for_read_by(a)) lockdep_broken(where, a, "does not hold " + l.name() + " for read");
}
// Either mode (lockdep_assert_held on an rwlock).
inline void lockdep_check_held(const Agent& a, const RwLock& l, const char* where) {
  if (!l.held_for_write_by(a) && !l.held_for_read_by(a))
    lockdep_broken(where, a, "does not hold " + l.name());
}
// kvm_lockdep_assert_mmu_lock_held: for read when the path runs shared, else for write.
inline void lockdep_check_held_mode(const Agent& a, const RwLock& l, bool shared,
                                    const char* where) {
  if (shared) lockdep_check_held_read(a, l, where); else lockdep_check_held_write(a, l, where);
}
// rcu_read_lock_held.
inline void lockdep_check_rcu(const Agent& a, const char* where) {
  if (a.rcu_depth <= 0) lockdep_broken(where, a, "is not in an RCU read-side section");
}

template <class Lock>
inline void lockdep_assert_held(const Agent& a, const Lock& l, const char* where) {
  if constexpr (kCheckLocks) lockdep_check_held(a, l, where);
}
inline void lockdep_assert_held_write(const Agent& a, const RwLock& l, const char* where) {
  if constexpr (kCheckLocks) lockdep_check_held_write(a, l, where);
}
inline void lockdep_assert_held_read(const Agent& a, const RwLock& l, const char* where) {
  if constexpr (kCheckLocks) lockdep_check_held_read(a, l, where);
}
inline void lockdep_assert_held_mode(const Agent& a, const RwLock& l, bool shared,
                                     const char* where) {
  if constexpr (kCheckLocks) lockdep_check_held_mode(a, l, shared, where);
}
// The rule of a page-table entry change: plain stores need the lock for write; an atomic
// change (cmpxchg, as in shared mode) needs it held in either mode.
inline void lockdep_assert_may_change(const Agent& a, const RwLock& l, bool atomic,
                                      const char* where) {
  if (atomic) lockdep_assert_held(a, l, where); else lockdep_assert_held_write(a, l, where);
}
inline void lockdep_assert_rcu(const Agent& a, const char* where) {
  if constexpr (kCheckLocks) lockdep_check_rcu(a, where);
}

}  // namespace mmusim
