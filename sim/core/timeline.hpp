// Timeline export in Chrome trace-event JSON (opens in Perfetto / chrome://tracing): one track
// per vCPU or host thread, complete ("X") events for spans such as fault handling, lock waits and
// flushes. Disabled timelines cost one branch per call. With several VMs each VM's tracks
// (named "vm.<i>.") form a trace process of their own, "vm.<i>"; the rest are process "mmusim".
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sim/core/types.hpp"

namespace mmusim {

class Timeline {
 public:
  explicit Timeline(bool enabled = false) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  // Returns the id of a new track with a display name (e.g. "vcpu.0", "host.mm").
  int track(const std::string& name);
  // A span [start, end) in cycles on a track; `name` must outlive the Timeline (a string literal
  // or a name from intern()).
  void span(int track, const char* name, Cycles start, Cycles end) {
    if (enabled_) events_.push_back({track, name, start, end});
  }
  size_t size() const { return events_.size(); }
  // A copy of `name` that lives as long as the Timeline, for spans named by objects that may be
  // gone before the timeline is written (a lock's wait spans).
  const char* intern(const std::string& name) { return names_.insert(name).first->c_str(); }
  // Writes the JSON file; times are converted to microseconds with the clock in GHz.
  void write(const std::string& path, double clock_ghz) const;

 private:
  struct Event {
    int track;
    const char* name;
    Cycles start, end;
  };
  bool enabled_;
  std::vector<std::string> tracks_;
  std::vector<Event> events_;
  std::set<std::string> names_;  // intern(): a set's strings stay where they are
};

}  // namespace mmusim
