#pragma once
// The GitLab Runner custom-executor contract (docs/gitlab.md),
// as pure functions: stage kinds, the driver's exit codes and BUILD_EXIT_CODE_FILE,
// the job's deadline, and where concurrent jobs build.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "policy/outcome.hpp"

namespace jobwarden::adapters::gitlab {

// The runner's fixed codes (BUILD_FAILURE_EXIT_CODE / SYSTEM_FAILURE_EXIT_CODE).
inline constexpr int k_build_failure = 1;
inline constexpr int k_system_failure = 2;

enum class StageKind {
  user,    // build_script, step_*, after_script: the repository's policy applies
  runner,  // prepare_script, get_sources, caches, artifacts, ...: the admin's policy applies
};

// Every stage name of docs/gitlab.md ("Stages") is known; an unknown name is
// treated as a runner stage (forward compatibility), and `known` says so.
struct StageInfo {
  StageKind kind = StageKind::runner;
  bool known = true;
};
StageInfo classify_stage(const std::string& stage);

// What `jobwarden gitlab run` answers: its exit code and, for a build
// failure, the value for BUILD_EXIT_CODE_FILE.
struct DriverExit {
  int exit_code = 0;
  std::optional<int> build_exit_code;
};

// pass -> 0; fail -> 1 with the step's code (never 0); unstable -> 1 with 79
// (for allow_failure: exit_codes); system_failure -> 2 without a file.
DriverExit driver_exit(policy::Action action, int step_exit_code);
// A bad repository policy is the user's fault: 1 with 78.
DriverExit driver_exit_bad_policy();
// A fault of jobwarden or of the host: 2, so the runner reports a system failure.
DriverExit driver_exit_internal();

// Parses CI_JOB_TIMEOUT (seconds). Empty or invalid: nullopt.
std::optional<std::chrono::seconds> parse_job_timeout(const std::string& text);

// How to run the runner's stage script: through the interpreter of its
// "#!" line (so a noexec $TMPDIR or a lost execute bit cannot fail the job),
// else directly. `first_line` is the script's first line without its newline.
std::vector<std::string> script_command(const std::string& script, const std::string& first_line);

// The builds directory for one job slot: <base>/<runner short token>/<concurrent id>,
// so that concurrent jobs of the same project never share a working tree.
// Characters outside [A-Za-z0-9_.-] in the parts become '_'.
std::string slot_builds_dir(const std::string& base, const std::string& runner_token,
                            const std::string& concurrent_id);

}  // namespace jobwarden::adapters::gitlab
