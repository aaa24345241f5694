#pragma once
// For the tests that need this host's real cgroup v2 hierarchy (as root):
// where jobwarden's leaves go, or "" when none can be made here — then the
// test says so and checks nothing (REQUIRE_CGROUP).

#include <doctest/doctest.h>

#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"

namespace jobwarden::testing {

// This process's own v2 cgroup directory when a cgroup can be made there.
inline std::string leaf_parent() {
  namespace p = jobwarden::platform;
  const std::string dir = p::cgroup_dir(p::discover_cgroup_mounts().v2, p::own_cgroups().v2);
  if (dir.empty()) return "";
  const std::string probe = dir + "/jobwarden-test-probe-" + std::to_string(getpid());
  if (mkdir(probe.c_str(), 0755) != 0) return "";
  rmdir(probe.c_str());
  return dir;
}

}  // namespace jobwarden::testing

#define REQUIRE_CGROUP(parent)                                                                  \
  const std::string parent = ::jobwarden::testing::leaf_parent();                               \
  if (parent.empty()) {                                                                         \
    MESSAGE("skipped: no writable cgroup v2 hierarchy here (not root, or no cgroup2 mounted)"); \
    return;                                                                                     \
  }
