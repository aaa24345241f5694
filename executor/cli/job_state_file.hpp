#pragma once
// The GitLab job's state file under $TMPDIR (io/gitlab_job.hpp renders and
// parses it; this writes it, atomically).

#include <string>

#include "executor/io/gitlab_job.hpp"

namespace jobwarden::cli {

// Loads the state, or creates it (started now, fresh cookie) when absent or
// unreadable. `error` is "" on success, else why it could not be recorded.
io::GitlabJobState load_or_create_job_state(const std::string& tmpdir, double now_unix,
                                            const std::string& job_id, std::string& error);

}  // namespace jobwarden::cli
