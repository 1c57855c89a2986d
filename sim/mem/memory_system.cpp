#include "sim/mem/memory_system.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/mem/memory_system_impl.hpp"

namespace mmusim {

using namespace mem_detail;

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

MemorySystem::Impl::Impl(const MemorySystemParams& c, Stats& stats)
    : p_(c),
      ncpus(c.pcpus),
      privs(ncpus),
      llc(c.llc_size, c.llc_ways, "--llc-size/--llc-ways"),
      dir(llc.slots()),
      channel_busy(c.dram_channels, 0),
      home_busy(c.home_nodes, 0),
      home_count_(c.home_nodes, 0),
      stats(stats) {
  if (ncpus == 0 || ncpus > SharerSet::kMaxCpus + 1)
    throw UsageError("memory system: physical CPU count must be 1.." +
                     std::to_string(SharerSet::kMaxCpus + 1));
  if (c.dram_channels == 0) throw UsageError("--dram-channels must be at least 1");
  if (c.home_nodes == 0) throw UsageError("--home-nodes must be at least 1");
  if (c.sockets == 0) throw UsageError("--sockets must be at least 1");
  // Validate the private geometry now rather than on some CPU's first access mid-run.
  PrivateCaches probe(c);
  (void)probe;
}

// The whole L1-hit path lives here: one set scan, two recency stamps, and for a write a state
// check that needs no directory unless the line is Shared.
Cycles MemorySystem::Impl::access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when) {
  check_cpu(cpu);
  stats.class_count[unsigned(cls)]->inc();
  const unsigned c = unsigned(cpu);
  PrivateCaches& p = priv(c);
  const uint64_t line = addr >> kLineShift;
  const bool write = op != MemOp::Read;
  const Cycles extra = is_atomic(op) ? p_.atomic : 0;

  const uint32_t s1 = p.l1.find(line);
  if (s1 != TagArray::kNone) {
    stats.l1_hit.inc();
    p.l1.touch(s1);
    const uint32_t s2 = p.l1.link(s1);
    // L2 recency follows L1 reuse too, so a hot L1 line never becomes L2's LRU victim and is
    // not thrown out of L1 by inclusion.
    p.l2.touch(s2);
    if (!write) return p_.l1_hit;
    uint8_t& st = p.l2_state[s2];
    if (st != kShared) {  // Exclusive -> Modified silently: the directory already names us owner
      st = kModified;
      return p_.l1_hit + extra;
    }
    return p_.l1_hit + extra + upgrade(c, p, s2, extra, when);
  }
  stats.l1_miss.inc();
  return private_miss(c, p, line, write, extra, when) + extra;
}

Cycles MemorySystem::Impl::access_l1_missed(int cpu, Addr addr, MemOp op, MemClass cls,
                                            Cycles when) {
  stats.class_count[unsigned(cls)]->inc();
  stats.l1_miss.inc();
  const Cycles extra = is_atomic(op) ? p_.atomic : 0;
  return private_miss(unsigned(cpu), *privs[unsigned(cpu)], addr >> kLineShift,
                      op != MemOp::Read, extra, when) + extra;
}

Cycles MemorySystem::Impl::private_miss(unsigned cpu, PrivateCaches& p, uint64_t line, bool write,
                                        Cycles hold, Cycles when) {
  uint32_t s2 = p.l2.find(line);
  if (s2 != TagArray::kNone) {
    stats.l2_hit.inc();
    p.l2.touch(s2);
    l1_fill(p, line, s2);
    if (!write) return p_.l2_hit;
    uint8_t& st = p.l2_state[s2];
    if (st != kShared) {
      st = kModified;
      return p_.l2_hit;
    }
    return p_.l2_hit + upgrade(cpu, p, s2, hold, when);
  }
  stats.l2_miss.inc();
  uint8_t state = kShared;
  uint32_t llc_s = 0;
  const Cycles l = llc_lookup(cpu, line, write, hold, when, state, llc_s);
  s2 = l2_fill(cpu, p, line, state, llc_s);
  l1_fill(p, line, s2);
  return l;
}

