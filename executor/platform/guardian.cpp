#include "executor/platform/guardian.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/guardian_protocol.hpp"
#include "executor/platform/pidfd_signal.hpp"

namespace jobwarden::platform {
namespace {

// How long jobwarden's exit waits for a guardian to leave after the goodbye
// before it is SIGKILLed (it only has to wake up and _exit).
constexpr int k_goodbye_patience_ms = 200;

// Guardians told goodbye, reaped when jobwarden ends (reap_guardians): by then
// the report, the metrics and the alert have given them time to leave, so
// jobwarden rarely waits for one to get a CPU on a loaded host; and
// jobwarden never exits before its guardian (a guardian left to a CI's
// subreaper could stay a zombie there).
std::vector<int>& goodbyes() {
  static std::vector<int> pidfds;
  return pidfds;
}

// Exit handlers run in reverse order of registration: the list is made
// first, so that the reaper runs while it still exists.
bool exit_reaper_registered() {
  static const bool registered = (goodbyes(), std::atexit(reap_guardians) == 0);
  return registered;
}

}  // namespace

void reap_guardians() {
  for (int pidfd : goodbyes()) {
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, k_goodbye_patience_ms) != 1) {
      (void)::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U);
    }
    reap_pidfd(pidfd);  // ECHILD when a runner's reaper got it first
    ::close(pidfd);
  }
  goodbyes().clear();
}

bool send_guardian_message(int socket, char kind, const std::string& text, const std::vector<int>& fds) {
  std::string record(1, kind);
  record += text;
  iovec iov{record.data(), record.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(record.size());
}

Received receive_guardian_message(int socket, GuardianMessage& out, bool nonblocking) {
  char data[4200];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * k_guardian_fds_per_message)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Received::nothing;
  if (n <= 0) return Received::end;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.fds.emplace_back(fd);
    }
  }
  out.kind = data[0];
  out.text.assign(data + 1, static_cast<std::size_t>(n - 1));
  if (out.kind == k_guardian_processes) out.pids = parse_pid_list(out.text);
  return Received::message;
}

void Guardian::start() {
  if (m_pid != 0) return;
  // No guardian that jobwarden could not reap at its exit (it would be left
  // to a CI's subreaper as a zombie, or reaped here in a blocking wait).
  if (!exit_reaper_registered()) return;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return;
  UniqueFd ours(pair[0]), theirs(pair[1]);
  // Opened before the fork, so it names this jobwarden for sure (a pidfd
  // taken in the child could race with our death and a reused pid).
  const UniqueFd self(open_pidfd(::getpid()));
  const pid_t pid = ::fork();
  if (pid == 0) run_guardian(theirs.get(), self.get());
  if (pid < 0) return;
  m_pid = pid;
  m_pidfd.reset(open_pidfd(pid));  // our unreaped child: its pid cannot be reused yet
  m_socket = std::move(ours);
}

void Guardian::stop() {
  if (m_pid == 0) return;
  send(k_guardian_goodbye);
  m_socket.reset();
  if (m_pidfd.valid()) goodbyes().push_back(m_pidfd.release());  // reaped at exit, unless a runner got it first
  m_pid = 0;
}

void Guardian::send(char kind, const std::string& text, const std::vector<int>& fds) {
  if (m_socket.valid()) (void)send_guardian_message(m_socket.get(), kind, text, fds);
}

void Guardian::guard_cgroups(const std::vector<std::string>& dirs, int lock_fd) {
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    send(k_guardian_cgroup, dirs[i], i == 0 && lock_fd >= 0 ? std::vector<int>{lock_fd} : std::vector<int>{});
  }
}

void Guardian::guard_processes(const std::vector<int>& pids) {
  if (!m_socket.valid()) return;
  for (std::size_t at = 0; at < pids.size(); at += k_guardian_fds_per_message) {
    std::vector<UniqueFd> owned;
    std::vector<int> fds;
    std::string text;
    for (std::size_t i = at; i < pids.size() && i < at + k_guardian_fds_per_message; ++i) {
      UniqueFd fd(open_pidfd(pids[i]));
      if (!fd.valid()) continue;  // gone already, or no pidfds (Linux < 5.3)
      fds.push_back(fd.get());
      owned.push_back(std::move(fd));
      text += std::to_string(pids[i]) + " ";
    }
    if (!fds.empty()) send(k_guardian_processes, text, fds);
  }
}

}  // namespace jobwarden::platform
