#include "models/arch_registry.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

std::unique_ptr<ArchModel> make_arch(Arch arch, const ArchParams& params, ArchDeps& deps) {
  switch (arch) {
    case Arch::X86: return std::make_unique<X86Arch>(params.x86, deps);
    case Arch::Arm64: return std::make_unique<Arm64Arch>(params.arm64, deps);
    case Arch::Mips: return std::make_unique<MipsArch>(params.mips, deps);
  }
  throw ModelError("make_arch: an Arch value without a model");
}

}  // namespace mmusim
