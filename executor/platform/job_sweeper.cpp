#include "executor/platform/job_sweeper.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "executor/platform/fd.hpp"
#include "executor/platform/proc_tree.hpp"

namespace jobwarden::platform {
namespace {

using Clock = std::chrono::steady_clock;

bool environ_has(int pid, const std::string& entry) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/environ", pid);
  const auto read = read_small_file(path);
  if (!read) return false;
  const std::string& env = *read;
  std::size_t at = 0;
  while (at < env.size()) {
    const std::size_t end = env.find('\0', at);
    const std::size_t len = (end == std::string::npos ? env.size() : end) - at;
    if (env.compare(at, len, entry) == 0) return true;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

// Waits until every pid has exited or `until` passes: pidfds where the
// kernel has them (Linux >= 5.3), else a 20 ms re-check of /proc.
void wait_gone(const std::vector<core::ProcessInfo>& procs, Clock::time_point until) {
  std::vector<pollfd> fds;
  for (const auto& p : procs) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
    if (fd >= 0) fds.push_back({fd, POLLIN, 0});
  }
  const bool all_pidfds = fds.size() == procs.size();
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    if (all_pidfds) {
      for (auto& f : fds) f.revents = 0;
      if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) break;
      std::erase_if(fds, [](const pollfd& f) { return f.revents != 0 && ::close(f.fd) == 0; });
      if (fds.empty()) break;
    } else {
      bool any = false;
      for (const auto& p : procs) any = any || ::kill(p.pid, 0) == 0;
      if (!any) break;
      ::poll(nullptr, 0, 20);
    }
  }
  for (const auto& f : fds) ::close(f.fd);
}

void signal_all(const std::vector<core::ProcessInfo>& procs, int sig) {
  for (const auto& p : procs) {
    (void)::kill(p.pid, sig);
    if (sig == SIGTERM) (void)::kill(p.pid, SIGCONT);
  }
}

}  // namespace

std::vector<core::ProcessInfo> processes_with_environment(const std::string& entry) {
  std::vector<core::ProcessInfo> out;
  const int self = ::getpid();
  for (const ProcStat& p : scan_processes()) {
    if (p.pid == self || p.state == 'Z' || !environ_has(p.pid, entry)) continue;
    out.push_back({p.pid, p.ppid, p.pgid, p.sid, p.state, command_line(p.pid, p.comm)});
  }
  return out;
}

SweepResult sweep_marked_processes(const std::string& entry, core::Millis grace, core::Millis kill_wait) {
  SweepResult r;
  r.terminated = processes_with_environment(entry);
  if (r.terminated.empty()) return r;
  signal_all(r.terminated, SIGTERM);
  wait_gone(r.terminated, Clock::now() + grace);
  const auto give_up = Clock::now() + kill_wait;
  for (;;) {
    auto left = processes_with_environment(entry);
    if (left.empty()) break;
    for (const auto& p : left) {
      const bool known = std::any_of(r.terminated.begin(), r.terminated.end(),
                                     [&](const core::ProcessInfo& t) { return t.pid == p.pid; });
      if (!known) r.terminated.push_back(p);
    }
    signal_all(left, SIGKILL);
    if (Clock::now() >= give_up) {
      r.survivors = std::move(left);
      break;
    }
    wait_gone(left, std::min(give_up, Clock::now() + std::chrono::milliseconds(200)));
  }
  return r;
}

}  // namespace jobwarden::platform
