#include "workloads/guest_pt_churn.hpp"

#include <algorithm>
#include <deque>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

class ChurnStream : public OpStream {
 public:
  ChurnStream(GuestPtChurn& w, std::vector<GuestPtChurn::Process>& procs,
              std::deque<uint64_t>& free_tables, const GuestPtChurnParams& p, unsigned vcpu)
      : w_(w), procs_(procs), p_(p), rng_(p.seed, 0x6e57 + vcpu),
        kernel_(p.process, w.guest_fmt(), w.dm_entry, w.dm_idx, free_tables, w.n, q_, vcpu) {}

  bool next(Op& op) override {
    while (q_.empty()) {
      if (step_ == p_.churn_steps) return false;
      make_step();
    }
    op = q_.front();
    q_.pop_front();
    return true;
  }

 private:
  void cr3(unsigned p) {
    cur_ = p;
    Op o;
    o.kind = Op::Kind::GuestCr3Load;
    o.gva = procs_[p].root_gfn << kPageShift;
    q_.push_back(o);
    ++w_.n.cr3_loads;
  }
  void pte_write(GuestPtChurn::Process& p, uint64_t page, bool map) {
    if (map) kernel_.map(p, page);
    else kernel_.unmap(p, page);
  }
  // fork: the child takes the slot of another process of this vCPU, which exits first.
  void fork() {
    unsigned c = unsigned(rng_.below(p_.churn_procs - 1));
    if (c >= cur_) ++c;
    kernel_.teardown(procs_[c]);
    kernel_.fork(procs_[cur_], procs_[c]);
  }
  // exec: new tables mapping --churn-writes pages, CR3 switched to them, the old torn down.
  void exec() {
    ++w_.n.execs;
    GuestPtChurn::Process old = procs_[cur_];
    GuestPtChurn::Process& p = procs_[cur_];
    kernel_.create(p);
    for (unsigned i = 0; i < p_.churn_writes; ++i) {
      const uint64_t page = rng_.below(p.mapped.size());
      if (!p.mapped[page]) kernel_.map(p, page);
    }
    cr3(cur_);
    kernel_.teardown(old);
  }
  void make_step() {
    ++step_;
    if (step_ == 1) cr3(0);
    else if (p_.churn_procs > 1 && rng_.uniform() < p_.churn_switch)
      cr3(unsigned(rng_.below(p_.churn_procs)));
    // The rates are drawn only when set, so runs without fork/exec keep their random stream.
    if (p_.churn_fork > 0 && rng_.uniform() < p_.churn_fork && p_.churn_procs > 1) fork();
    if (p_.churn_exec > 0 && rng_.uniform() < p_.churn_exec) exec();
    GuestPtChurn::Process& p = procs_[cur_];
    const uint64_t pages = p.small_pages();
    if (rng_.below(2) == 0) {  // mmap-like: map unmapped pages
      for (unsigned i = 0; i < p_.churn_writes && pages; ++i) {
        const uint64_t page = rng_.below(pages);
        if (!p.mapped[page]) pte_write(p, page, true);
      }
    } else {  // munmap-like: unmap, then invalidate the guest TLB (which the guest must do)
      const unsigned n = rng_.uniform() < p_.churn_unmap_single ? 1 : p_.churn_writes;
      std::vector<uint64_t> gone;
      for (unsigned i = 0; i < n && !p.mapped_list.empty(); ++i) {
        gone.push_back(p.mapped_list[rng_.below(p.mapped_list.size())]);
        pte_write(p, gone.back(), false);
      }
      // flush_tlb_mm_range over the range that held them: page by page (every page of the
      // range) up to the ceiling, the whole TLB above it.
      const uint64_t lo = gone.empty() ? 0 : *std::min_element(gone.begin(), gone.end());
      const uint64_t hi = gone.empty() ? 0 : *std::max_element(gone.begin(), gone.end());
      if (!gone.empty() && hi - lo + 1 <= p_.churn_invlpg_ceiling) {
        for (uint64_t page = lo; page <= hi; ++page) {
          Op f;
          f.kind = Op::Kind::GuestInvlpg;
          f.gva = GuestLayout::kDataGva + (page << kPageShift);
          q_.push_back(f);
          ++w_.n.invlpgs;
        }
      } else {
        Op f;
        f.kind = Op::Kind::GuestTlbFlush;
        q_.push_back(f);
        ++w_.n.tlb_flushes;
      }
    }
    for (unsigned i = 0; i < p_.churn_accesses && (!p.mapped_list.empty() || p.huge_regions);
         ++i) {
      Op a;
      a.kind = Op::Kind::Access;
      a.access = rng_.below(2) ? Access::Write : Access::Read;
      // A share of the accesses goes to the guest 2 MiB pages (drawn only if there are any).
      const uint64_t page =
          p.huge_regions && (p.mapped_list.empty() || rng_.uniform() < p_.churn_guest_huge)
              ? p.small_pages() + rng_.below(uint64_t(p.huge_regions) * 512)
              : p.mapped_list[rng_.below(p.mapped_list.size())];
      if (a.access == Access::Write && p.cow[page]) kernel_.break_cow(p, page);
      a.gva = GuestLayout::kDataGva + (page << kPageShift);
      q_.push_back(a);
      ++w_.n.data_accesses;
    }
  }

