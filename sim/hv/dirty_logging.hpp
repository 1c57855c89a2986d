// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): dirty
// logging of one memslot [gpa, gpa+len) as KVM_MEM_LOG_DIRTY_PAGES with manual protect.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class DirtyLogging {
 public:
  virtual ~DirtyLogging() = default;
  // enable write-protects the slot (with PML: clears D bits of its 4K pages); get copies the dirty bitmap (one bit per 4 KiB page from
  // gpa); clear clears the given bits and write-protects those pages again; disable stops it.
  virtual void enable_dirty_log(Agent& a, Addr gpa, uint64_t len) = 0;
  virtual std::vector<uint64_t> get_dirty_log(Agent& a) = 0;
  virtual void clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits) = 0;
  virtual void disable_dirty_log(Agent& a) = 0;
};

}  // namespace mmusim
