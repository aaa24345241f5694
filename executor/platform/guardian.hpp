#pragma once
// The guardian: a small process that makes sure nothing of the step
// outlives jobwarden when jobwarden itself is SIGKILLed (a CI that kills its
// process group with SIGKILL, the OOM killer). HACKING.md, "The guardian".
//
// Forked (no exec) for each attempt, before its step exists, and told
// goodbye as soon as the attempt's tree is gone (so that it exits while
// jobwarden decides and reports, not at jobwarden's exit):
//   * its own session and process group, so a CI's group kill misses it;
//   * its environment block zeroed, so a scan of /proc/PID/environ for a
//     CI's cookie (Jenkins' ProcessTreeKiller) does not find it;
//   * stdin/stdout/stderr on /dev/null and every other descriptor closed,
//     so it never holds a CI's pipe open and never writes to the CI;
//   * cwd "/", so it keeps no job directory busy.
// It holds a pidfd of jobwarden (opened by jobwarden before the fork: no
// race, no pid reuse) and one end of a SOCK_SEQPACKET socketpair, on which
// jobwarden tells it what to kill: the attempt's cgroup directories, or,
// without a cgroup, pidfds of the processes whose process groups hold the
// step. When jobwarden dies (pidfd readable, or the socket's EOF without a
// goodbye) it SIGKILLs all of that (cgroup.kill on the leaf), waits for the
// leaf to empty, removes it and exits. When jobwarden ends normally it says
// goodbye and the guardian exits at once; jobwarden reaps it. A retried
// step gets a new guardian for its next attempt.
//
// Every call on jobwarden's side is one non-blocking send: a guardian that
// is stopped or dead never holds jobwarden up, and jobwarden carries on
// without it (it is then unprotected against its own SIGKILL, nothing else).

#include <vector>
#include <string>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

class Guardian {
 public:
  Guardian() = default;  // none yet: every call is a no-op
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;
  // Forks a guardian unless one is running. Stays invalid (valid() false)
  // when the kernel refuses the socketpair or the fork, or the exit handler
  // that reaps guardians cannot be registered; jobwarden then runs without.
  void start();
  // Goodbye: the guardian exits at once, and valid() is false until the next
  // start(). It is reaped when jobwarden ends (reap_guardians below, also an
  // atexit handler; SIGKILLed if it has not gone 200 ms later) unless a
  // runner's reaper got it first, so jobwarden never leaves it behind and
  // rarely waits for it.
  void stop();
  ~Guardian() { stop(); }

  bool valid() const { return m_socket.valid(); }
  int pid() const { return m_pid; }

  // The attempt's cgroup directories: the first is the v2 leaf (cgroup.kill),
  // removed last (a v1 memory cgroup before it). `lock_fd` (-1: none) is the
  // leaf's locked descriptor (cgroup_leaf.hpp, "Who owns a leaf"): the
  // guardian keeps the same open file description, so the leaf stays owned
  // while the guardian may still kill and remove it after jobwarden died,
  // and is released when the guardian is done, gives up, or is told goodbye.
  void guard_cgroups(const std::vector<std::string>& dirs, int lock_fd = -1);
  // Processes of the step (no cgroup): each is SIGKILLed, and so is the
  // process group it leads, if any (pidfds: a reused pid is never hit).
  void guard_processes(const std::vector<int>& pids);
 private:
  void send(char kind, const std::string& text = "", const std::vector<int>& fds = {});
  UniqueFd m_socket;  // jobwarden's end
  UniqueFd m_pidfd;   // the guardian's pidfd, to reap it without a pid-reuse window
  int m_pid = 0;
};

// Reaps every guardian told goodbye (SIGKILLed if it has not gone 200 ms
// later), as the exit handler does; for a process that ends with _exit.
void reap_guardians();

// The guardian's side (guardian_process.cpp): never returns. `jobwarden`
// is a pidfd of jobwarden (-1 where the kernel has none: then the socket's
// EOF alone says jobwarden died).
[[noreturn]] void run_guardian(int socket, int jobwarden);

}  // namespace jobwarden::platform
