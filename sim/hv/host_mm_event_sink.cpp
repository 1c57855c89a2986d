#include "sim/hv/host_mm_event_sink.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

HostMmEventSink::HostMmEventSink(HostMm& host, Stats& stats)
    : host_(host), registry_(stats) {}

bool HostMmEventSink::supports(HostEventKind kind) const {
  switch (kind) {
    case HostEventKind::Unmap:
    case HostEventKind::ChangePte:
    case HostEventKind::Cow:
    case HostEventKind::KsmMerge:
    case HostEventKind::SwapOut:
    case HostEventKind::Mmap:
    case HostEventKind::Munmap: return true;
    case HostEventKind::Age: return host_.notifier() != nullptr;
    default: return false;
  }
}

void HostMmEventSink::apply(Agent& a, const HostEvent& ev) {
  if (!supports(ev.kind))
    throw ModelError(std::string("host event '") + host_event_name(ev.kind) + "' not supported");
  if (!stats_) stats_.emplace(registry_);
  stats_->applied.inc();
  statistics::Counter& pages_ = stats_->pages;
  statistics::Counter& skipped_ = stats_->pages_skipped;
  const uint64_t gfn = ev.gpa >> kPageShift;
  // Ranges cover every page they intersect.
  const uint64_t count = ((ev.gpa + ev.bytes + kPageSize - 1) >> kPageShift) - gfn;
  auto one = [&](bool done) { (done ? pages_ : skipped_).inc(); };
  switch (ev.kind) {
    case HostEventKind::Unmap: {
      const uint64_t n = host_.unmap_range(a, gfn, count);
      pages_.inc(n);
      skipped_.inc(count - n);
      break;
    }
    case HostEventKind::ChangePte: one(host_.migrate(a, gfn)); break;
    case HostEventKind::Cow: one(host_.cow_break(a, gfn)); break;
    case HostEventKind::KsmMerge: {
      const uint64_t gfn2 = ev.gpa2 >> kPageShift;
      const HostPage keep = host_.lookup(gfn2);
      if (keep.level == 0 || gfn2 == gfn) {
        one(false);
        break;
      }
      Addr stable = keep.hpa;
      if (keep.writable) {  // not a KSM page yet: it becomes one first
        stable = host_.new_shared_frame();
        host_.ksm_merge(a, gfn2, stable);
      }
      one(host_.ksm_merge(a, gfn, stable));
      break;
    }
    case HostEventKind::SwapOut:
      for (uint64_t g = gfn; g < gfn + count; ++g) one(host_.swap_out(a, g));
      break;
    case HostEventKind::Age:
      // One clear_flush_young over the whole range, as page_referenced on a large folio would.
      host_.notifier()->clear_flush_young(a, HostMm::hva_of(gfn), HostMm::hva_of(gfn + count));
      pages_.inc(count);
      break;
    case HostEventKind::Mmap:
    case HostEventKind::Munmap: host_.vma_change(a); break;  // no guest page changes
    default: break;
  }
}

}  // namespace mmusim
