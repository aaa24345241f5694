#pragma once
// The GitLab job's state file under $TMPDIR (io/gitlab_job.hpp renders and
// parses it; this writes it, atomically), and the one place that decides the
// job's start time and id (docs/gitlab.md, "The job's state").

#include <optional>
#include <string>

#include "executor/core/result.hpp"
#include "executor/io/gitlab_job.hpp"
#include "executor/platform/containment.hpp"

namespace jobwarden::cli {

// Now, in seconds since the epoch, to the microsecond.
double unix_now();

// The job's id: JOB_RESPONSE_FILE's (trusted) when it names one, else the
// job's CI_JOB_ID (CUSTOM_ENV_CI_JOB_ID), else "".
std::string gitlab_job_id(const std::optional<io::JobResponse>& response);

// The job's state, and whether it is on disk. A state that could not be
// written is still the job's state for this call (its start is now, its
// cookie fresh): the caller decides whether that is fatal.
struct JobStateLoad {
  io::GitlabJobState state;
  core::Status<std::string> recorded = core::Ok{};  // why it could not be written, if so
};

// Loads the state, or creates it (started now, fresh cookie with the job's
// id) when absent or unreadable.
JobStateLoad load_or_create_job_state(const std::string& tmpdir, const std::optional<io::JobResponse>& response);

// Adds where this `gitlab run` puts its attempts' cgroups to the state (and
// rewrites the file), so that `gitlab cleanup` finds them by path.
core::Status<std::string> record_job_cgroups(const std::string& tmpdir, io::GitlabJobState& state,
                                             const platform::LeafPlacement& placement);

}  // namespace jobwarden::cli
