// How the step's child is started (platform/spawn.cpp, start_child): where
// clone3 is refused — a kernel without it (ENOSYS), an older container
// seccomp profile (EPERM) — the next way is taken and the step still starts,
// with its cgroup joined before exec. The refusal is a real seccomp filter,
// installed in a forked test process (filters are inherited and permanent).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstddef>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/spawn.hpp"
#include "tests/support/cgroup_check.hpp"

using namespace jobwarden;

namespace {

// From here on this process's clone3 fails with `err`; everything else is allowed.
bool refuse_clone3(int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) == 0 &&
         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &program) == 0;
}

// In a forked process that refuses clone3 with `err`: starts `sh -c 'exit 7'`
// (in `leaf` when given) and exits with the step's exit code, or with 100 +
// the reason it could not: 100 no filter, 101 not started, 102 wrong cgroup,
// 103 not a normal exit.
int exit_code_with_clone3_refused(int err, const platform::CgroupLeaf* leaf) {
  const pid_t tester = fork();
  REQUIRE(tester >= 0);
  if (tester == 0) {
    if (!refuse_clone3(err)) _exit(100);
    const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    platform::SpawnOptions o;
    o.argv = {"/bin/sh", "-c", "grep -q '" + (leaf ? leaf->path().substr(leaf->path().rfind('/')) : std::string("/")) +
                                   "' /proc/self/cgroup || exit 9; exit 7"};
    o.stdout_fd = devnull;
    o.stderr_fd = devnull;
    if (leaf != nullptr) o.cgroups = {leaf->dir_fd(), leaf->procs_fd(), -1};
    const auto outcome = platform::spawn_step(o);
    if (!outcome.started) _exit(101);
    if (outcome.born_in_cgroup) _exit(102);  // clone3 was refused: it must have joined by itself
    int status = 0;
    if (waitpid(outcome.pid, &status, 0) != outcome.pid || !WIFEXITED(status)) _exit(103);
    _exit(WEXITSTATUS(status));
  }
  int status = 0;
  REQUIRE(waitpid(tester, &status, 0) == tester);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("a step starts where clone3 is refused, EPERM (container seccomp) or ENOSYS (old kernel)") {
  for (const int err : {EPERM, ENOSYS}) {
    CAPTURE(err);
    CHECK(exit_code_with_clone3_refused(err, nullptr) == 7);
  }
}

TEST_CASE("where clone3 is refused, the step joins its cgroup leaf itself before exec") {
  REQUIRE_CGROUP(parent);
  platform::CgroupPlan plan;
  plan.v2_parent = parent;
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-clone3-refused-" + std::to_string(getpid()));
  REQUIRE(leaf.ok());
  for (const int err : {EPERM, ENOSYS}) {
    CAPTURE(err);
    CHECK(exit_code_with_clone3_refused(err, &*leaf) == 7);
  }
  CHECK(leaf->remove());
}
