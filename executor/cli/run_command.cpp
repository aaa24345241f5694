#include "executor/cli/run_command.hpp"

#include "executor/cli/ci_extras.hpp"
#include "executor/cli/operations.hpp"
#include "executor/cli/policy_source.hpp"
#include "executor/core/job_log.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/safe_files.hpp"
#include "executor/platform/step_user.hpp"

namespace jobwarden::cli {
namespace {

// Command line over policy; both within the admin's ceilings (clamps are logged).
// A bad policy stops the run before anything is started (exit 78).
bool policy_usable(const PolicySource& src, core::JobLog& log) {
  if (src.loaded.ok()) return true;
  for (const auto& e : src.loaded.errors) log.error("policy: " + e.to_string());
  log.verdict(policy::Action::fail, "verdict: not started: the policy " + src.label() + " is invalid (" +
                                        std::to_string(src.loaded.errors.size()) + " errors); exit code " +
                                        std::to_string(adapters::k_exit_config));
  return false;
}

// A step that cannot be run as the admin wants (run_as names no user): the
// host's fault, a system failure, before anything is started.
int not_started_system_failure(const std::string& why, core::JobLog& log) {
  const int code = log.dialect().exit_code(policy::Action::system_failure, 0);
  log.verdict(policy::Action::system_failure, "verdict: system_failure: not started: " + why + "; exit code " + std::to_string(code));
  return code;
}

}  // namespace

int run_command(const RunOptions& o) {
  const auto dialect = adapters::make_dialect(o.ci);
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, o.quiet);
  log.set_colour(adapters::colour_wanted(o.colour, env_lookup, dialect->renders_colour(), platform::is_terminal(2)));
  const auto admin = load_admin_or_report(o.admin_config);
  if (!admin) return adapters::k_exit_config;
  const core::Redactor secrets = collect_secrets(*admin, {}, &log);
  log.set_redactor(&secrets);
  const auto user = resolve_run_as(*admin);
  if (!user) return not_started_system_failure(user.error(), log);
  PolicySource src = [&] {
    const platform::ActingAs as(*user ? &**user : nullptr);  // the policy is read with the step user's rights
    return load_policy_source(o.policy_file);
  }();
  if (!policy_usable(src, log)) return adapters::k_exit_config;
  policy::Policy& policy = *src.loaded.policy;
  for (const auto& line : policy::apply_ceilings(*admin, policy)) log.warn(line);
  const KillSwitches switches = kill_switches(*admin);
  announce_kill_switches(switches, log);
  const OperationSwitches operations = operation_switches(*admin);
  announce_operation_switches(operations, log);
  log.info("policy: " + src.label());

  core::StepRequest request;
  request.step = o.step;
  request.spawn.argv = o.command;
  if (*user) run_spawn_as(request.spawn, **user);
  set_attempt_settings(request, policy.settings_for(o.step), {o.timeout, o.grace}, *admin, switches, log);
  fit_settings_to_ci(o.ci, request.settings, log);
  const auto result = execute_step(request, policy, *admin, log);
  if (!result) return adapters::k_exit_internal;
  if (!o.report_file.empty()) {
    const io::ReportInput in{o.step, o.command, dialect->name(), src.label(), src.text, &*result};
    // The verdict stands whatever happens to the report (full disk, read-only file system).
    const auto written = platform::write_file_atomically(o.report_file, secrets.redact(io::render_report(in)));
    if (!written) log.warn("could not write the report: " + written.error());
  }
  if (!o.junit_file.empty()) write_junit(o.junit_file, o.step, *result, secrets, log);
  publish_to_ci(o.ci, o.step, *result, secrets, log);
  const bool step_known = o.step == "default" || policy.steps.count(o.step) != 0;
  publish_step({&*admin, operations, dialect->name(), o.step, step_known, "", &secrets}, *result, log);
  return result->exit_code;
}

}  // namespace jobwarden::cli
