#include "executor/platform/signals.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace jobwarden::platform {

SignalChannel::SignalChannel() {
  sigset_t& set = m_set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, k_parent_death_signal}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, &m_old_mask);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, &m_old_pipe);
  m_fd.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

SignalChannel::~SignalChannel() {
  m_fd.reset();
  sigaction(SIGPIPE, &m_old_pipe, nullptr);
  sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
}

void SignalChannel::watch_children(bool on) {
  if (on) {
    sigaddset(&m_set, SIGCHLD);
  } else {
    sigdelset(&m_set, SIGCHLD);
  }
  if (m_fd.valid()) (void)::signalfd(m_fd.get(), &m_set, 0);  // the mask only; SIGCHLD stays blocked
}

int SignalChannel::read_one() {
  signalfd_siginfo info{};
  for (;;) {
    const ssize_t n = ::read(m_fd.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return 0;  // EAGAIN: nothing pending
  }
}

void block_cancel_signals_for_life() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, k_parent_death_signal}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

void ignore_sigpipe_for_life() {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, nullptr);
}

namespace {
pid_t g_watched_parent = 0;
}  // namespace

void watch_parent_death() {
  g_watched_parent = ::getppid();
  (void)::prctl(PR_SET_PDEATHSIG, k_parent_death_signal);
  // The parent may have died before the prctl: then nobody will send it.
  if (parent_is_gone()) (void)::kill(::getpid(), k_parent_death_signal);
}

bool parent_is_gone() { return g_watched_parent != 0 && ::getppid() != g_watched_parent; }

void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // lowest free: fd itself
      if (opened >= 0 && opened != fd) ::close(opened);
    }
  }
}

void reset_signals_in_child() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, nullptr);  // EINVAL for RT-reserved: fine
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace jobwarden::platform
