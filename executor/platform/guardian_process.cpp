// The guardian's side (guardian.hpp): detach from everything jobwarden holds
// for the CI, then wait for jobwarden's end. Runs in a fork of jobwarden
// without exec: it must never return into jobwarden's code and never run
// its exit handlers (_exit only), and it allocates little.

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/guardian.hpp"
#include "executor/platform/guardian_protocol.hpp"

namespace jobwarden::platform {
namespace {

// Linux >= 6.9 (uapi linux/pidfd.h; Debian 12's headers predate it): signal
// the process group whose id is the pidfd's pid — by the kernel's struct
// pid, so a group that emptied and a reused number are never confused.
constexpr unsigned k_pidfd_signal_process_group = 1U << 2;
// How long the guardian waits for a killed leaf to empty before it gives up
// (a member in uninterruptible sleep): the leaf then stays for the next
// jobwarden's sweep of stale leaves or `gitlab cleanup`.
constexpr long k_empty_patience_ms = 5000;

// What jobwarden told the guardian to kill should it die.
struct Watched {
  std::vector<std::string> cgroups;  // [0] the v2 leaf; then v1 memory cgroups
  // The leaf's locked descriptor, shared with jobwarden: the leaf is ours
  // (no sweeper touches it) until we have removed it or given up (_exit).
  UniqueFd cgroup_lock;
  std::vector<UniqueFd> processes;   // pidfds: each process and the group it leads
  std::vector<int> process_pids;     // their pids, for kill(-pgid) on kernels < 6.9

  // Takes in one message other than the goodbye (the caller's to act on).
  void take(GuardianMessage& m);
  // Without a cgroup the pidfds pile up while the step forks: past a bound,
  // those of processes that have exited (POLLIN) are dropped.
  void drop_exited();
};

long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1'000'000L;
}

// /proc/PID/environ shows the memory between the kernel's env_start and
// env_end (fields 50 and 51 of /proc/self/stat), not `environ`: zeroing
// that block (our copy-on-write copy of it) is what hides a CI's cookie.
void zero_environment_block() {
  const auto read = read_small_file("/proc/self/stat", true);
  if (!read) return;
  const std::string& stat = *read;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return;
  const char* p = stat.c_str() + close + 2;  // field 3
  unsigned long long start = 0, end = 0;
  for (int field = 3; field <= 51 && *p != '\0'; ++field) {
    if (field == 50) start = std::strtoull(p, nullptr, 10);
    if (field == 51) end = std::strtoull(p, nullptr, 10);
    while (*p != ' ' && *p != '\0') ++p;  // field 3 (the state) is a letter
    while (*p == ' ') ++p;
  }
  if (start != 0 && end > start && end - start < (1ULL << 24)) {
    std::memset(reinterpret_cast<void*>(start), 0, static_cast<std::size_t>(end - start));
  }
}

// Closes every descriptor but `keep` (three ranges at most); close_range
// where the kernel has it (>= 5.9), else one by one up to the limit.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  keep.push_back(-1);  // sentinel: up to the end
  for (int k : keep) {
    if (k >= 0 && static_cast<unsigned>(k) < from) continue;
    const unsigned to = k < 0 ? ~0U : static_cast<unsigned>(k) - 1;
    if (to >= from && ::syscall(SYS_close_range, from, to, 0U) != 0) {
      const long limit = std::min(::sysconf(_SC_OPEN_MAX), 1L << 20);
      for (long fd = from; fd <= std::min<long>(to, limit); ++fd) (void)::close(static_cast<int>(fd));
    }
    if (k >= 0) from = static_cast<unsigned>(k) + 1;
  }
}

