#pragma once
// The kernel features jobwarden can use on this host, probed for real and
// cheaply (a few small /proc reads and two system calls that create
// nothing), for `jobwarden --version` and support requests. The cgroup
// hierarchies are found as the per-attempt cgroups find them (cgroup_fs.hpp).

#include <string>

namespace jobwarden::platform {

// What a system call probe found: the kernel has it; it does not (ENOSYS);
// or a security policy (seccomp, LSM) refused it (EPERM/EACCES).
enum class Availability { yes, no, blocked };

struct KernelFeatures {
  std::string cgroup2_mount;        // "" when cgroup v2 is not mounted
  std::string cgroup2_controllers;  // the v2 root's cgroup.controllers ("" none)
  std::string cgroup1_memory_mount; // a v1 hierarchy with the memory controller (hybrid hosts)
  bool psi = false;              // /proc/pressure/cpu readable (CONFIG_PSI, not psi=0)
  Availability pidfd = Availability::no;   // pidfd_open(2), Linux >= 5.3
  Availability clone3 = Availability::no;  // clone3(2), Linux >= 5.3
};

KernelFeatures probe_kernel_features();

// "Linux 6.1.0-18-amd64" (uname), "" when unknown.
std::string kernel_release();

// "cgroup v2 at /sys/fs/cgroup/unified (controllers: hugetlb; memory on cgroup
// v1 at /sys/fs/cgroup/memory), PSI yes, pidfd yes, clone3 yes": one line for
// --version.
std::string describe(const KernelFeatures& features);

}  // namespace jobwarden::platform
