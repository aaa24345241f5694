#include "executor/platform/child_reaper.hpp"

#include <cerrno>
#include <sys/resource.h>
#include <sys/wait.h>

namespace jobwarden::platform {
namespace {

// waitid's P_PIDFD (Linux >= 5.4); <linux/wait.h> has it but clashes with
// glibc's idtype_t.
constexpr auto k_p_pidfd = static_cast<idtype_t>(3);

double timeval_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// One wait4(-1) per zombie: each wait walks jobwarden's list of children
// (a 1000-process tree is 1000 children once its parents died), so without
// a peek that is one walk per zombie instead of two.
void reap_without_peeking(const std::function<void(const ReapedChild&)>& on_reaped) {
  for (;;) {
    int status = 0;
    rusage usage{};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // ECHILD, or children but none has exited
    on_reaped({pid, status, timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime), usage.ru_maxrss});
  }
}

}  // namespace

void reap_exited_children(const std::function<void(int pid)>& before_reap,
                          const std::function<void(const ReapedChild&)>& on_reaped) {
  if (!before_reap) {
    reap_without_peeking(on_reaped);
    return;
  }
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children at all
    }
    const pid_t pid = info.si_pid;
    if (pid == 0) return;  // children, but none has exited
    before_reap(pid);
    int status = 0;
    rusage usage{};
    pid_t got;
    do {
      got = ::wait4(pid, &status, 0, &usage);
    } while (got < 0 && errno == EINTR);
    if (got != pid) return;
    on_reaped({pid, status, timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime), usage.ru_maxrss});
  }
}

std::optional<ReapedChild> reap_if_exited(int pid) {
  int status = 0;
  rusage usage{};
  pid_t got;
  do {
    got = ::wait4(pid, &status, WNOHANG, &usage);
  } while (got < 0 && errno == EINTR);
  if (got != pid) return std::nullopt;
  return ReapedChild{pid, status, timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime), usage.ru_maxrss};
}

bool has_children() {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  return !(rc < 0 && errno == ECHILD);
}

void reap_child(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void reap_pidfd(int pidfd) {
  siginfo_t info{};
  while (::waitid(k_p_pidfd, static_cast<id_t>(pidfd), &info, WEXITED) < 0 && errno == EINTR) {
  }
}

}  // namespace jobwarden::platform
