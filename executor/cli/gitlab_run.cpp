#include "executor/cli/gitlab_run.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "adapters/dialects.hpp"
#include "executor/cli/job_state_file.hpp"
#include "executor/cli/operations.hpp"
#include "executor/cli/policy_source.hpp"
#include "executor/cli/step_execution.hpp"
#include "executor/io/gitlab_job.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/safe_files.hpp"
#include "executor/platform/step_user.hpp"
#include "policy/printable.hpp"

namespace jobwarden::cli {
namespace {

namespace gl = adapters::gitlab;
namespace fs = std::filesystem;

// The project directory of a user stage: CUSTOM_ENV_CI_PROJECT_DIR can be
// shadowed by a job variable, so it is only trusted inside the admin's builds
// directory, and opened beneath it (no symlink out of it on the way).
struct Project {
  std::string dir;  // "" when there is none (runner stages, or refused)
  platform::UniqueFd fd;
};

// `project` relative to `base` when it lies strictly inside it (lexically:
// the open beneath the base does the rest), else nullopt.
std::optional<fs::path> inside(const fs::path& base, const fs::path& project) {
  std::vector<fs::path> b, p;
  for (const auto& part : base) if (!part.empty()) b.push_back(part);
  for (const auto& part : project) if (!part.empty()) p.push_back(part);
  if (p.size() <= b.size() || !std::equal(b.begin(), b.end(), p.begin())) return std::nullopt;
  return project.lexically_relative(base);
}

Project trusted_project(const policy::AdminConfig& admin, core::JobLog& log) {
  const std::string dir = env_or("CUSTOM_ENV_CI_PROJECT_DIR");
  if (dir.empty()) return {};
  const fs::path project = fs::path(dir).lexically_normal();
  // The builds directory as the admin wrote it (what `gitlab config` told the
  // runner), or resolved (when the admin's path holds a symlink of the host's).
  std::error_code ec;  // a job variable may hold anything: never throw
  const fs::path written = fs::path(admin.builds_dir).lexically_normal();
  const fs::path resolved = fs::weakly_canonical(admin.builds_dir, ec);
  for (const fs::path& base : {written, ec ? written : resolved}) {
    const auto rel = inside(base, project);
    if (!rel || rel->empty() || *rel->begin() == "..") continue;
    auto base_fd = platform::open_directory(base.string());
    auto project_fd = base_fd ? platform::open_directory_beneath(base_fd->get(), rel->string())
                              : core::Result<platform::UniqueFd, std::string>(core::unexpected(base_fd.error()));
    if (project_fd) return {project.string(), std::move(*project_fd)};
  }
  log.warn("CI_PROJECT_DIR " + policy::printable(dir, 200) + " is not a directory inside the builds directory " +
           admin.builds_dir + ": the repository's .jobwarden.yml and JOBWARDEN_REPORT are ignored");
  return {};
}

PolicySource stage_policy(const policy::AdminConfig& admin, gl::StageKind kind, const Project& project) {
  if (kind == gl::StageKind::runner) {
    return admin.runner_stages_policy.empty() ? embedded_policy_source()
                                              : load_policy_source(admin.runner_stages_policy);
  }
  if (!project.fd.valid()) return embedded_policy_source();
  auto found = load_project_policy(project.fd.get(), project.dir);
  return found ? std::move(*found) : embedded_policy_source();
}

// The job's deadline as a monotonic time point: its start (recorded by the
// first driver call) plus the job timeout (trusted from JOB_RESPONSE_FILE).
// It stays GitLab's to enforce: jobwarden only refuses retries that cannot
// finish before it, and ends a starved attempt a grace before it.
std::optional<core::MonoTime> job_deadline(const io::GitlabJobState& state, const std::optional<io::JobResponse>& response,
                                          core::JobLog& log) {
  std::optional<std::chrono::seconds> timeout;
  if (response && response->timeout_seconds) {
    timeout = std::chrono::seconds{*response->timeout_seconds};
  } else {
    timeout = gl::parse_job_timeout(env_or("CUSTOM_ENV_CI_JOB_TIMEOUT"));
  }
  if (!timeout) return std::nullopt;
  const auto left = std::chrono::duration<double>(state.started_unix + static_cast<double>(timeout->count()) - unix_now());
  log.info("job deadline: " + std::to_string(timeout->count()) + "s job timeout, " +
           policy::format_seconds(left.count()) + " left (GitLab's own timeout ends the job then)");
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

// Reports under $TMPDIR (jobwarden's own) and, when the job asks with
// JOBWARDEN_REPORT, beneath the project. A report that cannot be written is
// one warning; it never changes the verdict. Secrets are masked in it.
void write_reports(const io::ReportInput& in, const Project& project, const core::StepUser* user,
                   const core::Redactor& secrets, core::JobLog& log) {
  const std::string text = secrets.redact(io::render_report(in));
  const std::string tmpdir = env_or("TMPDIR", "/tmp");
  for (const std::string& path : {tmpdir + "/jobwarden-report.json", tmpdir + "/jobwarden-report-" + in.step + ".json"}) {
    if (auto w = platform::write_file_atomically(path, text); !w) log.warn("could not write a report: " + w.error());
  }
  const std::string wanted = env_or("CUSTOM_ENV_JOBWARDEN_REPORT");
  if (wanted.empty() || !project.fd.valid()) return;
  const platform::ActingAs as(user);  // with the step user's rights, owned by that user
  if (auto w = platform::write_file_atomically_beneath(project.fd.get(), wanted, text); !w) {
    log.warn("JOBWARDEN_REPORT refused or not written (it must name a file inside the project): " +
             policy::printable(w.error(), 300));
  }
}

gl::DriverExit bad_policy(const PolicySource& src, gl::StageKind kind, core::JobLog& log) {
  for (const auto& e : src.loaded.errors) log.error("policy: " + e.to_string());
  const gl::DriverExit answer = kind == gl::StageKind::user ? gl::driver_exit_bad_policy() : gl::driver_exit_internal();
  log.verdict(policy::Action::fail, "verdict: not started: the policy " + src.label() + " is invalid; " +
                                        (kind == gl::StageKind::user ? "build failure with code 78"
                                                                     : "system failure (admin policy)"));
  return answer;
}

// With run_as, the runner's files must be reachable by the step user: the
// stage script becomes the user's, the job's temporary directory (the
// runner's, mode 0700) and the script's directory become traversable, and a directory of the user's own
// under it is the step's TMPDIR.
core::Status<std::string> hand_stage_to(const core::StepUser& user, const std::string& script,
                                        const std::string& tmpdir, core::SpawnRequest& spawn) {
  const std::string own_tmp = tmpdir + "/jobwarden/tmp-" + user.name;
  const std::string script_dir = script.substr(0, script.rfind('/') == std::string::npos ? 0 : script.rfind('/'));
  for (auto status : {platform::make_traversable(tmpdir), platform::make_traversable(tmpdir + "/jobwarden"),
                      platform::make_traversable(script_dir.empty() ? "." : script_dir),
                      platform::prepare_directory_for(own_tmp, user), platform::give_file_to(script, user)}) {
    if (!status) return status;
  }
  run_spawn_as(spawn, user);
  spawn.extra_env.push_back("TMPDIR=" + own_tmp);
  return core::Ok{};
}

gl::DriverExit not_started_system_failure(const std::string& why, core::JobLog& log) {
  log.verdict(policy::Action::system_failure, "verdict: system_failure: not started: " + why + "; exit code 2");
  return gl::driver_exit_internal();
}

}  // namespace

gl::DriverExit run_gitlab_stage(const policy::AdminConfig& admin, const std::string& script,
                                const std::string& stage) {
  const auto dialect = adapters::make_gitlab_custom_executor_dialect();
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, false);
  const auto response = read_job_response(env_or("JOB_RESPONSE_FILE"));
  const core::Redactor secrets =
      collect_secrets(admin, response ? response->masked_values : std::vector<std::string>{}, &log);
  log.set_redactor(&secrets);
  log.set_colour(adapters::colour_wanted(adapters::ColourMode::automatic, env_lookup, true, false,
                                         "CUSTOM_ENV_NO_COLOR"));
  const gl::StageInfo info = gl::classify_stage(stage);
  if (!info.known) log.info("stage '" + stage + "' is not one jobwarden knows: treated as a runner stage");
  const auto run_as = resolve_run_as(admin);
  if (!run_as) return not_started_system_failure(run_as.error(), log);
  const core::StepUser* user = *run_as ? &**run_as : nullptr;
  Project project;
  PolicySource src = [&] {
    const platform::ActingAs as(user);  // the repository is read with the step user's rights
    if (info.kind == gl::StageKind::user) project = trusted_project(admin, log);
    return stage_policy(admin, info.kind, project);
  }();
  if (!src.loaded.ok()) return bad_policy(src, info.kind, log);
  policy::Policy& policy = *src.loaded.policy;
  for (const auto& line : policy::apply_ceilings(admin, policy)) log.warn(line);
  const KillSwitches switches = kill_switches(admin);
  announce_kill_switches(switches, log);
  const OperationSwitches operations = operation_switches(admin);
  announce_operation_switches(operations, log);
  log.info("policy: " + src.label());

