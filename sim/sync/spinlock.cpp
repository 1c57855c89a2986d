// Ticket spinlock on a simulated word. The word is the truth for the hardware (every step is an
// Agent atomic or load through the memory system, so line bouncing between waiters and the holder
// costs what the cache model says); the C++ mirror of the served ticket only lets a waiter decide,
// without simulated traffic, whether it must sleep on the lock's event or re-read the word now.
#include "sim/sync/spinlock.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr uint64_t kTicket = uint64_t(1) << 32;  // one step of the next-ticket (high) half

uint32_t served_of(uint64_t word) { return static_cast<uint32_t>(word); }
uint32_t next_of(uint64_t word) { return static_cast<uint32_t>(word >> 32); }

}  // namespace

SpinLock::SpinLock(const std::string& stat_prefix, Addr word, Stats& stats, Timeline* timeline)
    : SpinLock(std::make_unique<LockStats>(stats, stat_prefix), nullptr, word, timeline) {}

SpinLock::SpinLock(LockStats& shared, Addr word, Timeline* timeline)
    : SpinLock(nullptr, &shared, word, timeline) {}

SpinLock::SpinLock(std::unique_ptr<LockStats> own, LockStats* shared, Addr word,
                   Timeline* timeline)
    : word_(word),
      own_stats_(std::move(own)),
      wait_(group(shared).wait.storage()),
      acquire_(group(shared).acquire().storage()),
      contended_(group(shared).contended.storage()),
      timeline_(timeline),
      name_("lock_wait:" + group(shared).name()),
      // Timeline::span keeps the name pointer until the trace is written, possibly after the
      // lock is gone; without a timeline the lock's own copy serves its waiters.
      span_name_(timeline ? timeline->intern(name_) : name_.c_str()),
      lock_name_(group(shared).name()) {}

void SpinLock::lock(Agent& a) {
  const Cycles start = a.now();
  // Taking a ticket is the one atomic every acquirer pays; the old value says whether the lock
  // was free (served == my ticket) at the true time of the request.
  const uint64_t old = a.fetch_add(word_, kTicket);
  const uint32_t mine = next_of(old);
  // The atomic saw the served half at this very instant, so it is also the mirror's value; this
  // keeps the mirror right even if the word did not start at zero.
  served_ = served_of(old);
  const bool contended = served_ != mine;
  if (contended) {
    contended_.inc();
    for (;;) {
      // Reach true time first: the mirror is only meaningful at the agent's own time. If the
      // served ticket moved while we were getting here, the notification may already be gone,
      // so only sleep when the mirror says it is still somebody else's turn.
      a.sync();
      if (served_ != mine) a.wait_event(changed_, span_name_, &holder_);
      // Like a real spinner, re-read the word after every change: the line comes back from the
      // releaser's cache, which is where hand-over cost and thundering-herd traffic come from.
      if (served_of(a.load(word_)) == mine) break;
    }
  }
  holder_ = &a;
  a.held_locks.acquired(this, LockMode::Exclusive);
  acquire_.inc();
  const Cycles end = a.now();
  // Wait = request to acquisition, including the ticket atomic itself (an uncontended lock is
  // not free: its cost is the line transfer of the word).
  wait_.sample(end - start);
  if (contended && timeline_ && a.track() >= 0 && end > start)
    timeline_->span(a.track(), span_name_, start, end);
}

bool SpinLock::try_lock(Agent& a) {
  // arch_spin_trylock: read, and only if the lock looks free take the next ticket with a cmpxchg
  // that fails if anybody changed the word in between.
  const uint64_t v = a.load(word_);
  if (served_of(v) != next_of(v)) return false;
  if (a.cmpxchg(word_, v, v + kTicket) != v) return false;
  served_ = served_of(v);  // unchanged since the load, as the cmpxchg just proved
  holder_ = &a;
  a.held_locks.acquired(this, LockMode::Exclusive);
  acquire_.inc();
  return true;
}

void SpinLock::unlock(Agent& a) {
  if (holder_ != &a || !a.held_locks.released(this, LockMode::Exclusive))
    throw ModelError("spinlock " + lock_name_ + " unlocked by " + a.name() + ", which does not hold it");
  // Bump only the served half; at the wrap of 2^32 tickets subtract the carry so the next-ticket
  // half is left alone (one atomic add either way).
  const uint64_t addend = served_ == 0xffffffffu ? 1 - kTicket : 1;
  a.fetch_add(word_, addend);
  // The atomic has just acted on the word at this agent's true time (fetch_add synchronised and
  // nothing yields in between), so the mirror and the wake-up happen at that same instant.
  ++served_;
  holder_ = nullptr;
  // Delta notification: a waiter that reaches wait() later in this evaluation phase still sees
  // it; one that runs before us saw the old mirror and is already waiting.
  a.notify(changed_);
}

}  // namespace mmusim
