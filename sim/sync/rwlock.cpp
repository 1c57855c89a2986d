// Queued reader-writer lock. Who may enter is decided by the C++ mirror (readers_, writer_,
// queue_) at the requesting agent's true simulated time; what it costs is decided by the memory
// system, because every entry, exit and failed attempt is an Agent atomic or store on the word.
//
// Word layout (qrwlock-like): bits 0..7 the writer-locked byte, readers counted from bit 9.
// Fairness (qrwlock with its wait queue): while anyone is queued, arrivals queue too (no
// barging); a release hands the lock to the queue head: a writer alone, or the run of
// consecutive readers at the head together.
#include "sim/sync/rwlock.hpp"


#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr uint64_t kWriterLocked = 0xff;
constexpr uint64_t kReaderBias = uint64_t(1) << 9;

}  // namespace

RwLock::RwLock(const std::string& stat_prefix, Addr word, Stats& stats, Timeline* timeline)
    : RwLock(std::make_unique<LockStats>(stats, stat_prefix), nullptr, word, timeline) {}

RwLock::RwLock(LockStats& shared, Addr word, Timeline* timeline)
    : RwLock(nullptr, &shared, word, timeline) {}

RwLock::RwLock(std::unique_ptr<LockStats> own, LockStats* shared, Addr word, Timeline* timeline)
    : word_(word),
      own_stats_(std::move(own)),
      wait_(group(shared).wait.storage()),
      read_acquire_(group(shared).read_acquire().storage()),
      write_acquire_(group(shared).write_acquire().storage()),
      contended_(group(shared).contended.storage()),
      timeline_(timeline),
      read_name_("lock_wait:" + group(shared).name() + ":read"),
      write_name_("lock_wait:" + group(shared).name() + ":write"),
      // Timeline::span keeps the name pointer until the trace is written, possibly after the
      // lock is gone; without a timeline the lock's own copies serve its waiters.
      read_span_(timeline ? timeline->intern(read_name_) : read_name_.c_str()),
      write_span_(timeline ? timeline->intern(write_name_) : write_name_.c_str()),
      lock_name_(group(shared).name()) {}

void RwLock::read_lock(Agent& a) {
  const Cycles start = a.now();
  // Decide at true time: once nothing else can act before it (sync_for_access), the mirror
  // describes the lock as it is then. The kernel's clock is not needed for that.
  a.sync_for_access();
  if (writer_ == nullptr && queue_.empty()) {
    ++readers_;
    // The one atomic of an uncontended reader; nothing yields between the decision and the
    // atomic (the agent is already synchronised), so both happen at the same instant.
    a.fetch_add(word_, kReaderBias);
    acquired(a, false, false, start);
    return;
  }
  wait_in_queue(a, false, start);
}

void RwLock::write_lock(Agent& a) {
  const Cycles start = a.now();
  a.sync_for_access();  // as in read_lock
  if (writer_ == nullptr && readers_ == 0 && queue_.empty()) {
    writer_ = &a;
    if (a.cmpxchg(word_, 0, kWriterLocked) != 0)
      throw ModelError("rwlock word not free for an uncontended writer");
    acquired(a, true, false, start);
    return;
  }
  wait_in_queue(a, true, start);
}

void RwLock::wait_in_queue(Agent& a, bool writer, Cycles start) {
  contended_.inc();
  Event wake;
  bool granted = false;
  queue_.push_back(Waiter{&a, writer, &wake, &granted});
  // The failed attempt (a reader's add and back-out, a writer's failed cmpxchg) is one locked
  // RMW on the word; an add of zero costs that without disturbing the value. It pulls the line
  // away from the holder, as real contention does.
  a.fetch_add(word_, 0);
  // The grant may come while the attempt's latency is being waited out, so test the flag
  // before each sleep rather than relying on the notification alone.
  a.sync();
  // A writer holding the lock is named in a deadlock report; readers have no single holder.
  while (!granted) a.wait_event(wake, writer ? write_span_ : read_span_, &writer_);
  // The releaser already counted us in the mirror; now our own atomic on the word, after
  // waking, so we pay for pulling the line over.
  if (writer) {
    if (a.cmpxchg(word_, 0, kWriterLocked) != 0)
      throw ModelError("rwlock word not free for a granted writer");
  } else {
    a.fetch_add(word_, kReaderBias);
  }
  acquired(a, writer, true, start);
}

void RwLock::acquired(Agent& a, bool writer, bool contended, Cycles start) {
  a.held_locks.acquired(this, writer ? LockMode::Exclusive : LockMode::Shared);
  (writer ? write_acquire_ : read_acquire_).inc();
  const Cycles end = a.now();
  // Request to acquisition, including the acquiring atomic itself.
  wait_.sample(end - start);
  if (contended && timeline_ && a.track() >= 0 && end > start)
    timeline_->span(a.track(), writer ? write_span_ : read_span_, start, end);
}

void RwLock::read_unlock(Agent& a) {
  if (readers_ == 0 || !a.held_locks.released(this, LockMode::Shared))
    throw ModelError("rwlock " + lock_name_ + " read_unlock by " + a.name() + ", which is no reader");
  a.fetch_add(word_, ~kReaderBias + 1);  // subtract one reader
  // Mirror follows at the instant of the atomic (it synchronised; nothing yields since).
  --readers_;
  if (readers_ == 0) grant_next(a);
}

bool RwLock::contended(Agent& a) {
  a.load(word_);
  return !queue_.empty();
}

void RwLock::write_unlock(Agent& a) {
  if (writer_ != &a || !a.held_locks.released(this, LockMode::Exclusive))
    throw ModelError("rwlock " + lock_name_ + " write_unlock by " + a.name() + ", which does not hold it");
  // qrwlock releases a writer with a plain release store of the locked byte; no reader can have
  // added itself meanwhile, so storing the whole word is equivalent.
  a.store(word_, 0);
  writer_ = nullptr;
  grant_next(a);
}

void RwLock::grant_next(Agent& a) {
  if (queue_.empty() || writer_ != nullptr) return;
  const auto grant = [&a](const Waiter& w) {
    *w.granted = true;
    a.notify(*w.wake);
  };
  if (queue_.front().writer) {
    if (readers_ != 0) return;
    const Waiter w = queue_.front();
    queue_.pop_front();
    writer_ = w.agent;
    grant(w);
    return;
  }
  // A reader at the head takes every reader queued right behind it, up to the next writer.
  while (!queue_.empty() && !queue_.front().writer) {
    const Waiter w = queue_.front();
    queue_.pop_front();
    ++readers_;
    grant(w);
  }
}

}  // namespace mmusim
