#pragma once
// Signal plumbing for the one event loop: the signals we act on are blocked
// and read from a signalfd; SIGPIPE is ignored (a closed log must not kill
// us). A spawned child gets all of it undone before exec.

#include <csignal>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

class SignalChannel {
 public:
  // Blocks SIGCHLD, SIGTERM, SIGINT, SIGHUP, k_parent_death_signal and opens
  // a signalfd for them.
  // The previous mask and SIGPIPE disposition are restored on destruction.
  SignalChannel();
  ~SignalChannel();
  SignalChannel(const SignalChannel&) = delete;
  SignalChannel& operator=(const SignalChannel&) = delete;

  bool ok() const { return m_fd.valid(); }
  int fd() const { return m_fd.get(); }
  // Reads one pending signal; 0 when none is pending.
  int read_one();
  // Whether SIGCHLD is read from the channel (it always is at first). Off,
  // a SIGCHLD stays pending, blocked (one pending, however many children
  // exit: standard signals do not queue), and no exit wakes the loop; on
  // again, a pending one is readable at once.
  void watch_children(bool on);

 private:
  sigset_t m_set{};
  UniqueFd m_fd;
  sigset_t m_old_mask{};
  struct sigaction m_old_pipe {};
};

// In a forked child, before exec: default dispositions for every signal and
// an empty mask. Async-signal-safe.
void reset_signals_in_child();

// The very first line of main: SIGPIPE ignored for the whole life of the
// process. A write to a closed stdout or stderr (the CI stopped reading)
// then fails with EPIPE instead of killing jobwarden with its verdict and exit
// code lost, before, during and after the event loop. Children get default
// dispositions back before exec (reset_signals_in_child).
void ignore_sigpipe_for_life();

// Called first thing in main: blocks SIGTERM, SIGINT, SIGHUP (and
// k_parent_death_signal, whose default action would kill) for the whole
// life of the process, so that a cancel arriving before the event loop
// exists, or after it is gone (while the verdict, the report or
// BUILD_EXIT_CODE_FILE are written), can never kill jobwarden with the
// default action and lose its exit status. The event loop reads them from
// its signalfd; children get an empty mask before exec.
void block_cancel_signals_for_life();

// The signal the kernel sends jobwarden when its parent dies
// (PR_SET_PDEATHSIG). Not one of the cancel signals: the kernel sends it when
// the *thread* that forked jobwarden exits, which in a multi-threaded agent
// (Go, a JVM) need not mean the agent is gone. It is a cancel only when
// parent_is_gone() says so.
inline constexpr int k_parent_death_signal = SIGUSR2;

// Called in main after block_cancel_signals_for_life: asks the kernel for
// k_parent_death_signal when the parent dies, and raises it at once when the
// parent is already gone.
void watch_parent_death();
// True when the parent watch_parent_death() saw is no longer our parent.
bool parent_is_gone();

// Called first thing in main: opens /dev/null on any of fds 0, 1, 2 that is
// closed, so that no descriptor jobwarden opens later (a signalfd, a pipe)
// lands there and is mistaken for stdout.
void ensure_standard_fds();

}  // namespace jobwarden::platform
