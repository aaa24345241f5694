#!/usr/bin/env bash
# A real demonstration job on a fresh Debian 12 machine, as root: installs
# what is missing, builds jobwarden, and supervises a step whose process tree
# hangs. Watch the job log: the timeout, SIGTERM to the whole tree (a
# background job, a setsid'd "daemon", a child ignoring SIGTERM), SIGKILL
# after the grace period, and a tree proven empty.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-build-deps.sh
packaging/build.sh build-demo -DJOBWARDEN_BUILD_TESTS=OFF >/dev/null

echo "== demo: a test step that hangs, with a timeout of 3s and a grace of 2s =="
set +e
build-demo/jobwarden run --ci generic --step demo --timeout 3s --grace 2s -- bash -c '
  echo "compiling... done"
  sleep 300 &                           # a forgotten background job
  setsid sleep 301 &                    # a "daemon" that left the process group
  ( trap "" TERM; exec sleep 302 ) &    # a child that ignores SIGTERM
  echo "running the test suite (it hangs)"
  wait'
code=$?
set -e
echo "== jobwarden exited with $code (124: the step timed out) =="
if pgrep -f "sleep 30[012]" >/dev/null; then
  echo "== LEFT BEHIND: =="
  pgrep -af "sleep 30[012]"
  exit 1
fi
echo "== nothing of the step survived: no 'sleep 300/301/302' is running =="
