#pragma once
// For the tests of jobwarden's guardian (executor/platform/guardian.hpp):
// finding it, what it holds, and the cgroup leaves of a jobwarden.

#include <csignal>
#include <dirent.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "executor/platform/proc_tree.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"

namespace jobwarden::testing {

// The guardian forked by jobwarden `jobwarden_pid` (its child named
// "jobwarden-guard"), or 0 while there is none.
inline int guardian_of(int jobwarden_pid) {
  for (const auto& p : platform::scan_processes()) {
    if (p.ppid == jobwarden_pid && p.comm == "jobwarden-guard" && p.state != 'Z') return p.pid;
  }
  return 0;
}

// Whether `pid` is a live guardian (a reused pid is some other program).
inline bool guardian_alive(int pid) {
  const auto p = platform::read_proc_stat(pid);
  return p && p->comm == "jobwarden-guard" && p->state != 'Z';
}

// What the descriptors of `pid` point at ("pipe:[...]", "/dev/null", ...).
inline std::vector<std::string> descriptor_targets(int pid) {
  std::vector<std::string> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[512];
    const ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (n > 0) out.emplace_back(target, static_cast<std::size_t>(n));
  }
  closedir(d);
  return out;
}

// The pidfds `pid` holds.
inline std::size_t pidfds_held(int pid) {
  std::size_t n = 0;
  for (const auto& t : descriptor_targets(pid)) n += t == "anon_inode:[pidfd]" ? 1 : 0;
  return n;
}

// The cgroup leaves ("jobwarden-PID-N") of jobwarden `jobwarden_pid` under `parent`.
inline std::vector<std::string> leaves_of(const std::string& parent, int jobwarden_pid) {
  std::vector<std::string> out;
  const std::string prefix = "jobwarden-" + std::to_string(jobwarden_pid) + "-";
  DIR* d = opendir(parent.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d)) {
    if (std::string(e->d_name).rfind(prefix, 0) == 0) out.push_back(parent + "/" + e->d_name);
  }
  closedir(d);
  return out;
}

}  // namespace jobwarden::testing

namespace jobwarden::testing {

// When a check failed: whatever is left of a test tree goes, the helpers'
// mains too (they never announce themselves; they share a process group
// with an announced member).
inline void kill_leftovers(const std::vector<int>& pids) {
  for (int pid : surviving(pids)) {  // still the helper: never a reused pid's group
    if (const auto p = platform::read_proc_stat(pid)) ::kill(-p->pgid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

// Reads `process`'s output until `helpers` jw-tree-helpers have printed
// all-ready (the readiness handshake of a tree of several helpers).
inline bool all_helpers_ready(ChildProcess& process, std::size_t helpers, std::chrono::milliseconds limit) {
  return eventually(
      [&] {
        (void)process.wait_for_output("\x01never", std::chrono::milliseconds(50));
        return count(process.so_far().out, "all-ready") == helpers;
      },
      limit);
}

// SIGKILLs the guardian of jobwarden `jobwarden_pid` (found within a
// generous limit) and waits until it is gone: for the cases where the
// guardian dies with jobwarden (a kill of the runner's whole cgroup), which
// `gitlab cleanup` is for. Returns whether there was one.
inline bool kill_guardian_of(int jobwarden_pid) {
  int guardian = 0;
  for (int i = 0; i < 2000 && (guardian = guardian_of(jobwarden_pid)) == 0; ++i) usleep(5000);
  if (guardian == 0) return false;
  ::kill(guardian, SIGKILL);
  for (int i = 0; i < 2000 && guardian_alive(guardian); ++i) usleep(5000);
  return true;
}

}  // namespace jobwarden::testing
