#!/usr/bin/env bash
# Installs what building and testing jobwarden needs on Debian 12, as root.
# Only Debian's own packages; nothing is downloaded from anywhere else.
# Skips apt-get entirely when everything is already installed.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libyaml-cpp-dev nlohmann-json3-dev libcurl4-openssl-dev libre2-dev libcli11-dev doctest-dev
  procps openssl ca-certificates                 # tests/e2e: certificates made with openssl, the CA store path
  groovy default-jre-headless python3 python3-yaml  # tests/ci: Jenkins library, Buildkite hook, GitHub action
  git rsync                                         # tests/ci: gitlab-ci-local
  pandoc man-db                                     # the manual pages, generated and rendered by a test
)
# gitlab-ci-local comes from npm (tests/ci/gitlab_ci_local_test.sh). A Node.js
# from elsewhere (NodeSource, say) brings its own npm; Debian's npm would
# replace that Node.js, so it is only installed when there is no npm at all.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
packages+=("$@")  # callers may ask for more (the benchmarks want hyperfine)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-build-deps: missing packages: ${missing[*]}; run this as root (or install them)" >&2
  exit 1
fi
echo "install-build-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
