#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root:
# installs build dependencies, builds twice (optimised, then with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every tier
# (unit, platform, e2e) of both builds under ctest; then builds the Debian
# package from a clean copy (a third, product-only build), installs, tries,
# removes and purges it (packaging/test-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The operations tests run Debian's prometheus-pushgateway, promtool (from `prometheus`)
# and openssl (a TLS server with a self-signed certificate).
packaging/install-build-deps.sh prometheus-pushgateway prometheus openssl

run_suite() {
  local dir=$1
  shift
  echo "== jobwarden tests: $dir =="
  packaging/build.sh "$dir" "$@"
  # Per-test timeout: a hang fails loudly instead of eating CI's budget.
  (cd "$dir" && ctest -j"$(nproc)" --timeout 300 --no-tests=error --output-on-failure)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBWARDEN_BUILD_TESTS=ON
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DJOBWARDEN_SANITIZE=address,undefined -DJOBWARDEN_BUILD_TESTS=ON
packaging/test-package.sh