// Write by a CPU that holds the line Shared: the directory invalidates every other holder. No
// other holder can be Exclusive or Modified while we share it, so no data moves. The round of
// invalidations holds the line at the directory until every holder has acknowledged.
Cycles MemorySystem::Impl::upgrade(unsigned cpu, PrivateCaches& p, uint32_t l2slot, Cycles hold,
                                   Cycles when) {
  const uint64_t line = p.l2.tag(l2slot);
  DirEntry& d = dir_of_private(p, l2slot);
  Cycles cost = line_wait(d, when);
  if (d.sharers.size() > 1) {
    cost += invalidate_others(d, line, cpu);
    d.busy_until = when + cost + hold;
  }
  d.owned = true;
  // The caller's L2 slot is still valid: drop_private only touched other CPUs' caches.
  p.l2_state[l2slot] = kModified;
  return cost;
}

Cycles MemorySystem::Impl::invalidate_others(DirEntry& d, uint64_t line, unsigned keep) {
  stats.invalidations.inc();
  d.sharers.for_each([&](unsigned other) {
    if (other != keep) drop_private(other, line);
  });
  d.sharers.clear();
  if (keep != kNobody) d.sharers.add(keep);
  return p_.invalidate;
}

// A private (L2) miss reaches the LLC and its directory. Returns the latency of the access as
// seen by the requester and the state its private caches get.
Cycles MemorySystem::Impl::llc_lookup(unsigned cpu, uint64_t line, bool write, Cycles hold,
                                      Cycles when, uint8_t& state, uint32_t& slot) {
  uint32_t s = llc.find(line);
  Cycles cost, wait = 0;
  // A request from DRAM holds the line until the data is in; reads served by the LLC alone
  // (no other cache involved) share it with whatever follows.
  bool holds = false;
  if (s != TagArray::kNone) {
    stats.llc_hit.inc();
    llc.touch(s);
    wait = line_wait(dir[s], when);
    cost = p_.llc_hit;
  } else {
    stats.llc_miss.inc();
    cost = p_.llc_hit + dram_read(line, when);
    s = llc_fill(line, when);
    holds = true;
  }
  slot = s;
  DirEntry& d = dir[s];

  // Does another CPU own the line, and is its copy modified?
  bool owner_modified = false;
  unsigned owner = 0;
  uint32_t owner_slot = TagArray::kNone;
  if (d.owned) {
    owner = d.sharers.first();
    PrivateCaches& op = *privs[owner];
    owner_slot = op.l2.find(line);
    if (owner_slot == TagArray::kNone)
      throw ModelError("memory system: directory owner lost its copy");
    owner_modified = op.l2_state[owner_slot] == kModified;
  }
  if (owner_modified) {
    // The owner's cache supplies the data instead of the LLC, across the socket link when the
    // owner sits on the other socket.
    stats.c2c.inc();
    cost = p_.c2c_transfer;
    if (socket_of(owner) != socket_of(cpu)) {
      stats.c2c_remote.inc();
      cost = p_.c2c_remote;
    }
  }
  // Snooping an owner (to downgrade or take its copy) involves another cache: the line is held.
  holds |= d.owned;

  if (!write) {
    if (d.owned) {
      // Owner downgrades to Shared; a modified copy is written back into the LLC on the way.
      privs[owner]->l2_state[owner_slot] = kShared;
      if (owner_modified) d.dirty = true;
      d.owned = false;
    }
    if (d.sharers.empty()) {
      state = kExclusive;
      d.owned = true;
    } else {
      state = kShared;
    }
    d.sharers.add(cpu);
    if (holds) d.busy_until = when + wait + cost;
    return wait + cost;
  }

  if (!d.sharers.empty()) {
    cost += invalidate_others(d, line);
    holds = true;
  }
  d.sharers.add(cpu);
  d.owned = true;
  state = kModified;
  if (holds || hold) d.busy_until = when + wait + cost + hold;
  return wait + cost;
}

// Allocates `line` in the LLC, evicting the set's LRU line first. Inclusion: every private copy
// of the victim is invalidated; if any was modified, or the LLC copy is dirty, the victim goes
// back to DRAM.
uint32_t MemorySystem::Impl::llc_fill(uint64_t line, Cycles when, Cycles* victim_wait) {
  const uint32_t v = llc.victim(line);
  if (llc.valid(v)) {
    const uint64_t old = llc.tag(v);
    DirEntry& d = dir[v];
    bool dirty = d.dirty;
    d.sharers.for_each([&](unsigned holder) {
      stats.back_invalidations.inc();
      if (drop_private(holder, old) == kModified) dirty = true;
    });
    if (dirty) {
      const Cycles w = dram_writeback(old, when);
      if (victim_wait) *victim_wait = w;
    }
    if (!versions.empty()) versions.evicted(old, dirty);
    d.reset();
  }
  llc.fill(v, line);
  return v;
}

