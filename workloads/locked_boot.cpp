#include "workloads/locked_boot.hpp"

#include "models/arm64/locked_memslots.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "sim/core/error.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

namespace {

// Every line of the image, read in order with the MMU off (VA = IPA); then, `cycles` times, a
// sync point (exit to the VMM) followed by the whole image read again.
class ImageReader : public OpStream {
 public:
  ImageReader(uint64_t bytes, unsigned cycles) : lines_(bytes / kLineSize), cycles_(cycles) {}
  bool next(Op& op) override {
    op = Op{};
    if (i_ == lines_) {
      if (pass_ == cycles_) return false;
      ++pass_;
      i_ = 0;
      op.kind = Op::Kind::Sync;
      return true;
    }
    op.kind = Op::Kind::Access;
    op.access = Access::Read;
    op.mmu_off = true;
    op.gva = GuestLayout::kDataGpa + i_ * kLineSize;
    ++i_;
    return true;
  }

 private:
  uint64_t lines_, i_ = 0;
  unsigned cycles_, pass_ = 0;
};

}  // namespace

LockedBoot::LockedBoot(const LockedBootParams& p) : p_(p), rendezvous_(p.vcpus) {
  ram_bytes_ = p_.mem_per_vcpu * p_.vcpus;
  if (p_.image_size > ram_bytes_)
    throw UsageError("--image-size: " + std::to_string(p_.image_size >> 10) +
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
  return std::make_unique<ImageReader>(p_.image_size, p_.relock_cycles);
}

std::vector<HostThreadSpec> LockedBoot::host_threads() {
  return {{"vmm-boot", [this](Agent& a) { vmm_boot(a); }}};
}

void LockedBoot::vmm_boot(Agent& vmm) {
  const int slot = slots_->create(vmm, GuestLayout::kDataGpa, ram_bytes_);
  if (!slots_->lock(vmm, slot, p_.lock_writable))
    throw ModelError("locked-boot: locking the memslot failed with vCPUs running");
  // Load the image after locking.
  write_image(vmm);
  vcpus_started_at_ = vmm.now();
  slots_->start_vcpus(vmm);
  for (unsigned c = 0; c < p_.relock_cycles; ++c) {
    rendezvous_.vmm_wait_all(vmm);  // every vCPU is back in the VMM, out of KVM_RUN
    if (!slots_->unlock(vmm, slot))  // migration starts
      throw ModelError("locked-boot: unlocking the memslot failed with vCPUs running");
    if (!slots_->lock(vmm, slot, p_.lock_writable))  // migration cancelled
      throw ModelError("locked-boot: re-locking the memslot failed with vCPUs running");
    ++relocks_;
    write_image(vmm);
    rendezvous_.vmm_release(vmm);  // the vCPUs issue KVM_RUN again
  }
}

void LockedBoot::write_image(Agent& vmm) {
  for (Addr off = 0; off < p_.image_size; off += kLineSize) {
    const Addr gpa = GuestLayout::kDataGpa + off;
    const Addr hpa = env_->host.lookup(gpa >> kPageShift).hpa + (gpa & (kPageSize - 1));
    vmm.sync();
    sc_core::sc_time d = vmm.offset();
    vmm.port().write_data(hpa, true, d);
    vmm.set_offset(d);
    ++image_lines_written_;
  }
}

void LockedBoot::publish(Stats& stats) {
  struct BootStats : StatsGroup {
    explicit BootStats(Stats& s) : StatsGroup(s, "boot") {}
    statistics::Counter image_lines{*this, "image_lines",
                                    "cache lines of the boot image the VMM wrote"};
    statistics::Value vcpus_started_at{*this, "vcpus_started_at",
                                       "cycle at which the vCPUs were started"};
    statistics::Counter relocks{*this, "relocks", "memslot re-lock attempts"};
  } st(stats);
  st.image_lines.set(image_lines_written_);
  st.vcpus_started_at.set(vcpus_started_at_);
  st.relocks.set(relocks_);
}

}  // namespace mmusim