  const std::string tmpdir = env_or("TMPDIR", "/tmp");
  JobStateLoad job = load_or_create_job_state(tmpdir, response);
  if (!job.recorded) log.warn("cannot record the job state: " + job.recorded.error());
  io::GitlabJobState& state = job.state;

  const policy::StepSettings& settings = policy.settings_for(stage);
  core::StepRequest request;
  request.step = stage;
  std::string first_line;
  std::getline(std::ifstream(script), first_line);
  request.spawn.argv = gl::script_command(script, first_line);
  request.spawn.extra_env = {std::string(k_job_cookie_variable) + "=" + state.cookie};
  if (user != nullptr) {
    if (auto handed = hand_stage_to(*user, script, tmpdir, request.spawn); !handed) {
      return not_started_system_failure("cannot prepare the stage for run_as user " + user->name + ": " + handed.error(), log);
    }
  }
  set_attempt_settings(request, settings, {}, admin, switches, log);
  request.deadline = job_deadline(state, response, log);
  // Before the first attempt: where its cgroups go, for `gitlab cleanup`.
  const auto record = [&](const platform::LeafPlacement& placement) {
    if (auto r = record_job_cgroups(tmpdir, state, placement); !r) {
      log.warn("cannot record the step's cgroups for cleanup: " + r.error());
    }
  };
  const auto result = execute_step(request, policy, admin, log, record);
  if (!result) return gl::driver_exit_internal();
  write_reports({stage, request.spawn.argv, dialect->name(), src.label(), src.text, &*result}, project, user,
                secrets, log);
  const bool stage_known = info.known || policy.steps.count(stage) != 0;
  publish_step({&admin, operations, dialect->name(), stage, stage_known, tmpdir + "/jobwarden/alert-sent", &secrets},
               *result, log);
  if (result->attempts.empty() || result->attempts.back().ending.start_failed) {
    // The runner wrote the script: failing to start it is the host's fault, not the project's.
    log.warn("the runner's script could not be started: a system failure, not a build failure; exit code 2");
    return gl::driver_exit_internal();
  }
  return gl::driver_exit(result->action, result->step_exit_code);
}

}  // namespace jobwarden::cli
