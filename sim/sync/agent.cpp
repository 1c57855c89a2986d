#include "sim/sync/agent.hpp"

namespace mmusim {

Agent::Agent(std::string name, int id, MemPort& port, int timeline_track)
    : name_(std::move(name)), id_(id), port_(port), track_(timeline_track) {
  qk_.reset();
}

// Each helper passes the local offset as the transport delay, so the memory system sees the
// access at this agent's true time, and keeps the returned delay as the new offset.
uint64_t Agent::load_nosync(Addr a, MemClass c) {
  sc_core::sc_time t = qk_.get_local_time();
  uint64_t v = port_.read64(a, c, t);
  qk_.set(t);
  return v;
}

uint64_t Agent::load(Addr a, MemClass c) {
  sync();
  return load_nosync(a, c);
}

void Agent::store(Addr a, uint64_t v, MemClass c) {
  sync();
  sc_core::sc_time t = qk_.get_local_time();
  port_.write64(a, v, c, t);
  qk_.set(t);
}

uint64_t Agent::cmpxchg(Addr a, uint64_t expected, uint64_t desired, MemClass c) {
  sync();
  sc_core::sc_time t = qk_.get_local_time();
  uint64_t old = port_.cmpxchg64(a, expected, desired, c, t);
  qk_.set(t);
  return old;
}

uint64_t Agent::xchg(Addr a, uint64_t v, MemClass c) {
  sync();
  sc_core::sc_time t = qk_.get_local_time();
  uint64_t old = port_.xchg64(a, v, c, t);
  qk_.set(t);
  return old;
}

uint64_t Agent::fetch_add(Addr a, uint64_t addend, MemClass c) {
  sync();
  sc_core::sc_time t = qk_.get_local_time();
  uint64_t old = port_.fetch_add64(a, addend, c, t);
  qk_.set(t);
  return old;
}

}  // namespace mmusim
