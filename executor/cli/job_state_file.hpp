#pragma once
// The GitLab job's state file under $TMPDIR (io/gitlab_job.hpp renders and
// parses it; this writes it, atomically), and the one place that decides the
// job's start time and id (docs/gitlab.md, "The job's state").

#include <optional>
#include <string>

#include "executor/io/gitlab_job.hpp"

namespace jobwarden::cli {

// Now, in seconds since the epoch, to the microsecond.
double unix_now();

// The job's id: JOB_RESPONSE_FILE's (trusted) when it names one, else the
// job's CI_JOB_ID (CUSTOM_ENV_CI_JOB_ID), else "".
std::string gitlab_job_id(const std::optional<io::JobResponse>& response);

// Loads the state, or creates it (started now, fresh cookie with the job's
// id) when absent or unreadable. `error` is "" on success, else why it could
// not be recorded.
io::GitlabJobState load_or_create_job_state(const std::string& tmpdir, const std::optional<io::JobResponse>& response,
                                            std::string& error);

}  // namespace jobwarden::cli
