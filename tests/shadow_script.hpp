// Scripted guest activity for shadow-MMU tests: a vCPU op stream built once the Platform (and
// the guest-pt-churn workload's page tables) exist, with probes between ops that look at the
// shadow tables functionally at that point of the run (a probe runs when the vCPU asks for
// the op after it, i.e. once every op before it has completed).
#pragma once
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <sstream>
#include <string>

#include "app/platform.hpp"
#include "models/x86/x86_arch.hpp"
#include "sim/cpu/op.hpp"
#include "tests/platform_run.hpp"
#include "workloads/guest_pt_churn.hpp"

namespace mmusim::testing {

class Script {
 public:
  void op(const Op& o) { items_.push_back({o, nullptr}); }
  void probe(std::function<void()> f) { items_.push_back({Op{}, std::move(f)}); }
  void cr3(Addr root_gpa) {
    Op o;
    o.kind = Op::Kind::GuestCr3Load;
    o.gva = root_gpa;
    op(o);
  }
  void access(Addr gva, Access acc) {
    Op o;
    o.kind = Op::Kind::Access;
    o.access = acc;
    o.gva = gva;
    op(o);
  }
  void pte_write(Addr pte_gva, uint64_t value) {
    Op o;
    o.kind = Op::Kind::GuestPteWrite;
    o.gva = pte_gva;
    o.value = value;
    op(o);
  }
  void invlpg(Addr gva) {
    Op o;
    o.kind = Op::Kind::GuestInvlpg;
    o.gva = gva;
    op(o);
  }
  void compute(Cycles c) {
    Op o;
    o.kind = Op::Kind::Compute;
    o.cycles = c;
    op(o);
  }
  bool next(Op& out) {
    while (i_ < items_.size() && items_[i_].second) items_[i_++].second();
    if (i_ >= items_.size()) return false;
    out = items_[i_++].first;
    return true;
  }

 private:
  std::vector<std::pair<Op, std::function<void()>>> items_;
  size_t i_ = 0;
};

// The stream asks `build(vcpu, platform, log)` for its script on its first op, when the
// platform is fully built; probes may write to `log`.
class LazyScriptStream : public OpStream {
 public:
  using Build = std::function<Script(unsigned vcpu, Platform& p, std::ostream& log)>;
  LazyScriptStream(unsigned vcpu, Platform* const* plat, std::ostream* log, Build build)
      : vcpu_(vcpu), plat_(plat), log_(log), build_(std::move(build)) {}
  bool next(Op& op) override {
    if (!built_) {
      script_ = build_(vcpu_, **plat_, *log_);
      built_ = true;
    }
    return script_.next(op);
  }

 private:
  unsigned vcpu_;
  Platform* const* plat_;
  std::ostream* log_;
  Build build_;
  Script script_;
  bool built_ = false;
};

// A quiet x86 shadow-paging run of guest-pt-churn; each test sets vCPUs, processes and the rest.
inline SimConfig shadow_churn_config() {
  SimConfig c;
  c.quiet = true;
  c.arch = Arch::X86;
  c.x86_mmu = X86Mmu::Shadow;
  c.workload = WorkloadKind::GuestPtChurn;
  return c;
}

// One vCPU running one process of `proc_bytes` (a guest page table per 2 MiB region), with no
// fork or exec: the script's ops are the guest's only activity on it.
inline SimConfig shadow_one_process_config(uint64_t proc_bytes) {
  SimConfig c = shadow_churn_config();
  c.vcpus = 1;
  c.churn_procs = 1;
  c.churn_proc_bytes = proc_bytes;
  c.churn_fork = 0;
  c.churn_exec = 0;
  return c;
}

inline GuestPtChurn& churn_of(Platform& p) { return dynamic_cast<GuestPtChurn&>(*p.workload); }
inline ShadowMmu& shadow_of(Platform& p) { return *dynamic_cast<X86Arch&>(*p.arch).shadow(); }
inline Addr data_gva(uint64_t page) { return GuestLayout::kDataGva + (page << kPageShift); }

// Runs `cfg` with every vCPU's stream scripted by `build`; returns the stats
// JSON followed by what the probes logged (or "exception: ..." if the run threw).
inline std::string run_scripted(const SimConfig& cfg, LazyScriptStream::Build build) {
  return run_catching([&] {
    Platform* plat = nullptr;
    std::ostringstream log;
    PlatformHooks hooks;
    hooks.stream = [&](unsigned v) {
      return std::make_unique<LazyScriptStream>(v, &plat, &log, build);
    };
    Platform p(cfg, hooks);
    plat = &p;
    p.run();
    std::ostringstream out;
    p.stats.write_json(out);
    out << "\n--LOG--\n" << log.str();
    return out.str();
  });
}

}  // namespace mmusim::testing
