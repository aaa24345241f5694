#pragma once
// Starting the step: fork, then in the child a new session (so the step leads
// its own session and process group), default signals, stdin from /dev/null,
// stdout/stderr to our pipes, the step user's identity, exec. Exec failures come back through a
// close-on-exec pipe, so "not found" and "not executable" are known for sure.

#include <string>
#include <vector>

#include "executor/core/process_runner.hpp"

namespace jobwarden::platform {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // NAME=VALUE, overriding our own NAME
  int stdout_fd = -1;  // write ends given to the child as fd 1 and 2
  int stderr_fd = -1;
  bool pdeathsig = true;  // SIGKILL the child if jobwarden itself dies (last resort)
  const core::StepUser* user = nullptr;  // run as this user (groups, gid, uid dropped last)
};

struct SpawnOutcome {
  bool started = false;  // exec succeeded
  int pid = -1;          // the child, when one was forked (also when exec failed: reap it)
  int exit_code = 0;     // 127 not found, 126 not executable, 125 other start failure
  std::string error;
};

// Resolves argv[0] like execvp: a name with '/' as is, else the first
// executable match on $PATH (default "/usr/local/bin:/usr/bin:/bin").
// Returns "" when nothing matches.
std::string resolve_program(const std::string& name);

SpawnOutcome spawn_step(const SpawnOptions& options);

}  // namespace jobwarden::platform
