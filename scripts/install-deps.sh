#!/usr/bin/env bash
# Installs the Debian packages mmusim needs, only those missing. Idempotent and quiet when
# everything is present. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsystemc-dev libboost-program-options-dev zlib1g-dev liblzma-dev valgrind
  googletest libgtest-dev libbenchmark-dev
  python3 python3-pandas python3-matplotlib python3-pytest python3-distributed
  clang libclang-rt-14-dev   # libFuzzer and the sanitizer runtimes (docs/HARDENING.md)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
