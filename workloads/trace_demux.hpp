// One pass over a trace file for all the threads that replay it (docs/TRACE_FORMAT.md,
// Replay). Every replaying thread -- a vCPU, a copy of a trace vCPU, a host thread -- is a
// consumer of one trace thread. The demultiplexer reads the file once: a record of another
// consumer's thread waits in that consumer's queue until it asks, so a trace of N threads costs
// one decode, not N.
//
// Memory stays bounded whatever the interleaving: when the queued records exceed the budget, the
// consumer with the longest queue is detached -- its queue is dropped and it reads the file with
// a reader of its own, skipping the records it has already been given. The records each consumer
// receives, and so the simulation, do not depend on the budget; only the host's work does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "workloads/trace_format.hpp"
#include "workloads/trace_reader.hpp"

namespace mmusim {

class TraceDemux {
 public:
  // `queue_budget_bytes`: the most memory all queues together may hold.
  TraceDemux(const std::string& path, size_t queue_budget_bytes);
  TraceDemux(const TraceDemux&) = delete;
  TraceDemux& operator=(const TraceDemux&) = delete;

  // A new consumer of the records of one trace thread. Consumers are added before the first
  // next(): a record read before its consumer existed would be lost.
  unsigned add_consumer(bool host_thread, uint32_t thread);
  // The consumer's next record, or false when its thread has no more.
  bool next(unsigned consumer, TraceRecord& r);

  // Host-side accounting, for tests and docs/PERFORMANCE.md: records queued at the peak, and
  // consumers that had to read the file on their own.
  size_t peak_queued() const { return peak_queued_; }
  unsigned detached() const { return detached_; }

 private:
  struct Consumer {
    bool host_thread = false;
    uint32_t thread = 0;
    std::deque<TraceRecord> queue;
    uint64_t delivered = 0;              // records handed to the consumer so far
    std::unique_ptr<TraceReader> own;    // once detached: its own pass over the file
  };
  static uint64_t key_of(bool host_thread, uint32_t thread) {
    return (uint64_t(thread) << 1) | (host_thread ? 1 : 0);
  }
  void detach_longest(unsigned except);

  std::string path_;
  size_t budget_records_;
  std::vector<Consumer> consumers_;
  std::vector<std::vector<unsigned>> by_key_;  // trace thread key -> its consumers
  std::unique_ptr<TraceReader> shared_;
  bool started_ = false, ended_ = false;
  size_t queued_ = 0, peak_queued_ = 0;
  unsigned detached_ = 0;
};

}  // namespace mmusim
