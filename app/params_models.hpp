// Builders of the hypervisor MMU models' parameters (models/): each fills every field of one
// Params from the run's SimConfig, once, where the platform builds the arch.
#pragma once

#include "models/arch_params.hpp"
#include "sim/core/config.hpp"

namespace mmusim {

// The fault path's mmu_lock mode on `arch`: --mmu-lock, or as --kvm-version says (MIPS takes
// its spinlock either way).
MmuLockMode fault_mmu_lock(const SimConfig& cfg, Arch arch);
// x86
TdpMmuParams tdp_mmu_params(const SimConfig& cfg);
ShadowMmuParams shadow_mmu_params(const SimConfig& cfg);
X86ArchParams x86_arch_params(const SimConfig& cfg);
// arm64
Stage2MmuParams stage2_mmu_params(const SimConfig& cfg);
LockedMemslotsParams locked_memslots_params(const SimConfig& cfg);
BroadcastTlbiParams broadcast_tlbi_params(const SimConfig& cfg);
Arm64ArchParams arm64_arch_params(const SimConfig& cfg);
// MIPS
MipsGpaMmuParams mips_gpa_mmu_params(const SimConfig& cfg);
MipsRefillWalkerParams mips_refill_walker_params(const SimConfig& cfg);
MipsArchParams mips_arch_params(const SimConfig& cfg);
// Every arch's (make_arch reads the member of --arch only).
ArchParams arch_params(const SimConfig& cfg);

}  // namespace mmusim
