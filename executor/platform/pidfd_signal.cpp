#include "executor/platform/pidfd_signal.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unordered_map>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

void send(int pid, int pidfd, int sig) {
  if (pidfd >= 0) {
    (void)::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);  // ESRCH: gone already
  } else {
    (void)::kill(pid, sig);
  }
}

}  // namespace

// pidfds are always close-on-exec (pidfd_open(2)).
int open_pidfd(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// POLLIN on a pidfd: the process has exited (its whole thread group), zombie
// or reaped (Linux >= 5.3; >= 6.9 adds POLLHUP once it is reaped).
std::vector<bool> exited(const std::vector<int>& pidfds) {
  std::vector<pollfd> fds;
  fds.reserve(pidfds.size());
  for (int fd : pidfds) fds.push_back({fd, POLLIN, 0});  // poll() skips negative fds (revents 0)
  int n;
  do {
    n = ::poll(fds.data(), fds.size(), 0);
  } while (n < 0 && errno == EINTR);
  std::vector<bool> out(pidfds.size(), true);  // poll failed: nothing is proven alive
  if (n < 0) return out;
  for (std::size_t i = 0; i < fds.size(); ++i) out[i] = pidfds[i] < 0 || fds[i].revents != 0;
  return out;
}

std::vector<core::ProcessInfo> proven_alive(std::vector<core::ProcessInfo> described, std::vector<UniqueFd> pidfds,
                                            const std::function<void(const core::ProcessInfo&, UniqueFd)>& keep) {
  std::vector<int> fds;
  fds.reserve(pidfds.size());
  for (const UniqueFd& fd : pidfds) fds.push_back(fd.get());
  const std::vector<bool> gone = exited(fds);
  std::vector<core::ProcessInfo> live;
  live.reserve(described.size());
  for (std::size_t i = 0; i < described.size(); ++i) {
    if (!pidfds[i].valid()) {
      live.push_back(std::move(described[i]));  // not proven: not kept
    } else if (!gone[i]) {
      keep(described[i], std::move(pidfds[i]));
      live.push_back(std::move(described[i]));
    }
  }
  return live;
}

void signal_members(const std::vector<int>& pids, int sig,
                    const std::function<std::vector<int>(const std::vector<int>& candidates)>& still_members,
                    const std::function<int(int pid)>& kept) {
  std::unordered_map<int, int> pidfds;  // pid -> a pidfd (kept or opened here), -1: none
  std::vector<UniqueFd> opened_here;
  std::vector<int> opened;
  for (int pid : pids) {
    int fd = kept ? kept(pid) : -1;
    if (fd < 0) {
      fd = open_pidfd(pid);
      if (fd < 0 && errno == ESRCH) continue;  // gone since the listing
      if (fd >= 0) opened_here.emplace_back(fd);
    }
    pidfds.emplace(pid, fd);
    opened.push_back(pid);
  }
  for (int pid : still_members(opened)) {
    const auto it = pidfds.find(pid);
    if (it == pidfds.end()) continue;
    send(pid, it->second, sig);
    if (sig == SIGTERM) send(pid, it->second, SIGCONT);
  }
}

}  // namespace jobwarden::platform
