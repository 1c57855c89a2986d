// Intel EPT (extended page tables) entries as KVM's TDP MMU builds them: the host's second
// stage, guest-physical to host-physical, with 4 or 5 levels.
#pragma once
#include <cstdint>

#include "sim/core/modes.hpp"
#include "sim/mmu/page_table_format.hpp"

namespace mmusim {

class EptFormat final : public PageTableFormat {
 public:
  // Architectural EPT bits (SDM vol. 3, "EPT paging-structure entries").
  static constexpr uint64_t kRead = 1ull << 0;
  static constexpr uint64_t kWrite = 1ull << 1;
  static constexpr uint64_t kExec = 1ull << 2;
  static constexpr unsigned kMemTypeShift = 3;      // bits 3-5, leaves only
  static constexpr uint64_t kMemTypeMask = 7ull << kMemTypeShift;
  static constexpr uint64_t kMemTypeWb = 6;
  static constexpr uint64_t kIgnorePat = 1ull << 6;
  static constexpr uint64_t kLarge = 1ull << 7;     // leaf at levels 2 and 3
  static constexpr uint64_t kAccessed = 1ull << 8;
  static constexpr uint64_t kDirty = 1ull << 9;
  // KVM's software SPTE_MMU_PRESENT bit: set on every entry KVM installs, so KVM can tell a
  // shadow-present entry from a zapped one without decoding RWX.
  static constexpr uint64_t kMmuPresent = 1ull << 11;
  static constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ull;  // bits 12..51
  static constexpr uint64_t kRwx = kRead | kWrite | kExec;
  // KVM's access tracking without A/D flags (mark_spte_for_access_track): R and X are saved
  // from bit 54 up (SHADOW_ACC_TRACK_SAVED_BITS_SHIFT) and R/W/X cleared, so the walker sees no
  // entry; W is not saved (the MMU-writable bit lets the fast page fault give it back).
  static constexpr unsigned kAccTrackSavedShift = 54;
  static constexpr uint64_t kAccTrackSaved = kRead | kExec;
  static bool acc_tracked(uint64_t e) { return (e & kMmuPresent) && !(e & kRwx); }
  static uint64_t mark_acc_track(uint64_t e) {
    return (e | ((e & kAccTrackSaved) << kAccTrackSavedShift)) & ~kRwx;
  }
  static uint64_t restore_acc_track(uint64_t e) {
    const uint64_t saved = (e >> kAccTrackSavedShift) & kAccTrackSaved;
    return (e & ~(kAccTrackSaved << kAccTrackSavedShift)) | saved;
  }

  // Hardware: what the EPT walker sees (an entry is present when any of R/W/X is set). Kvm:
  // what KVM's iterators see (is_shadow_present_pte: also an access-tracked entry, by its
  // SPTE_MMU_PRESENT bit). `ad`: whether the walker sets A/D flags (EPTP bit 6).
  enum class View { Hardware, Kvm };
  explicit EptFormat(unsigned levels, EptAd ad = EptAd::On, View view = View::Hardware);
  EptAd ad() const { return ad_; }

  const char* name() const override;
  bool accessed(uint64_t e) const override { return (e & kAccessed) != 0; }
  bool dirty(uint64_t e) const override { return (e & kDirty) != 0; }

  uint64_t make_table(Addr table) const override;
  uint64_t make_leaf(Addr frame, unsigned level, Perms p, bool accessed,
                     bool dirty) const override;

 private:
  EptAd ad_;
};

}  // namespace mmusim
