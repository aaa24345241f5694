#pragma once
// The GitLab job's files: the state file under $TMPDIR (io/gitlab_job.hpp
// renders and parses it; this reads and writes it) and the runner's
// JOB_RESPONSE_FILE, and the one place that decides the job's start time and
// id (docs/gitlab.md, "The job's state").
//
// $TMPDIR is the runner's (trusted up to it), but what is inside belongs to
// the job, which may run as the runner's user or own it under run_as: the
// state is read and written beneath $TMPDIR only (a symlink out of it is
// refused), only as a regular file (a FIFO is never opened for reading, so
// it cannot hang the driver), at most 1 MiB, and parsed as untrusted.

#include <optional>
#include <string>

#include "executor/core/result.hpp"
#include "executor/io/gitlab_job.hpp"
#include "executor/platform/containment.hpp"

namespace jobwarden::cli {

// Now, in seconds since the epoch, to the microsecond.
double unix_now();

// JOB_RESPONSE_FILE (the runner's: path trusted, read bounded); nullopt when
// missing, unreadable or not the expected JSON.
std::optional<io::JobResponse> read_job_response(const std::string& path);

// The job's state as the state file under `tmpdir` holds it; nullopt when
// there is none, or none that is valid.
std::optional<io::GitlabJobState> read_job_state(const std::string& tmpdir);

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
