#include "workloads/trace_workload.hpp"

#include <sstream>
#include <unordered_set>

#include "sim/core/error.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/trace_reader.hpp"

namespace mmusim {

namespace {

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

class EmptyStream : public OpStream {
 public:
  bool next(Op&) override { return false; }
};

// One vCPU's records, as the trace's single reader hands them out.
class TraceStream : public OpStream {
 public:
  TraceStream(TraceDemux& demux, uint32_t trace_vcpu, Addr offset, bool gpa_space)
      : demux_(demux), consumer_(demux.add_consumer(false, trace_vcpu)), offset_(offset),
        gpa_space_(gpa_space) {}
  bool next(Op& op) override {
    TraceRecord r;
    if (!demux_.next(consumer_, r)) return false;
    op = Op{};
    if (r.op == TraceRecord::Op::Gap) {
      op.kind = Op::Kind::Compute;
      op.cycles = r.cycles;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = trace_access(r.op);
    // A gpa trace's pages live in the guest's identity-placed window (GuestKernel::Identity).
    op.gva = gpa_space_ ? GuestLayout::kDataGva + r.addr : r.addr + offset_;
    return true;
  }

 private:
  TraceDemux& demux_;
  unsigned consumer_;
  Addr offset_;
  bool gpa_space_;
};

uint64_t round_up(uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; }

}  // namespace

TraceWorkload::TraceWorkload(const TraceWorkloadParams& p) : p_(p) {
  if (p_.trace.empty()) throw UsageError("--trace: --workload trace needs --trace FILE");
  if (p_.min_copy_shift < kPageShift || p_.min_copy_shift > 62)
    throw UsageError("trace: min_copy_shift " + std::to_string(p_.min_copy_shift) +
                     " is not between 12 (4 KiB) and 62");
  scan();
  demux_ = std::make_unique<TraceDemux>(p_.trace, p_.queue_bytes);
  kernel_ = std::make_unique<GuestKernel>(
      p_.kernel, sum_.header.gpa_space ? GuestKernel::Placement::Identity : GuestKernel::Placement::FirstTouch,
      data_bytes_);
}

void TraceWorkload::scan() {
  TraceReader rd(p_.trace);
  sum_.header = rd.header();
  const bool gpa = sum_.header.gpa_space;
  const uint64_t guest_mem = sum_.header.guest_mem;
  // User addresses: the lower half of the guest's canonical address space.
  const uint64_t va_limit = uint64_t(1) << (kPageShift + 9 * p_.guest_levels - 1);
  std::unordered_set<uint64_t> pages;  // footprint-sized, not trace-length-sized
  uint64_t page_end = 0, max_addr = 0, host_end = 0, host_mask = 0;
  std::string host_end_at;
  TraceRecord r;
  while (rd.next(r)) {
    ++sum_.records;
    if (r.host_thread) {
      host_mask |= uint64_t(1) << r.thread;
    } else {
      if (r.thread >= p_.vcpus)
        rd.fail("thread", "v" + std::to_string(r.thread) + " but --vcpus is " +
                              std::to_string(p_.vcpus));
      if (r.thread >= sum_.vcpu_records.size()) sum_.vcpu_records.resize(r.thread + 1, 0);
      ++sum_.vcpu_records[r.thread];
    }
    switch (r.op) {
      case TraceRecord::Op::Read:
      case TraceRecord::Op::Write:
      case TraceRecord::Op::Fetch:
        ++sum_.accesses;
        if (gpa) {
          if (guest_mem && r.addr >= guest_mem)
            rd.fail("address", hex(r.addr) + " is outside guest memory (guest-mem " + hex(guest_mem) + ")");
          page_end = std::max(page_end, (r.addr >> kPageShift) + 1);
        } else {
          if (r.addr >= va_limit)
            rd.fail("address", hex(r.addr) + " is not a user address of a " +
                                   std::to_string(p_.guest_levels) + "-level guest (below " +
                                   hex(va_limit) + ")");
          pages.insert(r.addr >> kPageShift);
          if (guest_mem && pages.size() * kPageSize > guest_mem)
            rd.fail("address", hex(r.addr) + " is one page more than guest memory holds (guest-mem " +
                                   hex(guest_mem) + ")");
        }
        max_addr = std::max(max_addr, r.addr);
        break;
      case TraceRecord::Op::Gap:
        ++sum_.gaps;
        break;
      case TraceRecord::Op::Host: {
        ++sum_.host_events;
        std::string& first = sum_.first_event_at[unsigned(r.ev.kind)];
        if (first.empty()) first = rd.where();
        HostEventFields f = host_event_fields(r.ev.kind);
        uint64_t end = 0;
        if (f.gpa) end = r.ev.gpa + (f.bytes ? r.ev.bytes : kPageSize);
        if (f.gpa2) end = std::max(end, r.ev.gpa2 + kPageSize);
        if (end < r.ev.gpa) rd.fail("bytes", "range wraps around");
        if (end > host_end) {
          host_end = end;
          host_end_at = rd.where();
        }
        break;
      }
    }
  }
  sum_.vcpus = unsigned(sum_.vcpu_records.size());
  for (uint32_t h = 0; h < 64; ++h)
    if (host_mask & (uint64_t(1) << h)) sum_.host_threads.push_back(h);
  const uint64_t copies = sum_.vcpus ? (p_.vcpus + sum_.vcpus - 1) / sum_.vcpus : 1;
  if (gpa && sum_.vcpus && p_.vcpus != sum_.vcpus)
    throw UsageError("--vcpus: " + std::to_string(p_.vcpus) + ", but " + p_.trace + " is a gpa trace of " +
                     std::to_string(sum_.vcpus) + " vCPUs, which replays with exactly that many");
  // Copies go above everything the trace touches, at a power-of-two stride of at least 1 TiB.
  copy_shift_ = p_.min_copy_shift;
  while (copy_shift_ < 63 && (max_addr >> copy_shift_) != 0) ++copy_shift_;
  if (!gpa && copies > 1 &&
      (copy_shift_ >= 63 || (copies - 1) > ((va_limit - 1 - max_addr) >> copy_shift_)))
    throw UsageError("--vcpus: " + std::to_string(p_.vcpus) + " vCPUs need " + std::to_string(copies) +
                     " copies of the " + std::to_string(sum_.vcpus) + " vCPUs of " + p_.trace +
                     ", which do not fit in the guest's address space");
  sum_.distinct_pages = gpa ? page_end : pages.size();
  uint64_t bytes = guest_mem ? guest_mem : sum_.distinct_pages * kPageSize * (gpa ? 1 : copies);
  if (!gpa && guest_mem && pages.size() * copies * kPageSize > guest_mem)
    throw UsageError(p_.trace + ": guest-mem: " + std::to_string(copies) + " copies of the trace's " +
                     std::to_string(pages.size()) + " pages do not fit in " + hex(guest_mem) + " bytes");
  data_bytes_ = std::max(round_up(bytes, p_.page_size), uint64_t(p_.page_size));
  if (host_end > data_bytes_)
    throw UsageError(host_end_at + ": gpa: host event reaches " + hex(host_end) +
                     ", beyond guest memory (" + hex(data_bytes_) + " bytes)");
}

void TraceWorkload::attach(WorkloadEnv& env) {
  kernel_->attach(env);
  sink_ = env.host_events;
  for (unsigned k = 0; k < kHostEventKinds; ++k) {
    const std::string& at = sum_.first_event_at[k];
    if (at.empty()) continue;
    if (!sink_ || !sink_->supports(HostEventKind(k)))
      throw UsageError(at + ": op: host event '" + host_event_name(HostEventKind(k)) +
                       "' is not modelled by --arch " + mode_name(p_.arch) + " (" +
                       (sink_ ? "its MMU model does not handle this kind" : "it models no host events") +
                       "); the run was not started");
  }
}

std::unique_ptr<OpStream> TraceWorkload::vcpu_stream(unsigned vcpu) {
  if (sum_.vcpus == 0) return std::make_unique<EmptyStream>();
  const uint32_t j = vcpu % sum_.vcpus;
  const uint64_t copy = vcpu / sum_.vcpus;
  if (sum_.vcpu_records[j] == 0) return std::make_unique<EmptyStream>();
  return std::make_unique<TraceStream>(*demux_, j, copy << copy_shift_, sum_.header.gpa_space);
}

WorkSize TraceWorkload::vcpu_work() const {
  uint64_t ops = 0;
  for (unsigned i = 0; sum_.vcpus != 0 && i < p_.vcpus; ++i)
    ops += sum_.vcpu_records[i % sum_.vcpus];  // vCPU i replays trace vCPU i mod T
  return {ops, "records"};
}

std::vector<HostThreadSpec> TraceWorkload::host_threads() {
  std::vector<HostThreadSpec> specs;
  for (uint32_t h : sum_.host_threads) {
    const unsigned consumer = demux_->add_consumer(true, h);
    specs.push_back({"trace.h" + std::to_string(h),
                     [this, consumer](Agent& a) { replay_host_thread(a, consumer); }});
  }
  return specs;
}

void TraceWorkload::replay_host_thread(Agent& a, unsigned consumer) {
  TraceRecord r;
  while (demux_->next(consumer, r)) {
    if (r.op == TraceRecord::Op::Gap) {
      a.advance(r.cycles);
      continue;
    }
    HostEvent ev = r.ev;
    HostEventFields f = host_event_fields(ev.kind);
    // Trace GPAs are offsets into guest RAM, which the platform places at kDataGpa.
    if (f.gpa) ev.gpa += GuestLayout::kDataGpa;
    if (f.gpa2) ev.gpa2 += GuestLayout::kDataGpa;
    a.sync();  // others observe the event: it happens at this thread's true time
    sink_->apply(a, ev);
    ++host_events_applied_;
  }
}

namespace {

struct TraceStats : StatsGroup {
  explicit TraceStats(Stats& s) : StatsGroup(s, "trace") {}
  statistics::Counter records{*this, "records", "trace records read"};
  statistics::Counter accesses{*this, "accesses", "memory accesses in the trace"};
  statistics::Value vcpus{*this, "vcpus", "vCPUs the trace names"};
  statistics::Value pages{*this, "pages", "distinct pages the trace touches"};
  statistics::Counter host_events{*this, "host_events", "host events replayed from the trace"};
};

}  // namespace

void TraceWorkload::publish(Stats& stats) {
  TraceStats st(stats);
  st.records.set(sum_.records);
  st.accesses.set(sum_.accesses);
  st.vcpus.set(sum_.vcpus);
  st.pages.set(sum_.distinct_pages);
  st.host_events.set(host_events_applied_);
  kernel_->publish(stats);
}

}  // namespace mmusim
