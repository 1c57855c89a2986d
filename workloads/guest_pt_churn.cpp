#include "workloads/guest_pt_churn.hpp"

#include <algorithm>
#include <deque>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

class ChurnStream : public OpStream {
 public:
  ChurnStream(GuestPtChurn& w, std::vector<GuestPtChurn::Process>& procs, const SimConfig& cfg,
              unsigned vcpu)
      : w_(w), procs_(procs), cfg_(cfg), rng_(cfg.seed, 0x6e57 + vcpu) {}

  bool next(Op& op) override {
    while (q_.empty()) {
      if (step_ == cfg_.churn_steps) return false;
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
    ++w_.cr3_loads;
  }
  void pte_write(GuestPtChurn::Process& p, uint64_t page, bool map) {
    Op o;
    o.kind = Op::Kind::GuestPteWrite;
    o.gva = w_.pte_gva(p, page);
    o.value = map ? w_.leaf_pte(p, page) : 0;
    q_.push_back(o);
    ++w_.pte_writes;
    p.mapped[page] = map;
    if (map) {
      p.mapped_list.push_back(uint32_t(page));
    } else {
      for (auto& m : p.mapped_list)
        if (m == page) {
          m = p.mapped_list.back();
          p.mapped_list.pop_back();
          break;
        }
    }
  }
  void make_step() {
    ++step_;
    if (step_ == 1) cr3(0);
    else if (cfg_.churn_procs > 1 && rng_.uniform() < cfg_.churn_switch)
      cr3(unsigned(rng_.below(cfg_.churn_procs)));
    GuestPtChurn::Process& p = procs_[cur_];
    const uint64_t pages = p.mapped.size();
    if (rng_.below(2) == 0) {  // mmap-like: map unmapped pages
      for (unsigned i = 0; i < cfg_.churn_writes; ++i) {
        const uint64_t page = rng_.below(pages);
        if (!p.mapped[page]) pte_write(p, page, true);
      }
    } else {  // munmap-like: unmap, then invalidate the guest TLB (which the guest must do)
      const unsigned n = rng_.uniform() < cfg_.churn_unmap_single ? 1 : cfg_.churn_writes;
      std::vector<uint64_t> gone;
      for (unsigned i = 0; i < n && !p.mapped_list.empty(); ++i) {
        gone.push_back(p.mapped_list[rng_.below(p.mapped_list.size())]);
        pte_write(p, gone.back(), false);
      }
      // flush_tlb_mm_range over the range that held them: page by page (every page of the
      // range) up to the ceiling, the whole TLB above it.
      const uint64_t lo = gone.empty() ? 0 : *std::min_element(gone.begin(), gone.end());
      const uint64_t hi = gone.empty() ? 0 : *std::max_element(gone.begin(), gone.end());
      if (!gone.empty() && hi - lo + 1 <= cfg_.churn_invlpg_ceiling) {
        for (uint64_t page = lo; page <= hi; ++page) {
          Op f;
          f.kind = Op::Kind::GuestInvlpg;
          f.gva = GuestLayout::kDataGva + (page << kPageShift);
          q_.push_back(f);
          ++w_.invlpgs;
        }
      } else {
        Op f;
        f.kind = Op::Kind::GuestTlbFlush;
        q_.push_back(f);
        ++w_.tlb_flushes;
      }
    }
    for (unsigned i = 0; i < cfg_.churn_accesses && !p.mapped_list.empty(); ++i) {
      Op a;
      a.kind = Op::Kind::Access;
      a.access = rng_.below(2) ? Access::Write : Access::Read;
      a.gva = GuestLayout::kDataGva + (uint64_t(p.mapped_list[rng_.below(p.mapped_list.size())])
                                       << kPageShift);
      q_.push_back(a);
      ++w_.data_accesses;
    }
  }

  GuestPtChurn& w_;
  std::vector<GuestPtChurn::Process>& procs_;
  const SimConfig& cfg_;
  Rng rng_;
  std::deque<Op> q_;
  unsigned step_ = 0, cur_ = 0;
};

}  // namespace

GuestPtChurn::GuestPtChurn(const SimConfig& cfg) : cfg_(cfg) {}

uint64_t GuestPtChurn::data_bytes() const {
  return uint64_t(cfg_.vcpus) * cfg_.churn_procs * cfg_.churn_proc_bytes;
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
  env_->phys.write64(env_->host.resolve_functional(table_gfn).hpa + idx * 8, e);
}

