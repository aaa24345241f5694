#pragma once
// What `jobwarden run` and `jobwarden gitlab run` share: create the real
// runner, run the attempt loop, write the report.

#include <functional>
#include <optional>
#include <vector>
#include <string>

#include "executor/core/job_log.hpp"
#include "executor/core/result.hpp"
#include "executor/core/step_runner.hpp"
#include "executor/platform/containment.hpp"
#include "policy/admin_config.hpp"

namespace jobwarden::cli {

// Runs the step, contained as the admin configuration says (features.cgroup,
// cgroup_parent); logs which mechanism contains it and why. A cgroup that is
// `required` but cannot be had is a system failure with the reason, before
// anything starts (a result without attempts). nullopt when the runner could
// not be created otherwise (an internal fault, already logged).
// `on_leaf_placement`, when given, learns where the attempts' cgroups will
// be made (never called without a cgroup) before the first attempt starts.
std::optional<core::StepResult> execute_step(
    const core::StepRequest& request, const policy::Policy& policy, const policy::AdminConfig& admin,
    core::JobLog& log, const std::function<void(const platform::LeafPlacement&)>& on_leaf_placement = {});

// The attempt's memory limit: the step's `memory` within the admin's
// max_memory (a clamp is logged), or max_memory alone; none when neither.
std::optional<unsigned long long> memory_limit_or_log(const policy::AdminConfig& admin,
                                                      const policy::StepSettings& settings, const std::string& step,
                                                      core::JobLog& log);

// One feature under a kill-switch: whether the feature is enabled and, when
// it is not, who disabled it.
struct FeatureSwitch {
  bool enabled = true;
  std::string disabled_by;  // e.g. "JOBWARDEN_TREE_KILL=0"; "" when enabled
};
struct KillSwitches {
  FeatureSwitch tree_kill, starvation, retry;
};

// From the environment (JOBWARDEN_TREE_KILL, JOBWARDEN_STARVATION, JOBWARDEN_RETRY).
KillSwitches kill_switches_from_env();
// The environment's, with what the admin configuration switches off on top.
KillSwitches kill_switches(const policy::AdminConfig& admin);

// Command-line overrides of the policy's per-attempt durations (`run` only).
struct DurationOverrides {
  std::optional<policy::Duration> timeout, grace;
};

// Fills in what every attempt of the step runs with, the same for `run` and
// `gitlab run`: timeout and grace (an override, clamped to the admin's
// ceilings with a logged line, else the policy's, already within them), the
// starvation thresholds, the kill-switches, and the memory limit.
void set_attempt_settings(core::StepRequest& request, const policy::StepSettings& settings,
                          const DurationOverrides& overrides, const policy::AdminConfig& admin,
                          const KillSwitches& switches, core::JobLog& log);

// Loads the admin configuration (`path` "" = /etc/jobwarden/config.yaml; a
// missing file means built-in defaults). On errors, prints each as
// "jobwarden: admin configuration: file:line:col: ..." and returns nullopt.
std::optional<policy::AdminConfig> load_admin_or_report(const std::string& path);

// The admin's run_as user, resolved; nullopt when run_as is not set. A user
// that cannot be resolved is an error message (the caller's system failure).
core::Result<std::optional<core::StepUser>, std::string> resolve_run_as(const policy::AdminConfig& admin);

// Makes `spawn` run as `user`, with HOME, USER and LOGNAME set to the user's.
void run_spawn_as(core::SpawnRequest& spawn, const core::StepUser& user);

// Logs the kill-switches that are off, each with who switched it off.
void announce_kill_switches(const KillSwitches& switches, core::JobLog& log);

// Reads a JOBWARDEN_* style switch from the environment: on unless 0/false/off/no.
bool env_switch_on(const char* name);

// The environment variable's value, or nullopt when it is not set.
std::optional<std::string> env_lookup(const char* name);

// The environment variable's value, or `fallback` when it is not set.
std::string env_or(const char* name, const std::string& fallback = "");

}  // namespace jobwarden::cli
