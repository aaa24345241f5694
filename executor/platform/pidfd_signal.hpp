#pragma once
// Signals that cannot hit a stranger. A pid read from a listing (/proc or
// cgroup.procs) may be reused by an unrelated process before kill(2) runs.
// Here a pidfd is opened for every pid first, then membership is checked
// again; only pidfds whose process is still a member are signalled — a
// pidfd names one process for good, so a later reuse of the number cannot
// redirect the signal.

#include <functional>
#include <vector>

#include "executor/core/process_runner.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

// A pidfd for `pid` (close-on-exec), or -1 (gone: ESRCH; Linux < 5.3:
// ENOSYS; out of descriptors: EMFILE/ENFILE).
int open_pidfd(int pid);

// Which of `pidfds` name processes that have exited (zombie or reaped: a
// pidfd is readable then), from one poll(2) that does not wait. A pidfd
// that is not readable names a live process, which still holds its pid: a
// process holding that pid now is the pidfd's. -1 entries count as exited.
std::vector<bool> exited(const std::vector<int>& pidfds);

// Of `described`, each read after its pidfd in `pidfds` (same order; an
// invalid one: none could be opened) was opened, those still proven to be
// the processes read, by one exited() after all the reads: a live one held
// its pid throughout, so what was read is its own; `keep` takes its pidfd,
// and it is returned. One that exited meanwhile is dropped (what was read
// may be a successor's); one without a pidfd is returned, unproven.
std::vector<core::ProcessInfo> proven_alive(std::vector<core::ProcessInfo> described, std::vector<UniqueFd> pidfds,
                                            const std::function<void(const core::ProcessInfo&, UniqueFd)>& keep);

// Opens pidfds for `pids` (or borrows the one `kept(pid)` gives, -1: none
// kept), asks `still_members` (called once, after the opens) which of them
// are still members, and sends `sig` through those pidfds (SIGTERM is
// followed by SIGCONT, so a stopped member acts on it). Without pidfds
// (Linux < 5.3, or out of descriptors) falls back to kill(2) after the check.
void signal_members(const std::vector<int>& pids, int sig,
                    const std::function<std::vector<int>(const std::vector<int>& candidates)>& still_members,
                    const std::function<int(int pid)>& kept = {});

}  // namespace jobwarden::platform
