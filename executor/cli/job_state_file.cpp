#include "executor/cli/job_state_file.hpp"

#include <filesystem>

#include "executor/platform/safe_files.hpp"

namespace jobwarden::cli {

io::GitlabJobState load_or_create_job_state(const std::string& tmpdir, double now_unix,
                                            const std::string& job_id, std::string& error) {
  if (auto existing = io::load_job_state(tmpdir)) return *existing;
  const io::GitlabJobState state = io::new_job_state(now_unix, job_id);
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
