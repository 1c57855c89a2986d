// Simulated reference count on a simulated word: get/put are atomic adds, so their cost (and
// the line bouncing between CPUs that share an object) emerges from the memory system.
#pragma once
#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class Refcount {
 public:
  explicit Refcount(Addr word) : word_(word) {}
  void set(Agent& a, uint64_t v) { a.store(word_, v); }
  void get(Agent& a) { a.fetch_add(word_, 1); }
  // Returns true when this put dropped the last reference.
  bool put(Agent& a) { return a.fetch_add(word_, ~uint64_t(0)) == 1; }
  // Takes a reference only if the count is not zero (kvm_tdp_mmu_get_root style).
  bool get_unless_zero(Agent& a);
  uint64_t read(Agent& a) { return a.load(word_); }
  Addr word() const { return word_; }

 private:
  Addr word_;
};

}  // namespace mmusim
