#!/usr/bin/env bash
# Rewrites the expected statistics of the golden configurations (tests/golden/): all of them,
# or the named ones. Run it only when a change of results is meant, and say in the commit
# message what changed and why (tests/golden/README.md).
#   scripts/update-golden.sh                 every configuration
#   scripts/update-golden.sh x86_tdp_dirty_log_shared ...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh mmusim
MMUSIM_BIN=build/mmusim /usr/bin/python3 tests/golden/golden.py update "$@"
