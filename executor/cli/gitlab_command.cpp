#include "executor/cli/gitlab_command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "adapters/gitlab/custom_executor.hpp"
#include "executor/cli/gitlab_run.hpp"
#include "executor/cli/job_state_file.hpp"
#include "executor/cli/operations.hpp"
#include "executor/cli/step_execution.hpp"
#include "executor/io/gitlab_job.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/host_facts.hpp"
#include "executor/platform/cgroup_containment.hpp"
#include "executor/platform/job_sweeper.hpp"
#include "executor/platform/leaf_sweeper.hpp"
#include "executor/platform/safe_files.hpp"
#include "executor/platform/step_user.hpp"
#include "policy/admin_config.hpp"
#include "policy/printable.hpp"

namespace jobwarden::cli {
namespace {

namespace gl = adapters::gitlab;

// Host problems exit 2 so that the runner retries preparation (and never 1:
// that would blame the user's script).
int host_fault(const std::string& what) {
  std::cerr << "jobwarden: host fault: " << what << "\n";
  return gl::k_system_failure;
}

// `dir` exists (or was created) and a file can be created in it, or why not.
core::Status<std::string> check_writable_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::unexpected("cannot create " + dir + ": " + ec.message());
  const std::string probe = dir + "/.jobwarden-probe";
  if (auto w = platform::write_file_atomically(probe, "probe\n"); !w) {
    return core::unexpected(dir + " is not writable: " + w.error());
  }
  fs::remove(probe, ec);
  return core::Ok{};
}

// What config and prepare both do first: the admin configuration, and the
// job's state recorded under $TMPDIR (whichever call comes first writes it).
// The admin configuration, or the exit code of the host fault.
core::Result<policy::AdminConfig, int> load_admin_and_record_job(const GitlabArgs& args) {
  auto admin = load_admin_or_report(args.admin_config);
  if (!admin) return core::unexpected(host_fault("the admin configuration is invalid"));
  const JobStateLoad job =
      load_or_create_job_state(env_or("TMPDIR", "/tmp"), read_job_response(env_or("JOB_RESPONSE_FILE")));
  if (!job.recorded) return core::unexpected(host_fault(job.recorded.error()));
  return std::move(*admin);
}

// With run_as, the slot's builds directory and the cache directory belong to
// that user (every stage, get_sources included, runs as the user), or what
// went wrong.
core::Status<std::string> prepare_dirs_for_run_as(const policy::AdminConfig& admin,
                                                  const std::vector<std::string>& dirs) {
  const auto user = resolve_run_as(admin);
  if (!user) return core::unexpected(user.error());
  if (!*user) return core::Ok{};
  for (const std::string& dir : dirs) {
    if (auto prepared = platform::prepare_directory_for(dir, **user); !prepared) return prepared;
  }
  return core::Ok{};
}

// Who the steps run as, for the banner: a warning when that is root.
std::string run_as_banner(const policy::AdminConfig& admin) {
  const auto user = resolve_run_as(admin);
  if (user && *user) {
    const core::StepUser& u = **user;
    return "steps run as " + u.name + " (uid " + std::to_string(u.uid) + ", gid " + std::to_string(u.gid) + ")";
  }
  if (platform::effective_uid() == 0) {
    return "WARNING: steps run as root: set run_as in the admin configuration to run them as an unprivileged user";
  }
  return "steps run as uid " + std::to_string(platform::effective_uid()) + " (jobwarden's own)";
}

}  // namespace

int gitlab_config(const GitlabArgs& args) {
  const auto admin = load_admin_and_record_job(args);
  if (!admin) return admin.error();
  const std::string builds_dir =
      admin->builds_dir_is_shared
          ? admin->builds_dir
          : gl::slot_builds_dir(admin->builds_dir, env_or("CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN"),
                                env_or("CUSTOM_ENV_CI_CONCURRENT_ID"));
  for (const std::string& dir : {builds_dir, admin->cache_dir}) {
    if (const auto writable = check_writable_dir(dir); !writable) return host_fault(writable.error());
  }
  if (const auto prepared = prepare_dirs_for_run_as(*admin, {builds_dir, admin->cache_dir}); !prepared) {
    return host_fault(prepared.error());
  }
  std::cout << io::render_config_output(builds_dir, admin->cache_dir, admin->builds_dir_is_shared,
                                        platform::host_name(), JOBWARDEN_VERSION)
            << std::flush;
  return std::cout ? 0 : gl::k_system_failure;
}

int gitlab_prepare(const GitlabArgs& args) {
  const auto admin = load_admin_and_record_job(args);
  if (!admin) return admin.error();
  if (const auto writable = check_writable_dir(admin->builds_dir); !writable) return host_fault(writable.error());
  const auto run_as = resolve_run_as(*admin);
  if (!run_as) return host_fault(run_as.error());
  const std::string cgroup = platform::cgroup2_mount_point();
  std::cout << "jobwarden " << JOBWARDEN_VERSION << " on " << platform::host_name() << ": tree kill "
            << (admin->tree_kill ? "on" : "OFF") << ", retries " << (admin->retry ? "on" : "OFF")
            << ", starvation detection " << (admin->starvation ? "on" : "OFF") << "\n"
            << "jobwarden: evidence: schedstat " << (platform::schedstat_available() ? "yes" : "NO")
            << ", PSI " << (platform::cpu_pressure_some_us() ? "yes" : "NO") << ", cgroup v2 "
            << (cgroup.empty() ? std::string("not mounted") : "at " + cgroup) << "; admin configuration "
            << admin->source << "\n"
            << "jobwarden: " << run_as_banner(*admin) << "\n"
            << std::flush;
  return 0;
}

