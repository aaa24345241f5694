#pragma once
// Drives `jobwarden gitlab ...` the way gitlab-runner's custom executor does
// (docs/gitlab.md): a job temp dir as TMPDIR and cwd,
// response.json, the runner's environment (TMPDIR, BUILD_FAILURE_EXIT_CODE,
// SYSTEM_FAILURE_EXIT_CODE, BUILD_EXIT_CODE_FILE, JOB_RESPONSE_FILE,
// CUSTOM_ENV_*), each call in its own process group, stage scripts in the
// runner's bash skeleton, and the runner's strict parse of the exit-code file.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace jobwarden::testing {

struct StageOutcome {
  ChildResult driver;
  // As the runner reads BUILD_EXIT_CODE_FILE after an exit 1: the value, or
  // nullopt when the file is missing; `malformed` when it fails Atoi.
  std::optional<long long> build_exit_code;
  bool malformed = false;
  std::string kind() const;  // success | build_failure | system_failure | unknown_failure
};

class GitlabRunnerEmulator {
 public:
  explicit GitlabRunnerEmulator(int job_timeout_seconds = 3600);

  std::vector<std::string> command_prefix;  // e.g. {"taskset", "-c", "0"}
  bool executable_scripts = true;           // false: mode 0600, as on a noexec $TMPDIR
  void set_variable(const std::string& name, const std::string& value) { m_variables[name] = value; }
  // A job variable GitLab masks: in response.json's `variables` with masked: true, and in CUSTOM_ENV_*.
  void set_masked_variable(const std::string& name, const std::string& value);
  // Appends YAML to the admin configuration (after its `gitlab:` section).
  void append_admin(const std::string& yaml) const;
  std::string admin_path() const { return m_base.file("admin.yml"); }

  ChildResult config();
  ChildResult prepare();
  ChildResult cleanup();
  StageOutcome run_stage(const std::string& stage, const std::string& body,
                         std::chrono::milliseconds limit = std::chrono::milliseconds(60'000));
  // For signals mid-stage: start it, then finish_stage().
  std::unique_ptr<ChildProcess> start_stage(const std::string& stage, const std::string& body);
  StageOutcome finish_stage(ChildProcess& driver, std::chrono::milliseconds limit = std::chrono::milliseconds(60'000));
  // The runner's KillAndWait when a stage's context ends (cancel, timeout):
  // SIGTERM to the driver's process group, wait `graceful` for it to finish,
  // then SIGKILL to the group and wait `force`. `needed_sigkill` says whether
  // the driver outlived the graceful wait (then the runner would report it).
  struct Cancelled {
    StageOutcome outcome;
    bool needed_sigkill = false;
    bool kill_failed = false;  // still alive after force: the runner's KillProcessError
  };
  Cancelled cancel_stage(ChildProcess& driver, std::chrono::milliseconds graceful, std::chrono::milliseconds force);
  // The job's own timeout (runner_info.timeout, counted from the job's start,
  // i.e. this emulator's creation): the stage runs until it exits or the
  // deadline passes; then the runner cancels it with KillAndWait and the job
  // fails as job_execution_timeout whatever the driver answers.
  struct UnderJobTimeout {
    Cancelled stage;  // needed_sigkill/kill_failed only when timed_out
    bool timed_out = false;
    std::string kind() const { return timed_out ? "job_execution_timeout" : stage.outcome.kind(); }
  };
  UnderJobTimeout run_stage_under_job_timeout(const std::string& stage, const std::string& body,
                                              std::chrono::milliseconds graceful, std::chrono::milliseconds force);

  std::string builds_base() const { return m_base.file("builds"); }
  std::string project_dir() const;  // the slot's builds dir + /group/project (created)
  std::string tmpdir() const { return m_tmp.path(); }
  std::string exit_code_file() const { return m_tmp.file("build_exit_code"); }
  void write_repo_policy(const std::string& yaml) const;
  // Appends top-level keys to the admin configuration (e.g. "run_as: nobody\n").
  void append_admin_config(const std::string& yaml) const;

 private:
  std::vector<std::string> argv(const std::vector<std::string>& driver_args) const;
  std::vector<std::string> environment() const;
  std::string write_script(const std::string& body);

  TempDir m_base;  // builds/, cache/, admin.yml
  TempDir m_tmp;   // the job's custom-executor temp dir
  std::map<std::string, std::string> m_variables;  // job variables -> CUSTOM_ENV_*
  int m_scripts = 0;
  int m_job_timeout_seconds = 3600;
  std::map<std::string, std::string> m_masked;
  void write_response() const;
  std::chrono::steady_clock::time_point m_job_deadline;
};

}  // namespace jobwarden::testing
