#pragma once
// The kernel features jobwarden can use on this host, probed for real and
// cheaply (a few small /proc reads and two system calls that create
// nothing), for `jobwarden --version` and support requests.

#include <string>

namespace jobwarden::platform {

// What a system call probe found: the kernel has it; it does not (ENOSYS);
// or a security policy (seccomp, LSM) refused it (EPERM/EACCES).
enum class Availability { yes, no, blocked };

struct KernelFeatures {
  std::string cgroup2_mount;     // "" when cgroup v2 is not mounted
  bool cgroup_hybrid = false;    // cgroup v1 hierarchies are mounted as well
  std::string cgroup2_controllers;  // the v2 root's cgroup.controllers ("" none)
  bool psi = false;              // /proc/pressure/cpu readable (CONFIG_PSI, not psi=0)
  Availability pidfd = Availability::no;   // pidfd_open(2), Linux >= 5.3
  Availability clone3 = Availability::no;  // clone3(2), Linux >= 5.3
};

KernelFeatures probe_kernel_features();

// "Linux 6.1.0-18-amd64" (uname), "" when unknown.
std::string kernel_release();

// "cgroup v2 at /sys/fs/cgroup/unified (hybrid; controllers: none), PSI yes,
// pidfd yes, clone3 yes": one line for --version.
std::string describe(const KernelFeatures& features);

}  // namespace jobwarden::platform