void detach(int socket, int jobwarden) {
  (void)::setsid();  // out of the CI's process group and session
  (void)::prctl(PR_SET_NAME, "jobwarden-guard");
  sigset_t blocked;  // like jobwarden: cancel signals do not end it, its end does
  sigemptyset(&blocked);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE}) sigaddset(&blocked, sig);
  (void)::sigprocmask(SIG_SETMASK, &blocked, nullptr);
  zero_environment_block();
  (void)!::chdir("/");
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2 && null >= 0; ++fd) (void)::dup2(null, fd);
  close_all_but(jobwarden >= 0 ? std::vector<int>{socket, jobwarden} : std::vector<int>{socket});
  rlimit limit{};  // room for the pidfds of a large tree
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void Watched::drop_exited() {
  if (processes.size() < 1024) return;
  for (std::size_t i = processes.size(); i-- > 0;) {
    pollfd p{processes[i].get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0) {
      processes.erase(processes.begin() + static_cast<long>(i));
      process_pids.erase(process_pids.begin() + static_cast<long>(i));
    }
  }
}

void Watched::take(GuardianMessage& m) {
  switch (m.kind) {
    case k_guardian_cgroup:
      cgroups.push_back(m.text);
      if (!m.fds.empty()) cgroup_lock = std::move(m.fds.front());
      break;
    case k_guardian_processes:
      for (std::size_t i = 0; i < m.fds.size(); ++i) {
        processes.push_back(std::move(m.fds[i]));
        process_pids.push_back(i < m.pids.size() ? m.pids[i] : 0);
      }
      drop_exited();
      break;
    default: break;
  }
}

void kill_processes(const Watched& w) {
  for (std::size_t i = 0; i < w.processes.size(); ++i) {
    const int fd = w.processes[i].get();
    if (::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, k_pidfd_signal_process_group) != 0 &&
        errno == EINVAL && w.process_pids[i] > 0) {
      (void)::kill(-w.process_pids[i], SIGKILL);  // Linux < 6.9 (HACKING.md: its window)
    }
    (void)::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0U);
  }
}

// SIGKILL the leaf, wait (bounded) until it is empty, remove the cgroups
// beside it and then it (removal retried: exiting members leave v1 late;
// the v2 leaf goes last, since its lock is what covers the others).
void kill_cgroups(const Watched& w) {
  if (w.cgroups.empty()) return;
  kill_cgroup(w.cgroups.front());
  const long give_up = now_ms() + k_empty_patience_ms;
  std::vector<std::string> left = w.cgroups;
  while (!left.empty() && now_ms() < give_up) {
    if (!cgroup_populated(left.front())) {
      while (!left.empty() && (::rmdir(left.back().c_str()) == 0 || errno == ENOENT)) left.pop_back();
    }
    if (left.empty()) break;
    if (cgroup_populated(left.front())) kill_cgroup(left.front());  // a member forked during the kill
    const timespec nap{0, 5'000'000};
    (void)::nanosleep(&nap, nullptr);
  }
}

}  // namespace

void run_guardian(int socket, int jobwarden) {
  detach(socket, jobwarden);
  Watched watched;
  bool bye = false;
  bool jobwarden_gone = false;
  while (!bye && !jobwarden_gone) {
    pollfd fds[2] = {{socket, POLLIN, 0}, {jobwarden, POLLIN, 0}};
    const int n = ::poll(fds, jobwarden >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    // poll failing for good: act as if jobwarden were gone.
    jobwarden_gone = n < 0 || (jobwarden >= 0 && fds[1].revents != 0);
    // What jobwarden sent (just before dying, too) is read first. EOF
    // without a goodbye: jobwarden is gone (or closed us without a word).
    for (;;) {
      GuardianMessage m;
      const Received got = receive_guardian_message(socket, m, true);
      if (got == Received::end) jobwarden_gone = true;
      if (got != Received::message) break;
      if (m.kind == k_guardian_goodbye) {
        bye = true;
        break;
      }
      watched.take(m);
    }
  }
  if (!bye) {
    kill_processes(watched);
    kill_cgroups(watched);
  }
  ::_exit(0);
}

}  // namespace jobwarden::platform
