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

JobStateLoad load_or_create_job_state(const std::string& tmpdir, const std::optional<io::JobResponse>& response) {
  if (auto existing = io::load_job_state(tmpdir)) return {*existing};
  io::GitlabJobState state = io::new_job_state(unix_now(), gitlab_job_id(response));
  std::error_code ec;
  std::filesystem::create_directories(tmpdir + "/jobwarden", ec);
  if (ec) return {std::move(state), core::unexpected("cannot create " + tmpdir + "/jobwarden: " + ec.message())};
  auto written = platform::write_file_atomically(io::job_state_path(tmpdir), io::render_job_state(state));
  return {std::move(state), std::move(written)};
}

core::Status<std::string> record_job_cgroups(const std::string& tmpdir, io::GitlabJobState& state,
                                             const platform::LeafPlacement& placement) {
  state.cgroups.push_back({placement.owner_pid, placement.v2_parent, placement.v1_memory_parent});
  return platform::write_file_atomically(io::job_state_path(tmpdir), io::render_job_state(state));
}

}  // namespace jobwarden::cli
