#pragma once
// One run_exec call of the GitLab custom executor: a sub-stage's script under
// the supervisor, with the repository's policy for user stages and the
// admin's for the runner's own stages, capped by the job's deadline.

#include <string>

#include "adapters/gitlab/custom_executor.hpp"
#include "policy/admin_config.hpp"

namespace jobwarden::cli {

// Every process a job's steps start carries this variable (value: the job's
// cookie from $TMPDIR/jobwarden/state.json); `gitlab cleanup` finds leftovers by it.
inline constexpr const char* k_job_cookie_variable = "JOBWARDEN_JOB_COOKIE";

// Runs the stage and says what the driver must answer. Writes the job log
// (sections, evidence, verdict) and the JSON reports.
adapters::gitlab::DriverExit run_gitlab_stage(const policy::AdminConfig& admin, const std::string& script,
                                              const std::string& stage);

}  // namespace jobwarden::cli
