#include "models/arch_registry.hpp"

#include "models/arm64/arm64_arch.hpp"
#include "models/mips/mips_arch.hpp"
#include "models/x86/x86_arch.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

std::vector<std::string> arch_names() { return {"x86", "arm64", "mips"}; }

std::unique_ptr<ArchModel> make_arch(const std::string& name, ArchDeps& deps) {
  if (name == "x86") return std::make_unique<X86Arch>(deps);
  if (name == "arm64") return std::make_unique<Arm64Arch>(deps);
  if (name == "mips") return std::make_unique<MipsArch>(deps);
  std::string known;
  for (const auto& n : arch_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("--arch: '" + name + "' is not modelled; available: " + known);
}

}  // namespace mmusim
