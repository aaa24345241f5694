#pragma once
// Signal plumbing for the one event loop: the signals we act on are blocked
// and read from a signalfd; SIGPIPE is ignored (a closed log must not kill
// us). A spawned child gets all of it undone before exec.

#include <csignal>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

class SignalChannel {
 public:
  // Blocks SIGCHLD, SIGTERM, SIGINT, SIGHUP and opens a signalfd for them.
  // The previous mask and SIGPIPE disposition are restored on destruction.
  SignalChannel();
  ~SignalChannel();
  SignalChannel(const SignalChannel&) = delete;
  SignalChannel& operator=(const SignalChannel&) = delete;

  bool ok() const { return m_fd.valid(); }
  int fd() const { return m_fd.get(); }
  // Reads one pending signal; 0 when none is pending.
  int read_one();

 private:
  UniqueFd m_fd;
  sigset_t m_old_mask{};
  struct sigaction m_old_pipe {};
};

// In a forked child, before exec: default dispositions for every signal and
// an empty mask. Async-signal-safe.
void reset_signals_in_child();

}  // namespace jobwarden::platform
