#!/usr/bin/env bash
# Builds everything and runs every test: the GoogleTest suites and the Python tests, all
# through ctest (see CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
ctest --test-dir build --output-on-failure -j "$(nproc)"
