// The kernel feature probes of --version, checked against independent
// evidence: the file system type of the mount point (statfs), the
// pressure file, and a pidfd that really signals a real child.

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/kernel_features.hpp"

using namespace jobwarden::platform;

TEST_CASE("the cgroup mount points found are cgroup file systems, and none is missed") {
  const KernelFeatures f = probe_kernel_features();
  struct statfs fs {};
  if (f.cgroup2_mount.empty()) {
    // Neither usual place is a cgroup2 mount.
    for (const char* p : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      if (::statfs(p, &fs) == 0) CHECK(fs.f_type != CGROUP2_SUPER_MAGIC);
    }
    return;
  }
  REQUIRE(::statfs(f.cgroup2_mount.c_str(), &fs) == 0);
  CHECK(fs.f_type == CGROUP2_SUPER_MAGIC);
  CHECK(describe(f).find("cgroup v2 at " + f.cgroup2_mount + " (controllers: ") == 0);
  // A v1 memory hierarchy named is one (hybrid hosts); a unified host has none.
  if (!f.cgroup1_memory_mount.empty()) {
    REQUIRE(::statfs(f.cgroup1_memory_mount.c_str(), &fs) == 0);
    CHECK(fs.f_type == CGROUP_SUPER_MAGIC);
    CHECK(describe(f).find("memory on cgroup v1 at " + f.cgroup1_memory_mount) != std::string::npos);
  } else if (::statfs("/sys/fs/cgroup/memory", &fs) == 0) {
    CHECK(fs.f_type != CGROUP_SUPER_MAGIC);
  }
}

TEST_CASE("PSI is reported exactly when the CPU pressure file can be read") {
  std::ifstream in("/proc/pressure/cpu");
  std::string first;
  const bool readable = in.good() && static_cast<bool>(std::getline(in, first)) && first.rfind("some", 0) == 0;
  CHECK(probe_kernel_features().psi == readable);
}

TEST_CASE("when pidfd is reported available, a pidfd signals a real child") {
  const KernelFeatures f = probe_kernel_features();
  if (f.pidfd != Availability::yes) {
    CHECK(::syscall(SYS_pidfd_open, ::getpid(), 0) < 0);
    return;
  }
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const long fd = ::syscall(SYS_pidfd_open, child, 0);
  REQUIRE(fd >= 0);
  CHECK(::syscall(SYS_pidfd_send_signal, static_cast<int>(fd), SIGKILL, nullptr, 0) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  ::close(static_cast<int>(fd));
}

TEST_CASE("the version line names all four features") {
  const std::string line = describe(probe_kernel_features());
  for (const char* word : {"cgroup v2 ", ", PSI ", ", pidfd ", ", clone3 "}) {
    CHECK(line.find(word) != std::string::npos);
  }
  CHECK(kernel_release().rfind("Linux ", 0) == 0);
}
