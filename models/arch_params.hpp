// The parameters of every arch's hypervisor software, built once by the platform
// (app/params_models.cpp); make_arch hands each arch only its own member.
#pragma once

#include "models/arm64/arm64_arch.hpp"
#include "models/mips/mips_arch.hpp"
#include "models/x86/x86_arch.hpp"

namespace mmusim {

struct ArchParams {
  X86ArchParams x86;      // --arch x86
  Arm64ArchParams arm64;  // --arch arm64
  MipsArchParams mips;    // --arch mips
};

}  // namespace mmusim
