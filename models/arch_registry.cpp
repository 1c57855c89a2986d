#include "models/arch_registry.hpp"

#include "models/arm64/arm64_arch.hpp"
#include "models/mips/mips_arch.hpp"
#include "models/x86/x86_arch.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

std::unique_ptr<ArchModel> make_arch(Arch arch, ArchDeps& deps) {
  switch (arch) {
    case Arch::X86: return std::make_unique<X86Arch>(deps);
    case Arch::Arm64: return std::make_unique<Arm64Arch>(deps);
    case Arch::Mips: return std::make_unique<MipsArch>(deps);
  }
  throw ModelError("make_arch: an Arch value without a model");
}

}  // namespace mmusim
