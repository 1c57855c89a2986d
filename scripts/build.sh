#!/usr/bin/env bash
# Configures (once) and builds into build/ (Release, Ninja): the named targets, or everything.
#   scripts/build.sh            everything (simulator, benchmark, tests)
#   scripts/build.sh mmusim     just the simulator
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$(nproc)" ${1:+--target "$@"}
