#include "sim/core/kvm_release.hpp"

namespace mmusim {

namespace {
// The last PATCHLEVEL of each VERSION before the next VERSION started (5.19 was followed by
// 6.0); the newest VERSION ends at kNewestKvmRelease.
unsigned last_patchlevel(unsigned version) {
  if (version == kNewestKvmRelease.version) return kNewestKvmRelease.patchlevel;
  return version == 5 ? 19 : 0;
}

// Digits only, no sign, at most three of them (no release number is longer).
bool small_number(const std::string& s, unsigned& out) {
  if (s.empty() || s.size() > 3) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  out = v;
  return true;
}
}  // namespace

bool kvm_release_from_text(const std::string& text, KvmRelease& out) {
  const size_t dot = text.find('.');
  if (dot == std::string::npos) return false;
  KvmRelease r;
  if (!small_number(text.substr(0, dot), r.version) ||
      !small_number(text.substr(dot + 1), r.patchlevel))
    return false;
  // "6.012" is not how a release is written.
  if (kvm_release_text(r) != text) return false;
  if (r < kOldestKvmRelease || kNewestKvmRelease < r) return false;
  if (r.patchlevel > last_patchlevel(r.version)) return false;
  out = r;
  return true;
}

std::string kvm_release_text(KvmRelease r) {
  return std::to_string(r.version) + "." + std::to_string(r.patchlevel);
}

std::string kvm_release_range_text() {
  return kvm_release_text(kOldestKvmRelease) + " to " + kvm_release_text(kNewestKvmRelease);
}

}  // namespace mmusim