// Puts `line` in the CPU's L2. The L2 victim leaves L1 too (inclusion) and the directory learns
// that this CPU no longer holds it; a modified victim is written back into the LLC.
uint32_t MemorySystem::Impl::l2_fill(unsigned cpu, PrivateCaches& p, uint64_t line,
                                     uint8_t state, uint32_t llc_slot) {
  const uint32_t v = p.l2.victim(line);
  if (p.l2.valid(v)) {
    const uint64_t old = p.l2.tag(v);
    const uint32_t s1 = p.l1.find(old);
    if (s1 != TagArray::kNone) p.l1.invalidate(s1);
    DirEntry& d = dir_of_private(p, v);
    d.sharers.remove(cpu);
    d.owned = false;  // if we were the owner we were the only sharer
    if (p.l2_state[v] == kModified) d.dirty = true;
  }
  p.l2.fill(v, line);
  p.l2_state[v] = state;
  p.l2.set_link(v, llc_slot);
  return v;
}

// Puts `line` in L1. The L1 victim needs no bookkeeping: it stays in L2, which holds its state.
void MemorySystem::Impl::l1_fill(PrivateCaches& p, uint64_t line, uint32_t l2slot) {
  const uint32_t v = p.l1.victim(line);
  p.l1.fill(v, line);
  p.l1.set_link(v, l2slot);
}

// Removes the line from cpu's L1 and L2 (the directory entry is the caller's business).
// Returns the state it had.
uint8_t MemorySystem::Impl::drop_private(unsigned cpu, uint64_t line) {
  PrivateCaches* p = privs[cpu].get();
  const uint32_t s2 = p ? p->l2.find(line) : TagArray::kNone;
  if (s2 == TagArray::kNone)
    throw ModelError("memory system: directory names cpu " + std::to_string(cpu) +
                     " as a holder of a line it does not hold");
  const uint32_t s1 = p->l1.find(line);
  if (s1 != TagArray::kNone) p->l1.invalidate(s1);
  const uint8_t st = p->l2_state[s2];
  p->l2.invalidate(s2);
  p->l2_state[s2] = kShared;
  return st;
}

// Demand read from DRAM: the line's channel (lines interleaved across channels) serves one
// access per dram_occupancy cycles, so a request arriving while it is busy waits its turn.
Cycles MemorySystem::Impl::dram_read(uint64_t line, Cycles when) {
  Cycles& busy = channel_busy[line % channel_busy.size()];
  const Cycles start = std::max(when, busy);
  const Cycles wait = start - when;
  busy = start + p_.dram_occupancy;
  stats.queue_wait.sample(wait);
  stats.dram_accesses.inc();
  return wait + p_.dram;
}

// A writeback occupies its channel like a read, delaying later reads. A demand miss does not
// wait for its victim's (write buffers); a zeroing store does (zero_range: its fills produce
// nothing but dirty victims, and the buffers absorb no stream of them).
Cycles MemorySystem::Impl::dram_writeback(uint64_t line, Cycles when) {
  Cycles& busy = channel_busy[line % channel_busy.size()];
  const Cycles start = std::max(when, busy);
  busy = start + p_.dram_occupancy;
  stats.writebacks.inc();
  return start - when;
}