  GuestPtChurn& w_;
  std::vector<GuestPtChurn::Process>& procs_;
  const GuestPtChurnParams& p_;  // the workload's, which outlives its streams
  Rng rng_;
  std::deque<Op> q_;
  GuestProcessOps kernel_;
  unsigned step_ = 0, cur_ = 0;
};

}  // namespace

GuestPtChurn::GuestPtChurn(const GuestPtChurnParams& p) : p_(p) {}

uint64_t GuestPtChurn::data_bytes() const {
  return uint64_t(p_.vcpus) * p_.churn_procs * p_.churn_proc_bytes;
}

Addr GuestPtChurn::root_gpa() const {
  return procs_.empty() ? 0 : procs_[0][0].root_gfn << kPageShift;
}

uint64_t GuestPtChurn::alloc_table() {
  const uint64_t g = next_gfn_++;
  if ((g << kPageShift) >= GuestLayout::kDataGpa)
    throw UsageError("--churn-procs: guest page tables do not fit below the data window");
  env_->host.resolve_functional(g);  // zeroed page
  return g;
}

void GuestPtChurn::write_entry(uint64_t table_gfn, unsigned idx, uint64_t e) {
  env_->phys.write64(PtIter::entry_at(env_->host.resolve_functional(table_gfn).hpa, idx), e);
}

uint64_t GuestPtChurn::next_table(uint64_t table_gfn, unsigned idx) {
  const Addr ea = PtIter::entry_at(env_->host.resolve_functional(table_gfn).hpa, idx);
  const uint64_t e = env_->phys.read64(ea);
  if (env_->guest_fmt.present(e)) return env_->guest_fmt.address(e, 2) >> kPageShift;
  const uint64_t t = alloc_table();
  env_->phys.write64(ea, env_->guest_fmt.make_table(t << kPageShift));
  return t;
}

Addr GuestPtChurn::pte_gva(const Process& p, uint64_t page) const {
  return GuestProcessOps::pte_gva(p.pt_gfn[page / 512], unsigned(page % 512));
}

uint64_t GuestPtChurn::leaf_pte(const Process& p, uint64_t page) const {
  // Accessed set from the start, as Linux's user page protections have it (_PAGE_ACCESSED).
  return env_->guest_fmt.make_leaf(p.own_frame(page), 1, Perms{true, true, false}, true, false);
}