namespace {

// What cleanup killed and what survived it. A command line is the process's
// own text: the job's secrets masked, then escaped (policy::printable), so a
// left-behind process cannot forge lines in the runner's log.
void report_swept(const std::vector<core::ProcessInfo>& killed, const std::vector<core::ProcessInfo>& survivors,
                  const core::Redactor& secrets) {
  const auto shown = [&secrets](const core::ProcessInfo& p) {
    return std::to_string(p.pid) + " `" + policy::printable(secrets.redact(p.command)) + "`";
  };
  for (const auto& p : killed) std::cerr << "jobwarden: cleanup: killed " << shown(p) << " left behind by the job\n";
  for (const auto& p : survivors) std::cerr << "jobwarden: warning: cleanup: " << shown(p) << " survived SIGKILL\n";
}

// The cgroups recorded in the job's state (untrusted: see leaf_sweeper.hpp):
// only leaves where we would make them ourselves, jobwarden-shaped, of a
// jobwarden that is gone.
int cleanup_recorded_cgroups(const platform::LeafPlacement& ours, const std::vector<io::RecordedCgroups>& recorded,
                             const core::Redactor& secrets) {
  for (const auto& r : recorded) {
    const auto sweep = platform::sweep_recorded_leaves(ours, r.pid, r.v2_parent, std::chrono::seconds(5));
    if (!sweep.refused.empty()) {
      std::cerr << "jobwarden: warning: cleanup: refused the recorded cgroups of pid " << r.pid << " under "
                << policy::printable(r.v2_parent, 300) << ": " << sweep.refused << "\n";
      continue;
    }
    report_swept(sweep.killed, sweep.survivors, secrets);
    for (const auto& dir : sweep.removed) std::cerr << "jobwarden: cleanup: removed cgroup " << dir << "\n";
    for (const auto& dir : sweep.owned) {
      std::cerr << "jobwarden: warning: cleanup: left cgroup " << dir
                << " alone: a running jobwarden or its guardian still owns it\n";
    }
  }
  return 0;
}

}  // namespace

int gitlab_cleanup(const GitlabArgs& args) {
  // Never fails the job: warnings only (they go to the runner's log). The
  // processes' command lines are shown with the job's secrets masked (an
  // invalid admin configuration still leaves GitLab's masked variables).
  const auto loaded = policy::load_admin_config_file(args.admin_config.empty() ? policy::k_default_admin_config_path
                                                                               : args.admin_config);
  const auto response = read_job_response(env_or("JOB_RESPONSE_FILE"));
  const core::Redactor secrets = collect_secrets(loaded.ok() ? *loaded.config : policy::AdminConfig{},
                                                 response ? response->masked_values : std::vector<std::string>{},
                                                 nullptr);
  const auto state = read_job_state(env_or("TMPDIR", "/tmp"));
  if (!state) {
    std::cerr << "jobwarden: cleanup: no job state under $TMPDIR; nothing to do\n";
    return 0;
  }
  if (!state->cgroups.empty()) {
    const auto placement = platform::current_leaf_placement(loaded.ok() ? loaded.config->cgroup_parent : "");
    if (placement) return cleanup_recorded_cgroups(*placement, state->cgroups, secrets);
    std::cerr << "jobwarden: warning: cleanup: the job's steps ran in cgroups, but none can be reached here ("
              << placement.error() << "): falling back to the environment cookie\n";
  }
  // No cgroup held the job's steps: what they left is found by the cookie in
  // its environment (a process that scrubbed it escapes).
  const auto swept = platform::sweep_marked_processes(std::string(k_job_cookie_variable) + "=" + state->cookie,
                                                      std::chrono::seconds(2), std::chrono::seconds(5));
  report_swept(swept.terminated, swept.survivors, secrets);
  return 0;
}

int gitlab_run(const GitlabArgs& args) {
  const std::string exit_file = env_or("BUILD_EXIT_CODE_FILE");
  std::error_code ec;
  if (!exit_file.empty()) std::filesystem::remove(exit_file, ec);  // never let a stale code be re-read
  const auto admin = load_admin_or_report(args.admin_config);
  if (!admin) return host_fault("the admin configuration is invalid");
  const gl::DriverExit answer = run_gitlab_stage(*admin, args.script, args.stage);
  if (answer.build_exit_code && !exit_file.empty()) {
    const auto written = platform::write_file_atomically(exit_file, std::to_string(*answer.build_exit_code));
    if (!written) return host_fault("cannot write BUILD_EXIT_CODE_FILE: " + written.error());
  }
  return answer.exit_code;
}

}  // namespace jobwarden::cli