// Zeroing stores (memory_system.hpp, "Zeroing stores"): each line holds one of the core's fill
// buffers from its issue until it is owned and, when its LLC fill evicted a dirty line, that
// victim's channel took it; the batch completes when its last line did.
Cycles MemorySystem::Impl::zero_range(unsigned cpu, uint64_t first_line, uint64_t lines,
                                      Cycles when) {
  check_cpu(int(cpu));
  PrivateCaches& p = priv(cpu);
  std::vector<Cycles>& buffers = zero_buffers_;  // when each fill buffer is free again
  buffers.assign(std::max(1u, p_.fill_buffers), when);
  Cycles finish = when, queued = 0;
  const bool versioned = !versions.empty();
  const size_t nbuf = buffers.size();
  size_t b = 0;
  for (uint64_t i = 0; i < lines; ++i) {
    const uint64_t line = first_line + i;
    Cycles& buffer = buffers[b];
    Cycles victim_wait = 0;
    buffer += zero_line(cpu, p, line, buffer, victim_wait);
    buffer += victim_wait;
    queued += victim_wait;
    finish = std::max(finish, buffer);
    // The coherent copy is the new one (zeroes); DRAM keeps whatever it held until the line is
    // evicted or cleaned to the PoC, which is what a reader past the caches (a guest with its
    // MMU off) would see: versioned, so that the oracle sees it too.
    if (versioned) {
      DataVersions::Line& v = versions.get(line);
      v.cached = v.latest = versions.next();
    }
    if (++b == nbuf) b = 0;
  }
  stats.zero_queue_wait.sample(queued);
  stats.zero_lines.inc(lines);
  return finish - when;
}

Cycles MemorySystem::Impl::zero_line(unsigned cpu, PrivateCaches& p, uint64_t line, Cycles when,
                                     Cycles& victim_wait) {
  uint32_t s2 = p.l2.find(line);
  if (s2 != TagArray::kNone) {
    // Cached here already: written in place (from L2 into L1 if only L2 has it, as any write);
    // a Shared copy first invalidates the others.
    p.l2.touch(s2);
    const uint32_t s1 = p.l1.find(line);
    Cycles cost = p_.l1_hit;
    if (s1 != TagArray::kNone) {
      p.l1.touch(s1);
    } else {
      l1_fill(p, line, s2);
      cost = p_.l2_hit;
    }
    uint8_t& st = p.l2_state[s2];
    if (st != kShared) {
      st = kModified;
      return cost;
    }
    stats.zero_dropped.inc(dir_of_private(p, s2).sharers.size() - 1);
    return cost + upgrade(cpu, p, s2, 0, when);
  }
  // Ownership from the directory, without the data.
  uint32_t s = llc.find(line);
  Cycles cost = p_.llc_hit, wait = 0;
  if (s != TagArray::kNone) {
    llc.touch(s);
    DirEntry& d = dir[s];
    wait = line_wait(d, when);
    if (!d.sharers.empty()) {
      stats.zero_dropped.inc(d.sharers.size());
      cost += invalidate_others(d, line);
      d.busy_until = when + wait + cost;
    }
  } else {
    // The fill, and the writeback of a dirty victim, happen when the request reaches the LLC.
    stats.zero_llc_fills.inc();
    s = llc_fill(line, when + cost, &victim_wait);
  }
  DirEntry& d = dir[s];
  d.sharers.add(cpu);
  d.owned = true;
  s2 = l2_fill(cpu, p, line, kModified, s);
  l1_fill(p, line, s2);
  return wait + cost;
}

bool MemorySystem::Impl::in_private(int cpu, Addr addr) const {
  if (cpu < 0 || unsigned(cpu) >= ncpus || !privs[unsigned(cpu)]) return false;
  return privs[unsigned(cpu)]->l2.find(addr >> kLineShift) != TagArray::kNone;
}

// ---------------------------------------------------------------------------------------------

MemorySystem::MemorySystem(sc_core::sc_module_name name, const MemorySystemParams& p,
                           const Clock& clock, PhysMem& mem, Stats& stats)
    : sc_core::sc_module(name), target("target"), impl_(new Impl(p, stats)), mem_(mem),
      clock_(clock) {
  target.register_b_transport(this, &MemorySystem::b_transport);
}

MemorySystem::~MemorySystem() { delete impl_; }

Cycles MemorySystem::access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when) {
  return impl_->access(cpu, addr, op, cls, when);
}

bool MemorySystem::in_private(int cpu, Addr addr) const { return impl_->in_private(cpu, addr); }
bool MemorySystem::in_llc(Addr addr) const { return impl_->in_llc(addr); }

uint64_t MemorySystem::perform(Addr addr, MemOp op, uint64_t value, uint64_t expected) {
  if (addr & 7) misaligned(addr);
  // A read must not back a page just to find a zero there.
  return op == MemOp::Read ? mem_.read64(addr) : update(addr, op, value, expected);
}

void MemorySystem::misaligned(Addr addr) {
  throw ModelError("memory system: misaligned 8-byte access at " + hex(addr));
}

