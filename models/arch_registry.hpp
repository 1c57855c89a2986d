// Builds the ArchModel named by --arch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/arch_params.hpp"
#include "sim/hv/arch_model.hpp"

namespace mmusim {

// Builds the ArchModel of `arch` from its member of `params` (the others are not read).
std::unique_ptr<ArchModel> make_arch(Arch arch, const ArchParams& params, ArchDeps& deps);

}  // namespace mmusim
