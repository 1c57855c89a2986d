// A Linux release whose KVM behaviour is modelled (--kvm-version X.Y). Behaviours that changed
// between releases are listed, each with the release it appeared in, in the release timeline
// (sim/core/kvm_timeline.hpp, docs/KVM_RELEASES.md); a run models every one of them as it was in
// the selected release.
#pragma once
#include <string>

namespace mmusim {

// VERSION.PATCHLEVEL of a mainline release, as Linux's top-level Makefile names them.
struct KvmRelease {
  unsigned version = 0;
  unsigned patchlevel = 0;

  // One number for the statistics output: 612 for 6.12.
  constexpr unsigned code() const { return version * 100 + patchlevel; }
  friend constexpr bool operator<(KvmRelease a, KvmRelease b) { return a.code() < b.code(); }
  friend constexpr bool operator<=(KvmRelease a, KvmRelease b) { return a.code() <= b.code(); }
  friend constexpr bool operator==(KvmRelease a, KvmRelease b) { return a.code() == b.code(); }
  friend constexpr bool operator!=(KvmRelease a, KvmRelease b) { return !(a == b); }
};

// The range --kvm-version accepts. The oldest is the release the TDP MMU was merged in; the
// newest is the release whose form every behaviour of the timeline takes in the model (the
// default; docs/KVM_RELEASES.md lists what that release does that the model does not).
inline constexpr KvmRelease kOldestKvmRelease{5, 10};
inline constexpr KvmRelease kNewestKvmRelease{6, 12};

// "X.Y" of a mainline release from kOldestKvmRelease to kNewestKvmRelease (5.10 .. 5.19,
// 6.0 .. 6.12); false when malformed, not a release (5.20) or out of that range.
bool kvm_release_from_text(const std::string& text, KvmRelease& out);
std::string kvm_release_text(KvmRelease r);  // "6.12"
std::string kvm_release_range_text();        // "5.10 to 6.12"

}  // namespace mmusim
