#include "executor/platform/pidfd_signal.hpp"

#include <cerrno>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>
#include <unordered_map>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

void send(int pid, const UniqueFd& pidfd, int sig) {
  if (pidfd.valid()) {
    (void)::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);  // ESRCH: gone already
  } else {
    (void)::kill(pid, sig);
  }
}

}  // namespace

// pidfds are always close-on-exec (pidfd_open(2)).
int open_pidfd(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

void signal_members(const std::vector<int>& pids, int sig,
                    const std::function<std::vector<int>(const std::vector<int>& candidates)>& still_members) {
  std::unordered_map<int, UniqueFd> pidfds;
  std::vector<int> opened;
  for (int pid : pids) {
    UniqueFd fd(open_pidfd(pid));
    if (!fd.valid() && errno == ESRCH) continue;  // gone since the listing
    pidfds.emplace(pid, std::move(fd));
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
