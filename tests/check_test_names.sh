#!/usr/bin/env bash
# ctest registers every doctest case by name through a CMake list, where ';'
# splits a name in two: each half then matches no test case and "passes"
# vacuously. Fail the build's test run if any case name holds a ';'.
set -euo pipefail
cd "$(dirname "$0")"
if grep -rn 'TEST_CASE("[^"]*;' --include='*.cpp' .; then
  echo "check_test_names: a TEST_CASE name above contains ';' (ctest would split it)" >&2
  exit 1
fi
