#include "bench/host_probe.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace mmusim_bench {

double llc_latency_ns(size_t bytes) {
  // One 64-byte line per node; each node holds the index of the next, in a random cycle so the
  // hardware prefetchers cannot guess the next line.
  struct alignas(64) Line {
    size_t next;
  };
  const size_t n = bytes / sizeof(Line);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::shuffle(order.begin() + 1, order.end(), std::mt19937_64(1));
  std::vector<Line> lines(n);
  for (size_t i = 0; i < n; ++i) lines[order[i]].next = order[(i + 1) % n];
  size_t p = 0;
  for (size_t i = 0; i < n; ++i) p = lines[p].next;  // warm: the buffer in the caches it fits
  constexpr size_t kLoads = 4'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kLoads; ++i) p = lines[p].next;
  const auto t1 = std::chrono::steady_clock::now();
  volatile size_t sink = p;  // keeps the chain
  (void)sink;
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / double(kLoads);
}

}  // namespace mmusim_bench
