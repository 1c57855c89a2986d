#include "workloads/trace_demux.hpp"

#include <algorithm>
#include <stdexcept>

namespace mmusim {

namespace {

// A detached consumer reads alone; a smaller buffer keeps many of them affordable.
constexpr size_t kOwnReaderBufferBytes = size_t(256) << 10;

}  // namespace

TraceDemux::TraceDemux(const std::string& path, size_t queue_budget_bytes)
    : path_(path), budget_records_(std::max<size_t>(1, queue_budget_bytes / sizeof(TraceRecord))) {}

unsigned TraceDemux::add_consumer(bool host_thread, uint32_t thread) {
  if (started_) throw std::logic_error("TraceDemux: consumer added after reading began");
  const uint64_t key = key_of(host_thread, thread);
  if (key >= by_key_.size()) by_key_.resize(key + 1);
  const unsigned id = unsigned(consumers_.size());
  consumers_.emplace_back();
  consumers_.back().host_thread = host_thread;
  consumers_.back().thread = thread;
  by_key_[key].push_back(id);
  return id;
}

bool TraceDemux::next(unsigned id, TraceRecord& r) {
  Consumer& c = consumers_.at(id);
  if (c.own) {
    if (!c.own->next(r)) return false;
    ++c.delivered;
    return true;
  }
  if (!c.queue.empty()) {
    r = c.queue.front();
    c.queue.pop_front();
    --queued_;
    ++c.delivered;
    return true;
  }
  if (ended_) return false;
  if (!started_) {
    started_ = true;
    shared_ = std::make_unique<TraceReader>(path_);
  }
  TraceRecord x;
  while (shared_->next(x)) {
    const uint64_t key = key_of(x.host_thread, x.thread);
    if (key >= by_key_.size()) continue;  // a thread nobody replays
    bool mine = false;
    for (unsigned j : by_key_[key]) {
      if (j == id) {
        mine = true;
        continue;
      }
      Consumer& o = consumers_[j];
      if (o.own) continue;  // it reads its records itself
      o.queue.push_back(x);
      ++queued_;
    }
    if (queued_ > peak_queued_) peak_queued_ = queued_;
    if (queued_ > budget_records_) detach_longest(id);
    if (mine) {
      r = x;
      ++c.delivered;
      return true;
    }
  }
  ended_ = true;
  shared_.reset();  // every record is queued or delivered: free the buffers
  return false;
}

void TraceDemux::detach_longest(unsigned except) {
  // The requesting consumer's queue is empty, so some other consumer holds the excess.
  unsigned longest = except;
  for (unsigned j = 0; j < consumers_.size(); ++j)
    if (j != except && !consumers_[j].own &&
        (longest == except || consumers_[j].queue.size() > consumers_[longest].queue.size()))
      longest = j;
  if (longest == except || consumers_[longest].queue.empty()) return;
  Consumer& o = consumers_[longest];
  o.own = std::make_unique<TraceReader>(path_, kOwnReaderBufferBytes);
  o.own->only(o.host_thread, o.thread);
  TraceRecord skip;
  for (uint64_t i = 0; i < o.delivered; ++i) o.own->next(skip);
  queued_ -= o.queue.size();
  std::deque<TraceRecord>().swap(o.queue);
  ++detached_;
}

}  // namespace mmusim
