// Guest accessed/dirty bits under shadow paging: no hardware walks the guest tables, so the
// shadow MMU's walk sets them (a cmpxchg on the guest entry in simulated guest memory), and a
// clean writable guest PTE is mapped read-only (protect_clean_gpte) until a write sets its
// dirty bit. docs/ARCHITECTURE.md, Shadow MMU.
#include <gtest/gtest.h>

#include "tests/platform_run.hpp"
#include "tests/shadow_script.hpp"

using namespace mmusim;
using mmusim::testing::data_gva;
using mmusim::testing::run_scripted;
using mmusim::testing::Script;
using mmusim::testing::stat;

namespace {

SimConfig one_vcpu() { return mmusim::testing::shadow_one_process_config(2ull << 20); }

// vCPU 0 reads a mapped page X, then writes it, then writes it again; after each access a probe
// logs the guest PTE's dirty bit (read from guest memory), whether the shadow leaf is writable,
// and the shadow faults taken so far.
std::string read_then_write() {
  return run_scripted(one_vcpu(), [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    const Addr cr3 = proc.root_gfn << kPageShift;
    Platform* plat = &p;
    const uint64_t pt_gfn = proc.pt_gfn[x / 512];
    auto probe = [plat, cr3, x, pt_gfn, &log](const char* tag) {
      return [plat, cr3, x, pt_gfn, &log, tag] {
        X86PageFormat f(4);
        const uint64_t gpte =
            plat->phys.read64(PtIter::entry_at(plat->host.lookup(pt_gfn).hpa, unsigned(x % 512)));
        const ShadowMmu::LeafView v = mmusim::testing::shadow_of(*plat).leaf_view(cr3, data_gva(x));
        log << tag << " dirty " << f.dirty(gpte) << " accessed " << f.accessed(gpte)
            << " writable " << (v.found && (v.spte & X86PageFormat::kRw) != 0) << "\n";
      };
    };
    s.cr3(cr3);
    s.access(data_gva(x), Access::Read);
    s.probe(probe("read"));
    s.access(data_gva(x), Access::Write);
    s.probe(probe("write"));
    s.access(data_gva(x), Access::Write);
    s.probe(probe("again"));
    return s;
  });
}

bool has(const std::string& out, const std::string& l) { return out.find(l) != std::string::npos; }

}  // namespace

TEST(ShadowGuestAd, AReadOfACleanWritablePteMapsItReadOnlyAndTheFirstWriteFaultsAndSetsDirty) {
  const std::string out = read_then_write();
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  // The guest kernel built the PTE writable, accessed and clean: the read maps it read-only.
  EXPECT_TRUE(has(out, "read dirty 0 accessed 1 writable 0\n")) << out;
  // The write faults a second time; KVM's walk sets the guest PTE's dirty bit (one cmpxchg)
  // and the shadow leaf becomes writable.
  EXPECT_TRUE(has(out, "write dirty 1 accessed 1 writable 1\n")) << out;
  EXPECT_TRUE(has(out, "again dirty 1 accessed 1 writable 1\n")) << out;
  EXPECT_EQ(stat(out, "shadow.guest_ad.set"), 1) << out;
  // Faults: the first access (the shadow path is built), then the write on the read-only leaf.
  // The second write hits the writable leaf in the TLB.
  EXPECT_EQ(stat(out, "hv.fault.count"), 2) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}

TEST(ShadowGuestAd, AWalkSetsTheAccessedBitAPteLacksAndLeavesDirtyAlone) {
  // The guest kernel clears the accessed bit of X's PTE (as page aging does) and flushes: the
  // next read's walk sets it again with one cmpxchg, and leaves the dirty bit alone.
  const std::string out = run_scripted(one_vcpu(), [](unsigned, Platform& p, std::ostream& log) {
    Script s;
    GuestPtChurn& w = mmusim::testing::churn_of(p);
    const GuestPtChurn::Process& proc = w.process(0, 0);
    const uint64_t x = proc.mapped_list.at(0);
    const uint64_t pt_gfn = proc.pt_gfn[x / 512];
    Platform* plat = &p;
    s.cr3(proc.root_gfn << kPageShift);
    const uint64_t old = w.leaf_pte(proc, x) & ~X86PageFormat::kAccessed;
    s.pte_write(w.pte_gva(proc, x), old);
    s.invlpg(data_gva(x));
    s.access(data_gva(x), Access::Read);
    s.probe([plat, x, pt_gfn, &log] {
      const uint64_t gpte =
          plat->phys.read64(PtIter::entry_at(plat->host.lookup(pt_gfn).hpa, unsigned(x % 512)));
      log << "pte accessed " << ((gpte & X86PageFormat::kAccessed) != 0) << " dirty "
          << ((gpte & X86PageFormat::kDirty) != 0) << "\n";
    });
    return s;
  });
  ASSERT_EQ(out.find("exception"), std::string::npos) << out;
  EXPECT_TRUE(has(out, "pte accessed 1 dirty 0\n")) << out;
  EXPECT_EQ(stat(out, "shadow.guest_ad.set"), 1) << out;
  EXPECT_EQ(stat(out, "check.violations"), 0) << out;
}
