#include "models/arch_registry.hpp"

#include "models/x86/x86_arch.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

std::vector<std::string> arch_names() { return {"x86"}; }

std::unique_ptr<ArchModel> make_arch(const std::string& name, ArchDeps& deps) {
  if (name == "x86") return std::make_unique<X86Arch>(deps);
  std::string known;
  for (const auto& n : arch_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("--arch: '" + name + "' is not modelled; available: " + known);
}

}  // namespace mmusim