uint64_t MemorySystem::update(Addr addr, MemOp op, uint64_t value, uint64_t expected) {
  uint64_t* w = mem_.word(addr);
  const uint64_t old = *w;
  switch (op) {
    case MemOp::Write: *w = value; break;
    case MemOp::Cmpxchg: if (old == expected) *w = value; break;
    case MemOp::Xchg: *w = value; break;
    case MemOp::FetchAdd: *w = old + value; break;  // unsigned: wraps modulo 2^64
    case MemOp::FetchAnd: *w = old & value; break;
    case MemOp::FetchOr: *w = old | value; break;
    default:
      throw ModelError("memory system: versioned data and CMOs have no word contents");
  }
  return old;
}

// The direct entry. An L1 hit (most accesses) is decided and applied inline, without the access
// time (only DRAM queueing needs it) and without calls; everything else continues elsewhere.
MemReply MemorySystem::transact(MemExt& x, Addr addr, const sc_core::sc_time& delay) {
  const MemOp op = x.op;  // read once: the counter updates below might alias x for the compiler
  const MemClass cls = x.cls;
  if (is_extended_op(op)) return transact_slow(x, addr, delay, false);
  const Cycles l = impl_->l1_hit_access(x.cpu, addr, op, cls);
  if (l >= Impl::kSlow) return transact_slow(x, addr, delay, l == Impl::kL1Miss);
  if (cls == MemClass::Data) return {0, l};  // guest data has no contents in the model
  if (op == MemOp::Read && !(addr & 7))
    if (const uint64_t* w = mem_.peek(addr)) return {*w, l};
  return perform_reply(x, addr, l);
}

MemReply MemorySystem::perform_reply(const MemExt& x, Addr addr, Cycles latency) {
  return {perform(addr, x.op, x.value, x.expected), latency};
}

MemReply MemorySystem::transact_slow(MemExt& x, Addr addr, const sc_core::sc_time& delay,
                                     bool l1_missed) {
  // Kernel time + the caller's local offset (Clock::kernel_time: no library call).
  const Cycles when = clock_.to_cycles(clock_.kernel_time() + delay);
  if (is_extended_op(x.op)) {
    const Cycles l = impl_->extended(x.cpu, addr, x.op, x.value, when, x.result, x.latest);
    if (x.op == MemOp::ZeroLines) zero_contents(addr, x.result);
    return {x.result, l};
  }
  const Cycles l = l1_missed ? impl_->access_l1_missed(x.cpu, addr, x.op, x.cls, when)
                             : impl_->access(x.cpu, addr, x.op, x.cls, when);
  return {x.cls != MemClass::Data ? perform(addr, x.op, x.value, x.expected) : 0, l};
}

// The words of a zeroed range read 0 afterwards (page-table pages and kernel objects live in
// frames the host kernel zeroes before use).
void MemorySystem::zero_contents(Addr addr, uint64_t len) {
  if ((addr | len) & (kPageSize - 1)) {
    // An unbacked page reads zero already and must stay unbacked (guest data frames are
    // never stored); a range within one page (a fill buffer's worth) is checked once.
    for (Addr a = addr & ~Addr(7); a < addr + len; a += 8) {
      if (!mem_.backed(a)) {
        a = (a | (kPageSize - 1)) - 7;  // to the next page
        continue;
      }
      *mem_.word(a) = 0;
    }
    return;
  }
  for (Addr p = addr; p < addr + len; p += kPageSize) mem_.drop_page(p);
}

void MemorySystem::b_transport(int /*id*/, tlm::tlm_generic_payload& trans,
                               sc_core::sc_time& delay) {
  MemExt* ext = trans.get_extension<MemExt>();
  if (!ext) {
    SC_REPORT_ERROR(name(), "b_transport without MemExt: every access must say cpu, op and class");
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const MemReply r = transact(*ext, trans.get_address(), delay);
  delay += clock_.cycles(r.cycles);
  ext->result = r.value;
  if (!is_extended_op(ext->op) && ext->cls != MemClass::Data && trans.get_data_ptr() &&
      trans.get_data_length() >= sizeof(uint64_t))
    std::memcpy(trans.get_data_ptr(), &ext->result, sizeof(uint64_t));
  ext->direct = this;  // later accesses of this payload's owner may call transact() directly
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace mmusim
