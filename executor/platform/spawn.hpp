#pragma once
// Starting the step: fork, then in the child a new session (so the step leads
// its own session and process group), default signals, stdin from /dev/null,
// stdout/stderr to our pipes, the step user's identity, exec. Exec failures come back through a
// close-on-exec pipe, so "not found" and "not executable" are known for sure.

#include <optional>
#include <string>
#include <vector>

#include "executor/core/process_runner.hpp"

namespace jobwarden::platform {

// The attempt's cgroups, which the child enters before it executes anything.
struct CgroupJoin {
  int dir_fd = -1;       // v2 leaf directory: clone3(CLONE_INTO_CGROUP) starts the child in it
  int procs_fd = -1;     // the leaf's cgroup.procs: written by the child when clone3 is unavailable
  int v1_tasks_fd = -1;  // a v1 memory cgroup's `tasks` (hybrid hosts), written by the child while single-threaded
};

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // NAME=VALUE, overriding our own NAME
  int stdout_fd = -1;  // write ends given to the child as fd 1 and 2
  int stderr_fd = -1;
  bool pdeathsig = true;  // SIGKILL the child if jobwarden itself dies (last resort)
  const core::StepUser* user = nullptr;  // run as this user (groups, gid, uid dropped last)
  CgroupJoin cgroups;
  bool no_new_privileges = false;  // PR_SET_NO_NEW_PRIVS, last before exec
};

struct SpawnOutcome {
  bool started = false;  // exec succeeded
  int pid = -1;          // the child, when one was forked (also when exec failed: reap it)
  int exit_code = 0;     // 127 not found, 126 not executable, 125 other start failure
  std::string error;
  bool born_in_cgroup = false;  // clone3(CLONE_INTO_CGROUP) placed it (else it joined before exec)
};

// Resolves argv[0] like execvp: a name with '/' as is, else the first
// executable match on $PATH (default "/usr/local/bin:/usr/bin:/bin").
// nullopt when nothing matches.
std::optional<std::string> resolve_program(const std::string& name);

SpawnOutcome spawn_step(const SpawnOptions& options);

}  // namespace jobwarden::platform
