#include "sim/sync/refcount.hpp"

namespace mmusim {

// atomic_inc_not_zero: read the count, then try to move it from the value seen to one more; a
// failed cmpxchg returns the current value, which is the next attempt's expectation. Each round
// is a simulated access, so racing with other getters/putters costs real line transfers.
bool Refcount::get_unless_zero(Agent& a) {
  uint64_t seen = a.load(word_);
  while (seen != 0) {
    const uint64_t old = a.cmpxchg(word_, seen, seen + 1);
    if (old == seen) return true;
    seen = old;
  }
  return false;
}

}  // namespace mmusim
