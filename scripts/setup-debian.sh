#!/usr/bin/env bash
# Install what attestd needs to build and test on Debian 12 (run as root or with sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang libclang-rt-14-dev \
  libssl-dev libjansson-dev libcmocka-dev \
  openssl python3 ca-certificates git >/dev/null
echo "setup-debian: dependencies installed"
