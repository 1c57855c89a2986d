// The direct entry of the memory system (MemDirect, sim/mem/mem_request.hpp): after its first
// access a MemPort calls the memory system directly instead of going through TLM b_transport,
// and an L1 hit is handled by a separate fast path. All of it must be indistinguishable from
// the plain engine: a long mixed sequence of accesses runs on three identical memory systems,
// through MemPorts, through an initiator that forces b_transport for every access, and through
// MemorySystem::access() + perform() (the engine without the direct entry's fast path), and
// every value, every latency, the word contents and the final statistics must agree. Each TEST
// elaborates and runs once (ctest runs each in its own process; by hand, use --gtest_filter
// one test at a time).
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "sim/core/clock.hpp"
#include "sim/core/stats.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/mem/phys_mem.hpp"

using namespace mmusim;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {

// The tests' clock runs at 1 GHz (KernelParams' default): one cycle per nanosecond.
Cycles cyc(const sc_time& t) { return Cycles(t / sc_core::sc_time(1, sc_core::SC_NS)); }

// What one access returned: value (result, or the version seen), the newest version for data
// reads, and the cycles it added to the caller's delay.
struct Outcome {
  uint64_t value = 0, latest = 0;
  Cycles cycles = 0;
  bool operator==(const Outcome& o) const {
    return value == o.value && latest == o.latest && cycles == o.cycles;
  }
};

// An initiator that builds a payload + MemExt for every access and clears MemExt::direct on the
// way back, as a component that must see every access would: every access is a b_transport.
struct TlmOnlyPort : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<TlmOnlyPort> socket;
  TlmOnlyPort(sc_core::sc_module_name n, int cpu) : sc_core::sc_module(n), socket("socket"),
                                                    cpu_(cpu) {}
  Outcome access(Addr addr, MemOp op, MemClass cls, uint64_t value, uint64_t expected,
                 sc_time& delay) {
    tlm::tlm_generic_payload t;
    MemExt ext;
    uint64_t data = value;
    ext.cpu = cpu_;
    ext.op = op;
    ext.cls = cls;
    ext.value = value;
    ext.expected = expected;
    t.set_extension(&ext);
    t.set_address(addr);
    t.set_command(op == MemOp::Read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
    t.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
    t.set_data_length(8);
    t.set_streaming_width(8);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const Cycles before = cyc(delay);
    socket->b_transport(t, delay);
    t.clear_extension(&ext);
    EXPECT_EQ(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    ++b_transports;
    ext.direct = nullptr;
    // MemPort reports no value for a plain write (b_transport leaves the old one) and the newest
    // version for data reads only.
    const bool data_read = op == MemOp::DataRead || op == MemOp::DataReadNc;
    return {op == MemOp::Write ? 0 : ext.result, data_read ? ext.latest : 0,
            cyc(delay) - before};
  }
  uint64_t b_transports = 0;

 private:
  int cpu_;
};

// The same access through MemPort's typed helpers (the direct entry after the first access).
Outcome via_port(MemPort& p, Addr addr, MemOp op, MemClass cls, uint64_t value,
                 uint64_t expected, sc_time& delay) {
  const Cycles before = cyc(delay);
  Outcome o;
  switch (op) {
    case MemOp::Read:
      if (cls == MemClass::Data)
        p.touch(addr, false, delay);
      else
        o.value = p.read64(addr, cls, delay);
      break;
    case MemOp::Write:
      if (cls == MemClass::Data)
        p.touch(addr, true, delay);
      else
        p.write64(addr, value, cls, delay);
      break;
    case MemOp::Cmpxchg: o.value = p.cmpxchg64(addr, expected, value, cls, delay); break;
    case MemOp::Xchg: o.value = p.xchg64(addr, value, cls, delay); break;
    case MemOp::FetchAdd: o.value = p.fetch_add64(addr, value, cls, delay); break;
    case MemOp::FetchAnd: o.value = p.fetch_and64(addr, value, cls, delay); break;
    case MemOp::FetchOr: o.value = p.fetch_or64(addr, value, cls, delay); break;
    case MemOp::DataRead:
    case MemOp::DataReadNc: {
      const MemPort::DataVersion v = p.read_data(addr, op == MemOp::DataRead, delay);
      o.value = v.seen;
      o.latest = v.latest;
      break;
    }
    case MemOp::DataWrite:
    case MemOp::DataWriteNc: o.value = p.write_data(addr, op == MemOp::DataWrite, delay); break;
    default: o.value = p.cmo(addr, value, op, delay); break;  // bytes covered
  }
  o.cycles = cyc(delay) - before;
  return o;
}

// Small caches, so that the sequence below evicts from every level and the LLC
// back-invalidates private copies.
MemorySystemParams small_config() {
  MemorySystemParams c;
  c.pcpus = 2;
  c.l1_size = 4096;
  c.l1_ways = 4;
  c.l2_size = 8192;
  c.l2_ways = 4;
  c.llc_size = 32768;
  c.llc_ways = 8;
  return c;
}

struct Step {
  int cpu;
  Addr addr;
  MemOp op;
  MemClass cls;
  uint64_t value, expected;
  Cycles offset;  // local offset of the caller ahead of the kernel
  Cycles wait;    // kernel time the caller lets pass first
};

// A fixed pseudo-random mix: words in the page-table pool, in the kernel region and outside
// PhysMem's windows; guest data lines; versioned data; cache maintenance.
std::vector<Step> mixed_sequence(size_t n) {
  std::mt19937_64 rng(12345);
  auto pick = [&](uint64_t k) { return rng() % k; };
  const Addr word_bases[] = {phys_layout::kPageTableBase, phys_layout::kKernelBase,
                             Addr(3) << 44, phys_layout::kPageTableBase +
                                                (PhysMem::kDensePages << kPageShift)};
  std::vector<Step> v;
  for (size_t i = 0; i < n; ++i) {
    Step a{};
    a.cpu = int(pick(2));
    a.offset = pick(4) == 0 ? pick(500) : 0;
    a.wait = pick(50) == 0 ? pick(400) : 0;
    const uint64_t kind = pick(20);
    if (kind < 11) {  // a word with contents
      // Mostly a few hot lines, which stay in L1 (the direct entry's own fast path).
      const uint64_t line = pick(4) ? pick(3) : pick(96);
      a.addr = word_bases[line % 4] + line * kLineSize + pick(8) * 8;
      a.cls = pick(2) ? MemClass::Sync : MemClass::PageTable;
      const MemOp ops[] = {MemOp::Read,    MemOp::Read, MemOp::Read,     MemOp::Write,
                           MemOp::Cmpxchg, MemOp::Xchg, MemOp::FetchAdd, MemOp::FetchAnd,
                           MemOp::FetchOr};
      a.op = ops[pick(9)];
      a.value = pick(4);
      a.expected = pick(4);
    } else if (kind < 17) {  // timing-only guest data
      a.addr = 0x100000 + (pick(2) ? pick(4) : pick(600)) * kLineSize;
      a.cls = MemClass::Data;
      a.op = pick(3) ? MemOp::Read : MemOp::Write;
    } else if (kind < 19) {  // versioned data
      a.addr = 0x200000 + pick(40) * kLineSize;
      a.cls = MemClass::Data;
      const MemOp ops[] = {MemOp::DataRead, MemOp::DataWrite, MemOp::DataReadNc,
                           MemOp::DataWriteNc};
      a.op = ops[pick(4)];
    } else {  // maintenance over one to three lines
      a.addr = 0x200000 + pick(40) * kLineSize;
      a.cls = MemClass::Data;
      const MemOp ops[] = {MemOp::CmoClean, MemOp::CmoInval, MemOp::CmoCleanInval};
      a.op = ops[pick(3)];
      a.value = (1 + pick(3)) * kLineSize;
    }
    v.push_back(a);
  }
  return v;
}

std::string stats_json(const Stats& s) {
  std::ostringstream os;
  s.write_json(os);
  return os.str();
}

// Runs `body` in a SystemC thread.
struct Driver : sc_core::sc_module {
  SC_HAS_PROCESS(Driver);
  Driver(sc_core::sc_module_name n, std::function<void()> body)
      : sc_core::sc_module(n), body_(std::move(body)) {
    SC_THREAD(run);
  }
  void run() { body_(); }

 private:
  std::function<void()> body_;
};

struct Twin {
  MemorySystemParams cfg = small_config();
  PhysMem mem;
  Stats stats;
};

}  // namespace

TEST(MemDirect, DirectEntryBTransportAndEngineAgreeOnEveryAccess) {
  const Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  Twin direct, tlm, engine;
  MemorySystem ms_direct("ms_direct", direct.cfg, clock, direct.mem, direct.stats);
  MemorySystem ms_tlm("ms_tlm", tlm.cfg, clock, tlm.mem, tlm.stats);
  MemorySystem ms_engine("ms_engine", engine.cfg, clock, engine.mem, engine.stats);
  MemPort p0("p0", 0, clock), p1("p1", 1, clock);
  TlmOnlyPort t0("t0", 0), t1("t1", 1);
  TlmOnlyPort e0("e0", 0), e1("e1", 1);  // the engine has no API for versioned data and CMOs
  p0.socket.bind(ms_direct.target);
  p1.socket.bind(ms_direct.target);
  t0.socket.bind(ms_tlm.target);
  t1.socket.bind(ms_tlm.target);
  e0.socket.bind(ms_engine.target);
  e1.socket.bind(ms_engine.target);

  // The engine as b_transport documents it: the access happens at kernel time + delay.
  auto via_engine = [&](const Step& a, sc_time& delay) {
    if (is_extended_op(a.op))
      return (a.cpu ? e1 : e0).access(a.addr, a.op, a.cls, a.value, a.expected, delay);
    const Cycles when = cyc(sc_core::sc_time_stamp() + delay);
    Outcome o;
    o.cycles = ms_engine.access(a.cpu, a.addr, a.op, a.cls, when);
    delay += clock.cycles(o.cycles);
    if (a.cls != MemClass::Data) {
      const uint64_t v = ms_engine.perform(a.addr, a.op, a.value, a.expected);
      if (a.op != MemOp::Write) o.value = v;
    }
    return o;
  };
  auto show = [](const Outcome& o) {
    return std::to_string(o.value) + "/" + std::to_string(o.latest) + "/" +
           std::to_string(o.cycles) + " cycles";
  };

  const std::vector<Step> seq = mixed_sequence(20000);
  size_t mismatches = 0, done = 0;
  Driver driver("driver", [&] {
    for (const Step& a : seq) {
      if (a.wait) sc_core::wait(clock.cycles(a.wait));
      sc_time d1 = clock.cycles(a.offset), d2 = d1, d3 = d1;
      const Outcome got = via_port(a.cpu ? p1 : p0, a.addr, a.op, a.cls, a.value, a.expected, d1);
      const Outcome tlm_got =
          (a.cpu ? t1 : t0).access(a.addr, a.op, a.cls, a.value, a.expected, d2);
      const Outcome want = via_engine(a, d3);
      if (!(got == want && tlm_got == want) && ++mismatches <= 5)
        ADD_FAILURE() << "access " << done << " op " << int(a.op) << " at 0x" << std::hex
                      << a.addr << std::dec << ": direct " << show(got) << ", b_transport "
                      << show(tlm_got) << ", engine " << show(want);
      ++done;
    }
  });
  sc_core::sc_start();
  EXPECT_EQ(done, seq.size());
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(t0.b_transports + t1.b_transports, seq.size());
  EXPECT_EQ(stats_json(direct.stats), stats_json(engine.stats));
  EXPECT_EQ(stats_json(tlm.stats), stats_json(engine.stats));
  // The sequence did reach every level, coherence and maintenance, and the L1-hit fast path
  // thousands of times.
  EXPECT_GT(direct.stats.value("mem.llc.back_invalidations"), 0u);
  EXPECT_GT(direct.stats.value("mem.coherence.c2c"), 0u);
  EXPECT_GT(direct.stats.value("mem.coherence.invalidations"), 0u);
  EXPECT_GT(direct.stats.value("mem.cmo.writebacks"), 0u);
  EXPECT_GT(direct.stats.value("mem.l1.hit"), seq.size() / 4);
  for (const Step& a : seq) {
    if (a.cls != MemClass::Data) {
      EXPECT_EQ(direct.mem.read64(a.addr), engine.mem.read64(a.addr));
      EXPECT_EQ(tlm.mem.read64(a.addr), engine.mem.read64(a.addr));
    }
  }
  EXPECT_EQ(direct.mem.backed_pages(), engine.mem.backed_pages());
  EXPECT_EQ(tlm.mem.backed_pages(), engine.mem.backed_pages());
}

// A target other than the memory system offers no direct entry: MemPort keeps using
// b_transport for every access, and the payload carries the request each time.
TEST(MemDirect, PortWithoutDirectEntryStaysOnBTransport) {
  struct Echo : sc_core::sc_module {
    tlm_utils::simple_target_socket<Echo> socket;
    explicit Echo(sc_core::sc_module_name n) : sc_core::sc_module(n), socket("socket") {
      socket.register_b_transport(this, &Echo::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& t, sc_time& delay) {
      MemExt* ext = t.get_extension<MemExt>();
      ASSERT_NE(ext, nullptr);
      ext->result = t.get_address() + ext->value;
      delay += sc_time(7, sc_core::SC_NS);  // 7 cycles at 1 GHz
      t.set_response_status(tlm::TLM_OK_RESPONSE);
      ++calls;
    }
    uint64_t calls = 0;
  };
  const Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  Echo echo("echo");
  MemPort port("port", 0, clock);
  port.socket.bind(echo.socket);
  std::vector<uint64_t> got;
  Cycles total = 0;
  Driver driver("driver", [&] {
    sc_time d = SC_ZERO_TIME;
    for (uint64_t i = 0; i < 3; ++i)
      got.push_back(port.fetch_add64(0x1000, i, MemClass::Sync, d));
    total = cyc(d);
  });
  sc_core::sc_start();
  EXPECT_EQ(echo.calls, 3u);
  EXPECT_EQ(got, (std::vector<uint64_t>{0x1000, 0x1001, 0x1002}));
  EXPECT_EQ(total, 21u);
}
