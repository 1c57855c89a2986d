#include "sim/core/timeline.hpp"

#include <cctype>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/stats.hpp"  // json_escape, write_file_atomic

namespace mmusim {

namespace {
// The trace process a track belongs to (docs/ARCHITECTURE.md, Several VMs): the tracks of VM i
// are named "vm.<i>." and go into process i + 2, named "vm.<i>", so a viewer shows each VM's
// threads as one group; host-wide tracks (and a lone VM's, which carry no prefix) are process 1.
int process_of(const std::string& track) {
  if (track.compare(0, 3, "vm.") != 0) return 1;
  size_t i = 3;
  unsigned vm = 0;
  while (i < track.size() && std::isdigit(static_cast<unsigned char>(track[i])))
    vm = vm * 10 + unsigned(track[i++] - '0');
  if (i == 3 || i >= track.size() || track[i] != '.') return 1;
  return int(vm) + 2;
}
}  // namespace

int Timeline::track(const std::string& name) {
  // Tracks are recorded even when disabled: ids stay stable and callers need no branch.
  tracks_.push_back(name);
  return static_cast<int>(tracks_.size() - 1);
}

void Timeline::write(const std::string& path, double clock_ghz) const {
  if (!(clock_ghz > 0.0)) throw ModelError("Timeline::write: clock must be positive");
  // Trace-event times are microseconds; one cycle lasts 1 / (GHz * 1000) us.
  const double cycles_per_us = clock_ghz * 1000.0;
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
  bool first = true;
  auto begin_event = [&] {
    out += first ? "\n" : ",\n";
    first = false;
  };
  std::vector<int> pid(tracks_.size());
  std::set<int> processes{1};
  for (size_t t = 0; t < tracks_.size(); ++t) processes.insert(pid[t] = process_of(tracks_[t]));
  for (int p : processes) {
    const std::string name = p == 1 ? "mmusim" : "vm." + std::to_string(p - 2);
    begin_event();
    out += "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + std::to_string(p) +
           ",\"args\":{\"name\":\"" + name + "\"}}";
  }
  for (size_t t = 0; t < tracks_.size(); ++t) {
    begin_event();
    out += "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + std::to_string(pid[t]) +
           ",\"tid\":" + std::to_string(t) + ",\"args\":{\"name\":\"" + json_escape(tracks_[t]) +
           "\"}}";
  }
  char times[96];
  for (const Event& e : events_) {
    // A span on an unknown track or ending before it starts is a bug in the caller, not in the
    // user's input: say so instead of writing a trace the viewers misdraw.
    if (e.track < 0 || static_cast<size_t>(e.track) >= tracks_.size()) {
      throw ModelError("timeline span '" + std::string(e.name) + "' on unknown track " +
                       std::to_string(e.track));
    }
    if (e.end < e.start) {
      throw ModelError("timeline span '" + std::string(e.name) + "' on track '" + tracks_[e.track] +
                       "' ends before it starts");
    }
    // %.6f: picosecond resolution, enough for any clock up to the 10 GHz --clock-ghz allows.
    std::snprintf(times, sizeof times, "\"ts\":%.6f,\"dur\":%.6f",
                  static_cast<double>(e.start) / cycles_per_us,
                  static_cast<double>(e.end - e.start) / cycles_per_us);
    begin_event();
    out += "{\"ph\":\"X\",\"name\":\"" + json_escape(e.name) + "\",\"pid\":" +
           std::to_string(pid[e.track]) + ",\"tid\":" + std::to_string(e.track) + "," + times + "}";
  }
  out += "\n]}\n";
  write_file_atomic(path, out, "timeline file");
}

}  // namespace mmusim