uint64_t GuestPtChurn::next_table(uint64_t table_gfn, unsigned idx) {
  const Addr ea = env_->host.resolve_functional(table_gfn).hpa + idx * 8;
  const uint64_t e = env_->phys.read64(ea);
  if (env_->guest_fmt.present(e)) return env_->guest_fmt.address(e, 2) >> kPageShift;
  const uint64_t t = alloc_table();
  env_->phys.write64(ea, env_->guest_fmt.make_table(t << kPageShift));
  return t;
}

Addr GuestPtChurn::pte_gva(const Process& p, uint64_t page) const {
  return kDirectMapGva + (p.pt_gfn[page / 512] << kPageShift) + (page % 512) * 8;
}

uint64_t GuestPtChurn::leaf_pte(const Process& p, uint64_t page) const {
  // Accessed set from the start, as Linux's user page protections have it (_PAGE_ACCESSED).
  return env_->guest_fmt.make_leaf(p.data_gpa + (page << kPageShift), 1, Perms{true, true, false},
                                   true, false);
}

void GuestPtChurn::attach(WorkloadEnv& env) {
  env_ = &env;
  const uint64_t pages = cfg_.churn_proc_bytes >> kPageShift;
  const PageTableFormat& f = env_->guest_fmt;
  procs_.assign(cfg_.vcpus, std::vector<Process>(cfg_.churn_procs));
  std::vector<uint64_t> guest_tables;
  for (unsigned v = 0; v < cfg_.vcpus; ++v) {
    Rng rng(cfg_.seed, 0x7ab1e + v);
    for (unsigned i = 0; i < cfg_.churn_procs; ++i) {
      Process& p = procs_[v][i];
      p.data_gpa = GuestLayout::kDataGpa + (uint64_t(v) * cfg_.churn_procs + i) * cfg_.churn_proc_bytes;
      p.root_gfn = alloc_table();
      guest_tables.push_back(p.root_gfn);
      const uint64_t pdpt = next_table(p.root_gfn, f.index(GuestLayout::kDataGva, 4));
      const uint64_t pd = next_table(pdpt, f.index(GuestLayout::kDataGva, 3));
      guest_tables.push_back(pdpt);
      guest_tables.push_back(pd);
      p.mapped.assign(pages, false);
      for (uint64_t k = 0; k < pages / 512; ++k) {
        p.pt_gfn.push_back(next_table(pd, f.index(GuestLayout::kDataGva + (k << 21), 2)));
        guest_tables.push_back(p.pt_gfn.back());
      }
      for (uint64_t page = 0; page < pages; ++page)  // half the window mapped at the start
        if (rng.below(2)) {
          write_entry(p.pt_gfn[page / 512], unsigned(page % 512), leaf_pte(p, page));
          p.mapped[page] = true;
          p.mapped_list.push_back(uint32_t(page));
        }
    }
  }
  // The direct map of every process page-table page, one subtree shared by all processes.
  const uint64_t dm_root = alloc_table();
  for (uint64_t g : guest_tables) {
    const Addr gva = kDirectMapGva + (g << kPageShift);
    uint64_t t = dm_root;
    for (unsigned level = 4; level >= 2; --level) t = next_table(t, f.index(gva, level));
    write_entry(t, f.index(gva, 1),
                f.make_leaf(g << kPageShift, 1, Perms{true, true, false}, true, false));
  }
  const unsigned dm_idx = f.index(kDirectMapGva, 4);
  const uint64_t dm_entry =
      env_->phys.read64(env_->host.resolve_functional(dm_root).hpa + dm_idx * 8);
  for (auto& vp : procs_)
    for (Process& p : vp) write_entry(p.root_gfn, dm_idx, dm_entry);
}

std::unique_ptr<OpStream> GuestPtChurn::vcpu_stream(unsigned vcpu) {
  return std::make_unique<ChurnStream>(*this, procs_.at(vcpu), cfg_, vcpu);
}

void GuestPtChurn::publish(Stats& s) {
  s.counter("churn.pte_writes").set(pte_writes);
  s.counter("churn.cr3_loads").set(cr3_loads);
  s.counter("churn.tlb_flushes").set(tlb_flushes);
  s.counter("churn.invlpgs").set(invlpgs);
  s.counter("churn.data_accesses").set(data_accesses);
}

}  // namespace mmusim
