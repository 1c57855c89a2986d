// The arch-neutral entry points of a hypervisor's MMU software. The vCPU's own SystemC thread
// calls handle_fault after a second-stage fault exits to the host, as KVM runs the fault handler
// in the vCPU's host thread; every step inside pays through sim/mem and sim/sync.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/types.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// Outcome of one fault, as KVM's RET_PF_* values.
enum class FaultOutcome { Fixed, Spurious, Retry, Emulate };

inline const char* fault_outcome_name(FaultOutcome o) {
  switch (o) {
    case FaultOutcome::Fixed: return "fixed";
    case FaultOutcome::Spurious: return "spurious";
    case FaultOutcome::Retry: return "retry";
    case FaultOutcome::Emulate: return "emulate";
  }
  return "?";
}

// One second-stage leaf as the oracle and tests see it.
struct Stage2Leaf {
  Addr gpa = 0;  // first guest-physical address it maps
  unsigned level = 1;
  Addr hpa = 0;  // host frame base
  Perms perms;
  bool operator==(const Stage2Leaf& o) const {
    return gpa == o.gpa && level == o.level && hpa == o.hpa && perms == o.perms;
  }
};

// The address space a fault's address lives in: a second-stage fault (EPT violation, stage-2
// abort, MIPS GPA fault) carries a guest-physical address; a guest #PF intercepted under shadow
// paging (sim/hv/shadow_paging.hpp) carries the guest-virtual one.
enum class FaultSpace { Gpa, Gva };

struct TranslationFault {
  Addr addr = 0;
  FaultSpace space = FaultSpace::Gpa;
  Access access = Access::Read;
  static TranslationFault gpa(Addr a, Access acc) { return {a, FaultSpace::Gpa, acc}; }
  static TranslationFault gva(Addr a, Access acc) { return {a, FaultSpace::Gva, acc}; }
};

// The core every hypervisor MMU implements (docs/ARCHITECTURE.md, Hypervisor MMU interfaces).
// Optional capabilities are separate interfaces an MMU also inherits (dirty_logging.hpp,
// notifier_callbacks.hpp, root_invalidation.hpp, shadow_paging.hpp, kvm_run_hook.hpp); callers
// find them with capability<Cap>(mmu).
class HypervisorMmu {
 public:
  virtual ~HypervisorMmu() = default;
  // A fault of `vcpu_id` that exited to the hypervisor, running in the vCPU's thread. An MMU
  // given a fault of the other address space throws ModelError (check_fault_space).
  virtual FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, const TranslationFault& f) = 0;
  // Host physical address of the second-stage root the vCPU loads on guest entry.
  virtual Addr stage2_root() const = 0;
  // Destroys every mapping and frees every table (VM teardown), running in `host`'s thread.
  virtual void teardown(Agent& host) = 0;
  // Untimed mapping for the harness that prepares the guest before the run.
  virtual void map_functional(Addr gpa, unsigned level, Addr hpa_base) = 0;
  // Every present second-stage leaf of the root vCPUs currently use, in GPA order (functional
  // read of simulated memory), handed to `visit` one at a time without holding them all: the
  // end-of-run oracle of a populated 64 GiB guest sees 16 M of them.
  using LeafVisitor = std::function<void(const Stage2Leaf&)>;
  virtual void visit_leaves(const LeafVisitor& visit) const = 0;
  // visit_leaves for a tree of `fmt` tables at `root`: a pre-order walk reading each entry with
  // `read` (untimed).
  template <class Read>
  static void visit_tree_leaves(const PageTableFormat& fmt, Addr root, Read&& read,
                                const LeafVisitor& visit) {
    for_each_entry(PtIter::range(fmt, root, 0, ~Addr(0)), read, [&](PtIter& it) {
      if (it.leaf())
        visit({it.base(), it.level(), fmt.address(it.entry(), it.level()), fmt.perms(it.entry())});
    });
  }
  // The same leaves collected (tests and small runs).
  std::vector<Stage2Leaf> leaves() const {
    std::vector<Stage2Leaf> out;
    visit_leaves([&](const Stage2Leaf& l) { out.push_back(l); });
    return out;
  }

  // Root lifecycle seen from a vCPU (kvm_mmu_load / kvm_mmu_unload). load_root runs before
  // guest entry when the vCPU holds no root and returns the one to run on (taking a
  // reference); unload_root drops it (on a reload request, and when the vCPU stops).
  // Arches with one fixed root keep the defaults.
  virtual Addr load_root(Agent& vcpu, int vcpu_id) {
    (void)vcpu, (void)vcpu_id;
    return stage2_root();
  }
  virtual void unload_root(Agent& vcpu, int vcpu_id) { (void)vcpu, (void)vcpu_id; }
  // Unmap of a GPA range in every root (MMU notifier / memslot path).
  virtual void zap_range(Agent& host, Addr gpa, uint64_t len) { (void)host, (void)gpa, (void)len; }
  // Oracle query (functional): whether translations through `root` are still expected to be in
  // the final tables (false once the root was invalidated).
  virtual bool root_is_current(Addr root) const { return root == stage2_root(); }

 protected:
  // The fault's address space must be `expected` (the one this MMU's hardware reports).
  static void check_fault_space(const TranslationFault& f, FaultSpace expected) {
    if (f.space != expected)
      throw ModelError(std::string("hypervisor MMU given a ") +
                       (f.space == FaultSpace::Gva ? "guest-virtual" : "guest-physical") +
                       " fault address it does not translate");
  }
};

// The capability `Cap` of `mmu`, or nullptr if the MMU does not implement it.
template <class Cap>
Cap* capability(HypervisorMmu& mmu) {
  return dynamic_cast<Cap*>(&mmu);
}

}  // namespace mmusim
