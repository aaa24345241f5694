#pragma once
// Signals that cannot hit a stranger. A pid read from a listing (/proc or
// cgroup.procs) may be reused by an unrelated process before kill(2) runs.
// Here a pidfd is opened for every pid first, then membership is checked
// again; only pidfds whose process is still a member are signalled — a
// pidfd names one process for good, so a later reuse of the number cannot
// redirect the signal.

#include <functional>
#include <vector>

namespace jobwarden::platform {

// Opens pidfds for `pids`, asks `still_members` (called once, after the
// opens) which of them are still members, and sends `sig` through those
// pidfds (SIGTERM is followed by SIGCONT, so a stopped member acts on it).
// Without pidfds (Linux < 5.3) falls back to kill(2) after the check.
// A pidfd for `pid` (close-on-exec), or -1 (gone: ESRCH; Linux < 5.3: ENOSYS).
int open_pidfd(int pid);

void signal_members(const std::vector<int>& pids, int sig,
                    const std::function<std::vector<int>(const std::vector<int>& candidates)>& still_members);

}  // namespace jobwarden::platform
