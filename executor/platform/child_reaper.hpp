#pragma once
// The one reaper. Only this code calls waitid/wait4 while a runner exists:
// two reapers would steal each other's exit statuses.
//
// Every zombie is first peeked at with waitid(WNOWAIT) and handed to
// `before_reap` while it is still a zombie (its /proc/PID/schedstat is still
// readable then; after wait4 it is gone), then reaped with its rusage.

#include <functional>
#include <optional>

namespace jobwarden::platform {

struct ReapedChild {
  int pid = 0;
  int status = 0;           // wait status (WIFEXITED/WIFSIGNALED apply)
  double cpu_seconds = 0.0; // user + system of the child and its reaped descendants
  long max_rss_kib = 0;     // ru_maxrss
};

// Reaps every child that has exited, in order, without blocking. Without
// `before_reap` (nothing to read from zombies) the peek is left out.
void reap_exited_children(const std::function<void(int pid)>& before_reap,
                          const std::function<void(const ReapedChild&)>& on_reaped);

// Reaps `pid` (a child of ours) if it has exited, without blocking and
// without looking at any other child: wait4(pid) goes straight to it, where
// wait4(-1) walks our whole list of children. nullopt: not exited yet.
std::optional<ReapedChild> reap_if_exited(int pid);

// Whether this process has any child at all, alive or zombie (never reaps).
bool has_children();

// Waits (blocking) for one specific child; for a child that failed to start.
void reap_child(int pid);

// The same through a pidfd of the child (no pid-reuse window); returns at
// once when it was reaped already (ECHILD). For the guardian (guardian.hpp).
void reap_pidfd(int pidfd);

}  // namespace jobwarden::platform
