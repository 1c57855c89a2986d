// --kvm-version: which KVM release's behaviour is modelled (sim/core/kvm_timeline.hpp,
// docs/KVM_RELEASES.md). The per-behaviour options that override it sit with their areas.
#include "sim/core/config_table.hpp"
#include "sim/core/kvm_release.hpp"

namespace mmusim::config_detail {

void add_release_options(OptionTable& o) {
  o.group = "KVM release (docs/KVM_RELEASES.md)";
  o.add(
      "kvm-version", "X.Y",
      "Linux release whose KVM behaviour is modelled, " + kvm_release_range_text() +
          "; each changed behaviour takes its form of that release unless its own option "
          "(e.g. --mmu-lock) is set",
      [](const SimConfig& c) { return kvm_release_text(c.kvm_version); },
      [](SimConfig& c, const std::string& v) {
        if (!kvm_release_from_text(v, c.kvm_version)) {
          bad_value("kvm-version", "expected a Linux release X.Y from " +
                                       kvm_release_range_text() + ", got " + in_quotes(v));
        }
      });
}

}  // namespace mmusim::config_detail
