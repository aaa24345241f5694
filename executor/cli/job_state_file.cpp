#include "executor/cli/job_state_file.hpp"

#include <chrono>

#include "executor/cli/step_execution.hpp"
#include "executor/platform/safe_files.hpp"

namespace jobwarden::cli {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

constexpr std::size_t k_max_state_bytes = 1U << 20;
// The runner writes the whole job payload (variables included) there.
constexpr std::size_t k_max_job_response_bytes = 64U << 20;

core::Status<std::string> write_job_state(const std::string& tmpdir, const io::GitlabJobState& state) {
  auto base = platform::open_directory(tmpdir);
  if (!base) return core::unexpected(base.error());
  if (auto made = platform::make_directory_beneath(base->get(), io::k_job_state_dir); !made) {
    return core::unexpected(tmpdir + "/" + made.error());
  }
  return platform::write_file_atomically_beneath(base->get(), io::k_job_state_file, io::render_job_state(state));
}

}  // namespace

std::optional<io::JobResponse> read_job_response(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto text = platform::read_regular_file(path, k_max_job_response_bytes);
  if (!text) return std::nullopt;
  return io::parse_job_response(*text);
}

std::optional<io::GitlabJobState> read_job_state(const std::string& tmpdir) {
  auto base = platform::open_directory(tmpdir);
  if (!base) return std::nullopt;
  auto text = platform::read_file_beneath(base->get(), io::k_job_state_file, k_max_state_bytes);
  if (!text) return std::nullopt;
  return io::parse_job_state(*text);
}

std::string gitlab_job_id(const std::optional<io::JobResponse>& response) {
  if (response && !response->job_id.empty()) return response->job_id;
  return env_or("CUSTOM_ENV_CI_JOB_ID");
}

JobStateLoad load_or_create_job_state(const std::string& tmpdir, const std::optional<io::JobResponse>& response) {
  if (auto existing = read_job_state(tmpdir)) return {*existing};
  io::GitlabJobState state = io::new_job_state(unix_now(), gitlab_job_id(response));
  auto written = write_job_state(tmpdir, state);
  return {std::move(state), std::move(written)};
}

core::Status<std::string> record_job_cgroups(const std::string& tmpdir, io::GitlabJobState& state,
                                             const platform::LeafPlacement& placement) {
  state.cgroups.push_back({placement.owner_pid, placement.v2_parent, placement.v1_memory_parent});
  return write_job_state(tmpdir, state);
}

}  // namespace jobwarden::cli
