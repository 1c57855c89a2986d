// The interconnect's DVM channel (docs/ARCHITECTURE.md, Several VMs): the path broadcast TLB
// maintenance (TLBI) and its completion messages take between the cores of the inner shareable
// domain. There is one per host, in the memory system, whichever VM or core sends the message:
// TLBIs of two VMs queue behind each other as those of one VM's vCPUs do.
//
// It is booked in simulated-time order by the senders (arm64's BroadcastTlbi, at the caller's
// true time): a message sent while the channel is busy starts when the earlier ones are carried.
#pragma once
#include <algorithm>

#include "sim/core/types.hpp"

namespace mmusim {

class DvmChannel {
 public:
  // Books `busy` cycles of the channel for a message (or batch) sent at `at`; returns when it
  // starts: `at`, or when the messages booked before it are carried.
  Cycles book(Cycles at, Cycles busy) {
    const Cycles start = std::max(at, busy_until_);
    busy_until_ = start + busy;
    return start;
  }
  Cycles busy_until() const { return busy_until_; }

 private:
  Cycles busy_until_ = 0;
};

}  // namespace mmusim
