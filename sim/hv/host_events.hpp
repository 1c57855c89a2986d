// Host-side events a workload (a replayed trace) raises against the VM: what the host memory
// manager does to guest memory behind the guest's back (MMU-notifier events) and what the VMM
// asks through ioctls (memslots, dirty log). The arch's hypervisor MMU code decides which of
// them it models, through its HostEventSink; a workload checks `supports` for every event it
// holds before the run starts, so an unmodelled event is an error and never a silent skip.
#pragma once
#include <cstdint>
#include <string>

#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

enum class HostEventKind : uint8_t {
  Unmap,          // mmu_notifier invalidate_range: the host unmaps [gpa, gpa + bytes)
  ChangePte,      // mmu_notifier change_pte: the page at gpa now has another host frame
  Age,            // mmu_notifier clear_flush_young / test_young over [gpa, gpa + bytes)
  Cow,            // host copy-on-write break of the page at gpa (new frame, then change_pte)
  KsmMerge,       // KSM merges the page at gpa onto the frame of the page at gpa2 (read-only)
  SwapOut,        // the host swaps out [gpa, gpa + bytes) (invalidate, frames freed)
  MemslotCreate,  // KVM_SET_USER_MEMORY_REGION: slot covering [gpa, gpa + bytes)
  MemslotDelete,  // KVM_SET_USER_MEMORY_REGION with size 0: slot removed
  MemslotLock,    // arm64-style locked memslot: pin and map slot ahead of use
  DirtyLogClear,  // KVM_CLEAR_DIRTY_LOG on [gpa, gpa + bytes) of slot (re-protect for logging)
  Mmap,           // the VMM maps a range outside guest RAM (mmap_lock held for write)
  Munmap,         // the VMM unmaps such a range (mmap_lock held for write)
};
constexpr unsigned kHostEventKinds = 12;

// Name in the trace format and in error messages.
inline const char* host_event_name(HostEventKind k) {
  switch (k) {
    case HostEventKind::Unmap: return "unmap";
    case HostEventKind::ChangePte: return "change-pte";
    case HostEventKind::Age: return "age";
    case HostEventKind::Cow: return "cow";
    case HostEventKind::KsmMerge: return "ksm-merge";
    case HostEventKind::SwapOut: return "swap-out";
    case HostEventKind::MemslotCreate: return "memslot-create";
    case HostEventKind::MemslotDelete: return "memslot-delete";
    case HostEventKind::MemslotLock: return "memslot-lock";
    case HostEventKind::DirtyLogClear: return "dirty-log-clear";
    case HostEventKind::Mmap: return "mmap";
    case HostEventKind::Munmap: return "munmap";
  }
  return "?";
}

// Fields a kind uses; the others stay zero.
struct HostEventFields {
  bool slot, gpa, bytes, gpa2;
};
inline HostEventFields host_event_fields(HostEventKind k) {
  switch (k) {
    case HostEventKind::Unmap:
    case HostEventKind::Age:
    case HostEventKind::SwapOut: return {false, true, true, false};
    case HostEventKind::ChangePte:
    case HostEventKind::Cow: return {false, true, false, false};
    case HostEventKind::KsmMerge: return {false, true, false, true};
    case HostEventKind::MemslotCreate:
    case HostEventKind::DirtyLogClear: return {true, true, true, false};
    case HostEventKind::MemslotDelete:
    case HostEventKind::MemslotLock: return {true, false, false, false};
    case HostEventKind::Mmap:
    case HostEventKind::Munmap: return {false, false, false, false};
  }
  return {false, false, false, false};
}

struct HostEvent {
  HostEventKind kind = HostEventKind::Unmap;
  uint32_t slot = 0;
  Addr gpa = 0;     // guest-physical (the platform's address, already placed in guest RAM)
  uint64_t bytes = 0;
  Addr gpa2 = 0;    // KSM: the page whose frame is kept
};

// An arch's entry points for host events. `apply` runs in the host thread that raised the
// event and pays for every step through the agent, like the rest of the hypervisor code.
class HostEventSink {
 public:
  virtual ~HostEventSink() = default;
  virtual bool supports(HostEventKind kind) const = 0;
  virtual void apply(Agent& host, const HostEvent& ev) = 0;
};

}  // namespace mmusim
