#include "workloads/locked_boot.hpp"

#include "models/arm64/locked_memslots.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "sim/core/error.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Every line of the image, read in order with the MMU off (VA = IPA).
class ImageReader : public OpStream {
 public:
  explicit ImageReader(uint64_t bytes) : lines_(bytes / kLineSize) {}
  bool next(Op& op) override {
    if (i_ >= lines_) return false;
    op = Op{};
    op.kind = Op::Kind::Access;
    op.access = Access::Read;
    op.mmu_off = true;
    op.gva = GuestLayout::kDataGpa + i_ * kLineSize;
    ++i_;
    return true;
  }

 private:
  uint64_t lines_, i_ = 0;
};

}  // namespace

LockedBoot::LockedBoot(const SimConfig& cfg) : cfg_(cfg) {
  ram_bytes_ = cfg.mem_per_vcpu * cfg.vcpus;
  if (cfg.image_size > ram_bytes_)
    throw UsageError("--image-size: " + std::to_string(cfg.image_size >> 10) +
                     " KiB is more than the guest's memory (--mem-per-vcpu x --vcpus)");
}

void LockedBoot::attach(WorkloadEnv& env) {
  env_ = &env;
  auto* s2 = dynamic_cast<Stage2Mmu*>(&env.mmu);
  if (!s2 || !s2->memslots())
    throw UsageError("--workload: 'locked-boot' needs --arch arm64 (locked memslots)");
  slots_ = s2->memslots();
  slots_->hold_vcpus();  // KVM_RUN comes from the VMM once the guest is loaded
}

std::unique_ptr<OpStream> LockedBoot::vcpu_stream(unsigned) {
  return std::make_unique<ImageReader>(cfg_.image_size);
}

std::vector<HostThreadSpec> LockedBoot::host_threads() {
  return {{"vmm-boot", [this](Agent& a) { vmm_boot(a); }}};
}

void LockedBoot::vmm_boot(Agent& vmm) {
  const int slot = slots_->create(vmm, GuestLayout::kDataGpa, ram_bytes_);
  if (!slots_->lock(vmm, slot, cfg_.lock_writable))
    throw ModelError("locked-boot: locking the memslot failed with vCPUs running");
  // Load the image after locking, through the VMM's cacheable mapping of guest memory.
  for (Addr off = 0; off < cfg_.image_size; off += kLineSize) {
    const Addr gpa = GuestLayout::kDataGpa + off;
    const Addr hpa = env_->host.lookup(gpa >> kPageShift).hpa + (gpa & (kPageSize - 1));
    vmm.sync();
    sc_core::sc_time d = vmm.offset();
    vmm.port().write_data(hpa, true, d);
    vmm.set_offset(d);
    ++image_lines_written_;
  }
  vcpus_started_at_ = vmm.now();
  slots_->start_vcpus(vmm);
}

void LockedBoot::publish(Stats& stats) {
  stats.counter("boot.image_lines").set(image_lines_written_);
  stats.counter("boot.vcpus_started_at").set(vcpus_started_at_);
}

}  // namespace mmusim
