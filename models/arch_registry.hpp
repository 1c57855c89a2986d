// Builds the ArchModel named by --arch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sim/hv/arch_model.hpp"

namespace mmusim {

std::unique_ptr<ArchModel> make_arch(Arch arch, ArchDeps& deps);

}  // namespace mmusim
