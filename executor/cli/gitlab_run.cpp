#include "executor/cli/gitlab_run.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "adapters/dialects.hpp"
#include "executor/cli/policy_source.hpp"
#include "executor/cli/step_execution.hpp"
#include "executor/io/gitlab_job.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::cli {
namespace {

namespace gl = adapters::gitlab;
namespace fs = std::filesystem;

// CUSTOM_ENV_CI_PROJECT_DIR can be shadowed by a job variable: it is only
// trusted when it lies inside the admin's builds directory.
std::string trusted_project_dir(const policy::AdminConfig& admin, core::JobLog& log) {
  const std::string dir = env_or("CUSTOM_ENV_CI_PROJECT_DIR");
  if (dir.empty()) return "";
  std::error_code base_error, project_error;  // a job variable may hold anything: never throw
  const fs::path base = fs::weakly_canonical(admin.builds_dir, base_error);
  const fs::path project = fs::weakly_canonical(dir, project_error);
  const auto [b, p] = std::mismatch(base.begin(), base.end(), project.begin(), project.end());
  if (base_error || project_error || b != base.end() || project == base) {
    log.warn("CI_PROJECT_DIR " + dir.substr(0, 200) + " is not inside the builds directory " +
             admin.builds_dir + ": the repository policy there is ignored");
    return "";
  }
  return project.string();
}

PolicySource stage_policy(const policy::AdminConfig& admin, gl::StageKind kind, const std::string& project_dir) {
  if (kind == gl::StageKind::runner) {
    return admin.runner_stages_policy.empty() ? embedded_policy_source()
                                              : load_policy_source(admin.runner_stages_policy);
  }
  const std::string candidate = project_dir.empty() ? "" : project_dir + "/" + k_policy_file_name;
  std::error_code ec;
  if (!candidate.empty() && fs::is_regular_file(candidate, ec)) return load_policy_source(candidate);
  return embedded_policy_source();
}

// The job's deadline as a monotonic time point: its start (recorded by the
// first driver call) plus the job timeout (trusted from JOB_RESPONSE_FILE),
// less a margin so that jobwarden decides before GitLab does.
std::optional<core::MonoTime> job_deadline(const io::GitlabJobState& state, core::JobLog& log) {
  std::optional<std::chrono::seconds> timeout;
  if (const auto response = io::read_job_response(env_or("JOB_RESPONSE_FILE")); response && response->timeout_seconds) {
    timeout = std::chrono::seconds{*response->timeout_seconds};
  } else {
    timeout = gl::parse_job_timeout(env_or("CUSTOM_ENV_CI_JOB_TIMEOUT"));
  }
  if (!timeout) return std::nullopt;
  const auto end_wall = std::chrono::system_clock::time_point(std::chrono::seconds{state.started_unix}) +
                        *timeout - gl::deadline_margin(*timeout);
  const auto left = end_wall - std::chrono::system_clock::now();
  log.info("job deadline: " + std::to_string(timeout->count()) + "s job timeout, " +
           policy::format_seconds(std::chrono::duration<double>(left).count()) + " left for this stage");
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

void write_reports(const io::ReportInput& in, const std::string& project_dir, core::JobLog& log) {
  const std::string text = io::render_report(in);
  const std::string tmpdir = env_or("TMPDIR", "/tmp");
  std::string error = io::write_atomically(tmpdir + "/jobwarden-report.json", text);
  if (error.empty()) error = io::write_atomically(tmpdir + "/jobwarden-report-" + in.step + ".json", text);
  const std::string wanted = env_or("CUSTOM_ENV_JOBWARDEN_REPORT");
  if (!wanted.empty() && !project_dir.empty()) {
    const fs::path rel(wanted);
    const bool safe = rel.is_relative() && std::none_of(rel.begin(), rel.end(), [](const fs::path& part) {
                        return part == "..";
                      });
    if (safe && error.empty()) error = io::write_atomically((fs::path(project_dir) / rel).string(), text);
    if (!safe) log.warn("JOBWARDEN_REPORT must be a relative path inside the project: " + wanted);
  }
  if (!error.empty()) log.warn("could not write a report: " + error);
}

gl::DriverExit bad_policy(const PolicySource& src, gl::StageKind kind, core::JobLog& log) {
  for (const auto& e : src.loaded.errors) log.warn("policy error: " + e.to_string());
  const gl::DriverExit answer = kind == gl::StageKind::user ? gl::driver_exit_bad_policy() : gl::driver_exit_internal();
  log.verdict("verdict: not started: the policy " + src.label() + " is invalid; " +
              (kind == gl::StageKind::user ? "build failure with code 78" : "system failure (admin policy)"));
  return answer;
}

}  // namespace

gl::DriverExit run_gitlab_stage(const policy::AdminConfig& admin, const std::string& script,
                                const std::string& stage) {
  const auto dialect = adapters::make_gitlab_custom_executor_dialect();
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, false);
  const gl::StageInfo info = gl::classify_stage(stage);
  if (!info.known) log.info("stage '" + stage + "' is not one jobwarden knows: treated as a runner stage");
  const std::string project_dir = info.kind == gl::StageKind::user ? trusted_project_dir(admin, log) : "";
  PolicySource src = stage_policy(admin, info.kind, project_dir);
  if (!src.loaded.ok()) return bad_policy(src, info.kind, log);
  policy::Policy& policy = *src.loaded.policy;
  for (const auto& line : policy::apply_ceilings(admin, policy)) log.warn(line);
  const KillSwitches switches = kill_switches(admin);
  announce_kill_switches(switches, log);
  log.info("policy: " + src.label());

  std::string error;
  const std::string tmpdir = env_or("TMPDIR", "/tmp");
  const auto response = io::read_job_response(env_or("JOB_RESPONSE_FILE"));
  const io::GitlabJobState state = io::load_or_create_job_state(
      tmpdir, std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
      response ? response->job_id : "", error);
  if (!error.empty()) log.warn("cannot record the job state: " + error);

  const policy::StepSettings& settings = policy.settings_for(stage);
  core::StepRequest request;
  request.step = stage;
  std::string first_line;
  std::getline(std::ifstream(script), first_line);
  request.spawn.argv = gl::script_command(script, first_line);
  request.spawn.extra_env = {std::string(k_job_cookie_variable) + "=" + state.cookie};
  request.settings.timeout = settings.timeout;
  request.settings.grace = settings.grace;
  request.settings.starvation = settings.starvation;
  request.settings.tree_kill = switches.tree_kill.on;
  request.settings.starvation_enabled = switches.starvation.on;
  request.retries_enabled = switches.retry.on;
  request.deadline = job_deadline(state, log);
  const auto result = execute_step(request, policy, log);
  if (!result) return gl::driver_exit_internal();
  write_reports({stage, request.spawn.argv, dialect->name(), src.label(), src.text, &*result}, project_dir, log);
  if (result->attempts.back().ending.start_failed) {
    // The runner wrote the script: failing to start it is the host's fault, not the project's.
    log.warn("the runner's script could not be started: a system failure, not a build failure; exit code 2");
    return gl::driver_exit_internal();
  }
  return gl::driver_exit(result->action, result->step_exit_code);
}

}  // namespace jobwarden::cli
