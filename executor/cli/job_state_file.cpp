#include "executor/cli/job_state_file.hpp"

#include <chrono>
#include <filesystem>

#include "executor/cli/step_execution.hpp"
#include "executor/platform/safe_files.hpp"

namespace jobwarden::cli {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string gitlab_job_id(const std::optional<io::JobResponse>& response) {
  if (response && !response->job_id.empty()) return response->job_id;
  return env_or("CUSTOM_ENV_CI_JOB_ID");
}

io::GitlabJobState load_or_create_job_state(const std::string& tmpdir, const std::optional<io::JobResponse>& response,
                                            std::string& error) {
  error.clear();
  if (auto existing = io::load_job_state(tmpdir)) return *existing;
  const io::GitlabJobState state = io::new_job_state(unix_now(), gitlab_job_id(response));
  std::error_code ec;
  std::filesystem::create_directories(tmpdir + "/jobwarden", ec);
  if (ec) {
    error = "cannot create " + tmpdir + "/jobwarden: " + ec.message();
    return state;
  }
  const auto written = platform::write_file_atomically(io::job_state_path(tmpdir), io::render_job_state(state));
  error = written ? "" : written.error();
  return state;
}

}  // namespace jobwarden::cli
