#!/usr/bin/env bash
# Configures and builds one flavour of jobwarden.
#   packaging/build.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -G Ninja -DJOBWARDEN_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