void GuestPtChurn::attach(WorkloadEnv& env) {
  env_ = &env;
  const uint64_t pages = p_.churn_proc_bytes >> kPageShift;
  const PageTableFormat& f = env_->guest_fmt;
  procs_.assign(p_.vcpus, std::vector<Process>(p_.churn_procs));
  std::vector<uint64_t> guest_tables;
  for (unsigned v = 0; v < p_.vcpus; ++v) {
    Rng rng(p_.seed, 0x7ab1e + v);
    for (unsigned i = 0; i < p_.churn_procs; ++i) {
      Process& p = procs_[v][i];
      p.data_gpa = GuestLayout::kDataGpa + (uint64_t(v) * p_.churn_procs + i) * p_.churn_proc_bytes;
      p.root_gfn = alloc_table();
      guest_tables.push_back(p.root_gfn);
      const uint64_t pdpt = next_table(p.root_gfn, f.index(GuestLayout::kDataGva, 4));
      const uint64_t pd = next_table(pdpt, f.index(GuestLayout::kDataGva, 3));
      guest_tables.push_back(pdpt);
      guest_tables.push_back(pd);
      p.pdpt_gfn = pdpt;
      p.pd_gfn = pd;
      p.mapped.assign(pages, false);
      p.cow.assign(pages, false);
      p.frame.assign(pages, 0);
      const uint64_t regions = pages / 512;
      p.huge_regions = unsigned(double(regions) * p_.churn_guest_huge + 0.5);
      for (uint64_t k = 0; k < regions; ++k) {
        const unsigned idx = f.index(GuestLayout::kDataGva + (k << 21), 2);
        if (k >= regions - p.huge_regions) {  // a guest 2 MiB page: a PDE with PS
          write_entry(pd, idx, f.make_leaf(p.own_frame(k * 512), 2, Perms{true, true, false},
                                           true, false));
          p.pt_gfn.push_back(0);
          continue;
        }
        p.pt_gfn.push_back(next_table(pd, idx));
        guest_tables.push_back(p.pt_gfn.back());
      }
      // Half the 4 KiB part of the window mapped at the start.
      for (uint64_t page = 0; page < p.small_pages(); ++page)
        if (rng.below(2)) {
          write_entry(p.pt_gfn[page / 512], unsigned(page % 512), leaf_pte(p, page));
          p.mapped[page] = true;
          p.frame[page] = p.own_frame(page);
          p.mapped_list.push_back(uint32_t(page));
        }
    }
  }
  // With fork or exec, each vCPU's guest keeps spare table pages (in its direct map like the
  // others): enough for one exec's new tables before the old ones are freed, twice over so
  // that a freed page waits a while before it is handed out again as a table; plus the page
  // tables the guest 2 MiB pages save, since a new process maps 4 KiB pages only.
  free_tables_.assign(p_.vcpus, {});
  if (p_.churn_fork > 0 || p_.churn_exec > 0)
    for (unsigned v = 0; v < p_.vcpus; ++v)
      for (uint64_t i = 0; i < 2 * (3 + pages / 512) + p_.churn_procs * procs_[v][0].huge_regions;
           ++i) {
        free_tables_[v].push_back(alloc_table());
        guest_tables.push_back(free_tables_[v].back());
      }
  // The direct map of every process page-table page, one subtree shared by all processes.
  const uint64_t dm_root = alloc_table();
  for (uint64_t g : guest_tables) {
    const Addr gva = kDirectMapGva + (g << kPageShift);
    uint64_t t = dm_root;
    for (unsigned level = 4; level >= 2; --level) t = next_table(t, f.index(gva, level));
    // Kernel mappings are built accessed and dirty (Linux's PAGE_KERNEL); the user PTEs of
    // the processes start accessed but clean, so the shadow MMU maps them read-only until the
    // first write (protect_clean_gpte).
    write_entry(t, f.index(gva, 1),
                f.make_leaf(g << kPageShift, 1, Perms{true, true, false}, true, true));
  }
  dm_idx = f.index(kDirectMapGva, 4);
  dm_entry =
      env_->phys.read64(PtIter::entry_at(env_->host.resolve_functional(dm_root).hpa, dm_idx));
  for (auto& vp : procs_)
    for (Process& p : vp) write_entry(p.root_gfn, dm_idx, dm_entry);
}

std::unique_ptr<OpStream> GuestPtChurn::vcpu_stream(unsigned vcpu) {
  return std::make_unique<ChurnStream>(*this, procs_.at(vcpu), free_tables_.at(vcpu), p_,
                                       vcpu);
}

namespace {

struct ChurnStats : StatsGroup {
  explicit ChurnStats(Stats& s) : StatsGroup(s, "churn") {}
  statistics::Counter pte_writes{*this, "pte_writes", "guest PTE writes"};
  statistics::Counter cr3_loads{*this, "cr3_loads", "guest CR3 loads"};
  statistics::Counter tlb_flushes{*this, "tlb_flushes", "guest full TLB flushes"};
  statistics::Counter invlpgs{*this, "invlpgs", "guest INVLPGs"};
  statistics::Counter data_accesses{*this, "data_accesses", "guest data accesses"};
};

// Only when processes fork or exec (--churn-fork, --churn-exec).
struct ProcessStats : StatsGroup {
  explicit ProcessStats(Stats& s) : StatsGroup(s, "churn") {}
  statistics::Counter forks{*this, "forks", "guest forks"};
  statistics::Counter execs{*this, "execs", "guest execs"};
  statistics::Counter cow_protects{*this, "cow_protects",
                                   "guest PTEs write-protected for copy-on-write"};
  statistics::Counter cow_breaks{*this, "cow_breaks", "guest copy-on-write breaks"};
  statistics::Counter tables_allocated{*this, "tables_allocated",
                                       "guest page-table pages allocated"};
  statistics::Counter tables_freed{*this, "tables_freed", "guest page-table pages freed"};
  statistics::Counter tables_reused_as_data{*this, "tables_reused_as_data",
                                            "freed guest page-table pages reused as data"};
};

}  // namespace

void GuestPtChurn::publish(Stats& s) {
  ChurnStats st(s);
  st.pte_writes.set(n.pte_writes);
  st.cr3_loads.set(n.cr3_loads);
  st.tlb_flushes.set(n.tlb_flushes);
  st.invlpgs.set(n.invlpgs);
  st.data_accesses.set(n.data_accesses);
  if (p_.churn_fork > 0 || p_.churn_exec > 0) {  // process lifetimes (guest_process.cpp)
    ProcessStats p(s);
    p.forks.set(n.forks);
    p.execs.set(n.execs);
    p.cow_protects.set(n.cow_protects);
    p.cow_breaks.set(n.cow_breaks);
    p.tables_allocated.set(n.tables_allocated);
    p.tables_freed.set(n.tables_freed);
    p.tables_reused_as_data.set(n.tables_reused_as_data);
  }
}

}  // namespace mmusim
