#include "sim/sync/sim_kernel.hpp"

#include "sim/sync/run_next.hpp"

namespace mmusim {

SimKernel::SimKernel(const KernelParams& p)
    : clock_(p.clock_ghz, context_.get()),
      horizon_(context_.get()),
      parked_(*this),
      quantum_(clock_.cycles(p.quantum).value()),
      lookahead_(p.lookahead),
      direct_handoff_(p.direct_handoff && RunNext::available()) {}

}  // namespace mmusim
