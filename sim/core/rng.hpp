// Deterministic random numbers: xoshiro256** seeded through splitmix64. Every consumer (vCPU,
// workload stream, host thread) builds its own Rng from the run's --seed and a stream number of
// its own, so sequences are reproducible and do not depend on how SystemC interleaves processes.
// Not std::mt19937_64: its output for a given seed is fixed by the standard, but distributions
// (std::uniform_int_distribution) are not, so results would differ between standard libraries.
#pragma once
#include <cstdint>
#include <limits>

#include "sim/core/error.hpp"

namespace mmusim {

class Rng {
 public:
  using result_type = uint64_t;  // also a UniformRandomBitGenerator (std::shuffle works)

  // Equal (seed, stream) pairs give equal sequences; different streams under one seed give
  // unrelated sequences because the stream number is hashed before it meets the seed.
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ mix(stream + 0x9e3779b97f4a7c15ull);
    for (auto& s : s_) s = splitmix(x);
    // splitmix64 is a bijection of its counter, so four outputs are never all zero (the one
    // state xoshiro cannot leave).
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  uint64_t operator()() { return next(); }
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return std::numeric_limits<uint64_t>::max(); }

  // Uniform in [0, n), without the modulo bias of next() % n: draws in the top partial block of
  // 2^64 mod n values are rejected (at most one retry in two, usually far fewer).
  uint64_t below(uint64_t n) {
    if (n == 0) throw ModelError("Rng::below(0): empty range");
    const uint64_t threshold = (0 - n) % n;  // == 2^64 mod n
    for (;;) {
      const uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }

  // Uniform in [0, 1) with 53 random bits (every double in the range is a multiple of 2^-53).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  static uint64_t splitmix(uint64_t& x) { return mix(x += 0x9e3779b97f4a7c15ull); }

  uint64_t s_[4];
};

}  // namespace mmusim
