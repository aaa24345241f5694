#include "executor/platform/kernel_features.hpp"

#include <cerrno>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "executor/platform/fd.hpp"
#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/host_facts.hpp"

namespace jobwarden::platform {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Availability from_errno(int err) {
  if (err == ENOSYS) return Availability::no;
  if (err == EPERM || err == EACCES) return Availability::blocked;
  return Availability::yes;  // the kernel knows the call and judged its arguments
}

// pidfd_open(2) on ourselves: a real pidfd, closed at once.
Availability probe_pidfd() {
  const long fd = ::syscall(SYS_pidfd_open, ::getpid(), 0);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return Availability::yes;
  }
  return from_errno(errno);
}

// clone3(2) with a size below its smallest struct: a kernel that has it
// answers EINVAL before doing anything; one without answers ENOSYS. No
// process is ever created. (Container seccomp profiles answer ENOSYS for
// clone3 on purpose; "no" is then the truth for us too.)
Availability probe_clone3() {
  if (::syscall(SYS_clone3, nullptr, 0) == 0) return Availability::yes;  // cannot happen
  return from_errno(errno);
}

const char* word(Availability a) {
  switch (a) {
    case Availability::yes: return "yes";
    case Availability::no: return "no";
    case Availability::blocked: return "blocked (seccomp or LSM)";
  }
  return "?";
}

}  // namespace

KernelFeatures probe_kernel_features() {
  KernelFeatures f;
  const CgroupMounts mounts = discover_cgroup_mounts();
  f.cgroup2_mount = mounts.v2.mount_point;
  f.cgroup1_memory_mount = mounts.v1_memory.mount_point;
  if (!f.cgroup2_mount.empty()) {
    if (const auto controllers = read_small_file(f.cgroup2_mount + "/cgroup.controllers")) {
      f.cgroup2_controllers = trimmed(*controllers);
    }
  }
  f.psi = cpu_pressure_some_us().has_value();
  f.pidfd = probe_pidfd();
  f.clone3 = probe_clone3();
  return f;
}

std::string kernel_release() {
  struct utsname u {};
  if (::uname(&u) != 0) return "";
  return std::string(u.sysname) + " " + u.release;
}

std::string describe(const KernelFeatures& f) {
  std::string cgroup = "cgroup v2 no";
  if (!f.cgroup2_mount.empty()) {
    cgroup = "cgroup v2 at " + f.cgroup2_mount +
             " (controllers: " + (f.cgroup2_controllers.empty() ? "none" : f.cgroup2_controllers);
    if (!f.cgroup1_memory_mount.empty()) cgroup += "; memory on cgroup v1 at " + f.cgroup1_memory_mount;
    cgroup += ")";
  }
  return cgroup + ", PSI " + (f.psi ? "yes" : "no") + ", pidfd " + word(f.pidfd) + ", clone3 " +
         word(f.clone3);
}

}  // namespace jobwarden::platform
