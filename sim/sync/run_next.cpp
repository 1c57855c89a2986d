#include "sim/sync/run_next.hpp"

#include <cstdint>

#include "sim/sync/systemc_internals.hpp"

#include <sysc/kernel/sc_runnable.h>  // the run queue's declaration (systemc does not include it)

namespace mmusim {

#if MMUSIM_SYSTEMC_INTERNALS_KNOWN
namespace {

// The kernel's members this needs are private. Naming a private member in an explicit template
// instantiation is allowed ([temp.explicit]); the instantiation defines a friend that hands the
// member pointer out. One tag per member.
template <typename Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member_of(Tag) { return Member; }
};

struct KernelRunQueue {
  using type = sc_core::sc_runnable* sc_core::sc_simcontext::*;
  friend type member_of(KernelRunQueue);
};
template struct Expose<KernelRunQueue, &sc_core::sc_simcontext::m_runnable>;

// Head of the current round's thread queue: a singly linked list through each process's
// run-queue link, ended by a sentinel value (never null: null in the link means "not queued").
struct RoundHead {
  using type = sc_core::sc_thread_handle sc_core::sc_runnable::*;
  friend type member_of(RoundHead);
};
template struct Expose<RoundHead, &sc_core::sc_runnable::m_threads_pop>;

// The next round's queue; its head node doubles as the end marker of the lists in some builds
// of the kernel (others use the value 0xdb).
struct NextRoundHead {
  using type = sc_core::sc_thread_handle sc_core::sc_runnable::*;
  friend type member_of(NextRoundHead);
};
template struct Expose<NextRoundHead, &sc_core::sc_runnable::m_threads_push_head>;

struct RunQueueLink {
  using type = sc_core::sc_process_b* sc_core::sc_process_b::*;
  friend type member_of(RunQueueLink);
};
template struct Expose<RunQueueLink, &sc_core::sc_process_b::m_runnable_p>;

}  // namespace

bool RunNext::available() { return true; }

bool RunNext::make_next(sc_core::sc_simcontext* k, sc_core::sc_process_b* t) {
  sc_core::sc_process_b*& link = t->*member_of(RunQueueLink{});
  if (link != nullptr) return false;
  sc_core::sc_runnable* q = k->*member_of(KernelRunQueue{});
  sc_core::sc_thread_handle& head = q->*member_of(RoundHead{});
  // sc_thread_process derives from sc_process_b alone: both pointers have the same address.
  link = reinterpret_cast<sc_core::sc_process_b*>(head);
  head = reinterpret_cast<sc_core::sc_thread_handle>(t);
  return true;
}

const sc_core::sc_process_b* RunNext::first_in_round(sc_core::sc_simcontext* k) {
  sc_core::sc_runnable* q = k->*member_of(KernelRunQueue{});
  const sc_core::sc_thread_handle head = q->*member_of(RoundHead{});
  const bool end = head == nullptr || head == q->*member_of(NextRoundHead{}) ||
                   reinterpret_cast<uintptr_t>(head) == 0xdb;
  return end ? nullptr : reinterpret_cast<const sc_core::sc_process_b*>(head);
}

#else
bool RunNext::available() { return false; }
bool RunNext::make_next(sc_core::sc_simcontext*, sc_core::sc_process_b*) { return false; }
const sc_core::sc_process_b* RunNext::first_in_round(sc_core::sc_simcontext*) { return nullptr; }
#endif

}  // namespace mmusim
