#pragma once
// Per-job files of the GitLab custom-executor driver, under the job's
// $TMPDIR (the runner deletes it after cleanup_exec):
//  * <tmp>/jobwarden/state.json, written by the first driver call of the job:
//    when the job started (for the deadline) and the cookie that marks every
//    process the job's steps start (for cleanup);
//  * the runner's JOB_RESPONSE_FILE, read for the trusted job id and timeout.
// Rendered and parsed here, purely; cli/job_state_file.* reads and writes the
// files (beneath $TMPDIR, bounded, never through a symlink or into a FIFO).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobwarden::io {

// Where one `gitlab run` call put its attempts' cgroups: leaves named
// jobwarden-<pid>-<attempt> under these directories. Read back by cleanup,
// which must treat it as untrusted (a job running as the runner's user can
// rewrite the state file): see docs/gitlab.md, "Cleanup".
struct RecordedCgroups {
  int pid = 0;                   // the `gitlab run` process (the leaves' names)
  std::string v2_parent;         // directory of its cgroup v2 leaves
  std::string v1_memory_parent;  // directory of its v1 memory cgroups ("" = none)
};

struct GitlabJobState {
  double started_unix = 0.0;  // seconds since the epoch, to the microsecond
  std::string cookie;          // value of JOBWARDEN_JOB_COOKIE in the steps' environment
  std::vector<RecordedCgroups> cgroups;  // one per `gitlab run` that had a cgroup
};

// Where the state lives, relative to the job's $TMPDIR.
inline constexpr const char* k_job_state_dir = "jobwarden";
inline constexpr const char* k_job_state_file = "jobwarden/state.json";
// A fresh state: started now (to the microsecond, so that a deadline computed
// from it is not up to a second early or late), a new random cookie.
GitlabJobState new_job_state(double now_unix, const std::string& job_id);
// The state file's text.
std::string render_job_state(const GitlabJobState& state);
// Parses the state file's text; nullopt when it is not a state. The file is
// as untrusted as the job (a job running as the runner's user can rewrite
// it): a cookie not of new_job_state's shape, or a start time that is not a
// plain past-the-epoch number, makes the whole state invalid.
std::optional<GitlabJobState> parse_job_state(std::string_view text);

struct JobResponse {
  std::string job_id;
  std::optional<long long> timeout_seconds;  // runner_info.timeout
  std::vector<std::string> masked_values;    // values of `variables` with masked: true
};
// Parses JOB_RESPONSE_FILE's text; nullopt when not the expected JSON.
std::optional<JobResponse> parse_job_response(std::string_view text);

}  // namespace jobwarden::io

namespace jobwarden::io {

// config_exec's answer: exactly one JSON object.
std::string render_config_output(const std::string& builds_dir, const std::string& cache_dir,
                                 bool builds_dir_is_shared, const std::string& hostname,
                                 const std::string& version);

}  // namespace jobwarden::io
