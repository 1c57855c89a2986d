// Builds the ArchModel named by --arch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sim/hv/arch_model.hpp"

namespace mmusim {

// Throws UsageError naming --arch when the arch is not modelled.
std::unique_ptr<ArchModel> make_arch(const std::string& name, ArchDeps& deps);
std::vector<std::string> arch_names();

}  // namespace mmusim
