// MemPort -> TLM b_transport -> MemorySystem under the SystemC kernel: functional results of
// every operation, latency accumulated into the caller's delay, and the access time the memory
// system derives from kernel time + delay. Each TEST elaborates and runs once (ctest runs each
// in its own process; by hand, use --gtest_filter one test at a time).
#include <gtest/gtest.h>

#include <systemc>
#include <tlm_utils/simple_initiator_socket.h>

#include "sim/core/clock.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/memory_system.hpp"
#include "tests/mem_test_harness.hpp"

using namespace mmusim;
using mmusim::testing::MemInitiator;
using mmusim::testing::MemRig;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

const MemorySystemParams kLat;  // the defaults the expectations use
const Cycles kDram = kLat.llc_hit + kLat.dram;

// The tests' clock runs at 1 GHz (KernelParams' default): one cycle per nanosecond.
Cycles cyc(const sc_time& t) { return Cycles(t / sc_core::sc_time(1, sc_core::SC_NS)); }

}  // namespace

TEST(MemPort, AtomicsAndPlainAccessesReturnValuesAndAccumulateDelay) {
  const Addr w = phys_layout::kKernelBase + 0x100;
  std::vector<uint64_t> got;
  std::vector<Cycles> lat;  // cycles each call added to the delay
  MemRig r([&](MemInitiator& in) {
    MemPort& p = in.port0;
    sc_time d = SC_ZERO_TIME;
    Cycles before = 0;
    auto step = [&]() { lat.push_back(cyc(d) - before); before = cyc(d); };
    p.write64(w, 5, MemClass::Sync, d);
    step();
    got.push_back(p.cmpxchg64(w, 5, 9, MemClass::Sync, d));   // succeeds: old 5
    step();
    got.push_back(p.cmpxchg64(w, 5, 11, MemClass::Sync, d));  // fails: old 9, unchanged
    step();
    got.push_back(p.xchg64(w, 3, MemClass::Sync, d));
    step();
    got.push_back(p.fetch_add64(w, ~uint64_t(0), MemClass::Sync, d));  // 3 + (-1) wraps to 2
    step();
    got.push_back(p.read64(w, MemClass::Sync, d));
    step();
    got.push_back(p.read64(phys_layout::kKernelBase + 0x108, MemClass::PageTable, d));
    step();
  });
  r.run();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], 5u);
  EXPECT_EQ(got[1], 9u);
  EXPECT_EQ(got[2], 9u);
  EXPECT_EQ(got[3], 3u);
  EXPECT_EQ(got[4], 2u);
  EXPECT_EQ(got[5], 0u);  // neighbouring word, never written
  EXPECT_EQ(r.mem.read64(w), 2u);
  const std::vector<Cycles> want = {kDram,                       // cold write
                                    kLat.l1_hit + kLat.atomic,   // line now Modified in L1
                                    kLat.l1_hit + kLat.atomic,
                                    kLat.l1_hit + kLat.atomic,
                                    kLat.l1_hit + kLat.atomic,
                                    kLat.l1_hit,
                                    kLat.l1_hit};
  EXPECT_EQ(lat, want);
  EXPECT_EQ(r.stats.value("mem.class.sync"), 6u);
  EXPECT_EQ(r.stats.value("mem.class.page_table"), 1u);
  // Loosely timed: the memory system never waited, the thread never advanced kernel time.
  EXPECT_EQ(sc_core::sc_time_stamp(), SC_ZERO_TIME);
}

TEST(MemPort, TwoPortsSeeEachOthersWritesAndPayCoherence) {
  const Addr w = phys_layout::kKernelBase;
  uint64_t seen = 0;
  Cycles write_cost = 0, read_cost = 0;
  MemRig r([&](MemInitiator& in) {
    // One after the other: each access starts when the one before has completed (a request
    // meeting the line still in transfer would wait for it).
    sc_time d0 = SC_ZERO_TIME;
    in.port0.read64(w, MemClass::Sync, d0);
    sc_time d1 = d0;
    in.port1.write64(w, 42, MemClass::Sync, d1);
    write_cost = cyc(d1) - cyc(d0);
    sc_time d = d1;
    seen = in.port0.read64(w, MemClass::Sync, d);
    read_cost = cyc(d) - cyc(d1);
  });
  r.run();
  EXPECT_EQ(seen, 42u);
  EXPECT_EQ(write_cost, kLat.llc_hit + kLat.invalidate);
  EXPECT_EQ(read_cost, kLat.c2c_transfer);
  EXPECT_EQ(r.stats.value("mem.coherence.invalidations"), 1u);
  EXPECT_EQ(r.stats.value("mem.coherence.c2c"), 1u);
}

TEST(MemPort, AccessTimeIsKernelTimePlusDelayForDramQueueing) {
  std::vector<Cycles> lat;
  MemRig r([&](MemInitiator& in) {
    MemPort& p = in.port0;
    // Lines a channel count apart share DRAM channel 0.
    const Addr step = kLineSize * kLat.dram_channels;
    sc_time d = SC_ZERO_TIME;
    p.touch(0, false, d);
    lat.push_back(cyc(d));
    d = SC_ZERO_TIME;  // same instant: queues behind the first
    p.touch(1 * step, false, d);
    lat.push_back(cyc(d));
    d = r.clock().cycles(2 * kLat.dram_occupancy);  // local offset past the busy window
    p.touch(2 * step, true, d);
    lat.push_back(cyc(d) - 2 * kLat.dram_occupancy);
    sc_core::wait(r.clock().cycles(1000));  // kernel time moves on: channel idle again
    d = SC_ZERO_TIME;
    p.touch(3 * step, false, d);
    lat.push_back(cyc(d));
    d = SC_ZERO_TIME;
    p.touch(4 * step, false, d);
    lat.push_back(cyc(d));
  });
  r.run();
  const std::vector<Cycles> want = {kDram, kDram + kLat.dram_occupancy, kDram, kDram,
                                    kDram + kLat.dram_occupancy};
  EXPECT_EQ(lat, want);
  EXPECT_EQ(r.stats.value("mem.class.data"), 5u);
  EXPECT_EQ(r.mem.backed_pages(), 0u);  // Data accesses have no contents
}

TEST(MemPort, PayloadWithoutMemExtIsReported) {
  struct Raw : sc_core::sc_module {
    SC_HAS_PROCESS(Raw);
    explicit Raw(sc_core::sc_module_name n) : sc_core::sc_module(n), socket("socket") {
      SC_THREAD(run);
    }
    void run() {
      tlm::tlm_generic_payload t;
      uint64_t data = 0;
      t.set_address(0);
      t.set_command(tlm::TLM_READ_COMMAND);
      t.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
      t.set_data_length(8);
      t.set_streaming_width(8);
      sc_time d = SC_ZERO_TIME;
      try {
        socket->b_transport(t, d);
      } catch (const sc_core::sc_report& rep) {
        reported = rep.get_severity() == sc_core::SC_ERROR;
      }
    }
    tlm_utils::simple_initiator_socket<Raw> socket;
    bool reported = false;
  };
  Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  MemorySystemParams cfg;
  PhysMem mem;
  Stats stats;
  MemorySystem ms("mem", cfg, clock, mem, stats);
  Raw raw("raw");
  raw.socket.bind(ms.target);
  sc_core::sc_start();
  EXPECT_TRUE(raw.reported);
  EXPECT_EQ(stats.value("mem.l1.miss"), 0u);  // nothing was simulated
}
