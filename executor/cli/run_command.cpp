#include "executor/cli/run_command.hpp"

#include "executor/cli/policy_source.hpp"
#include "executor/core/job_log.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::cli {
namespace {

core::AttemptSettings attempt_settings(const RunOptions& o, const policy::StepSettings& s) {
  core::AttemptSettings a;
  a.timeout = o.timeout.value_or(s.timeout);
  a.grace = o.grace.value_or(s.grace);
  a.tree_kill = o.switches.tree_kill.on;
  a.starvation_enabled = o.switches.starvation.on;
  a.starvation = s.starvation;
  return a;
}

// A bad policy stops the run before anything is started (exit 78).
bool policy_usable(const PolicySource& src, core::JobLog& log) {
  if (src.loaded.ok()) return true;
  for (const auto& e : src.loaded.errors) log.warn("policy error: " + e.to_string());
  log.verdict("verdict: not started: the policy " + src.label() + " is invalid (" +
              std::to_string(src.loaded.errors.size()) + " errors); exit code " +
              std::to_string(adapters::k_exit_config));
  return false;
}

}  // namespace

int run_command(const RunOptions& o) {
  const auto dialect = adapters::make_dialect(o.ci);
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, o.quiet);
  const PolicySource src = load_policy_source(o.policy_file);
  if (!policy_usable(src, log)) return adapters::k_exit_config;
  const policy::Policy& policy = *src.loaded.policy;
  announce_kill_switches(o.switches, log);
  log.info("policy: " + src.label());

  core::StepRequest request;
  request.step = o.step;
  request.spawn.argv = o.command;
  request.settings = attempt_settings(o, policy.settings_for(o.step));
  request.retries_enabled = o.switches.retry.on;
  const auto result = execute_step(request, policy, log);
  if (!result) return adapters::k_exit_internal;
  if (!o.report_file.empty()) {
    const io::ReportInput in{o.step, o.command, dialect->name(), src.label(), src.text, &*result};
    const std::string error = io::write_atomically(o.report_file, io::render_report(in));
    if (!error.empty()) log.warn("could not write the report: " + error);
  }
  return result->exit_code;
}

}  // namespace jobwarden::cli
