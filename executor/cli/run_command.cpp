#include "executor/cli/run_command.hpp"

#include <random>

#include "executor/cli/policy_source.hpp"
#include "executor/core/job_log.hpp"
#include "executor/core/step_runner.hpp"
#include "executor/io/report.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/linux_process_runner.hpp"
#include "executor/platform/system_clock.hpp"

namespace jobwarden::cli {
namespace {

core::AttemptSettings attempt_settings(const RunOptions& o, const policy::StepSettings& s) {
  core::AttemptSettings a;
  a.timeout = o.timeout.value_or(s.timeout);
  a.grace = o.grace.value_or(s.grace);
  a.tree_kill = o.tree_kill;
  a.starvation_enabled = o.starvation;
  a.starvation = s.starvation;
  return a;
}

void announce_kill_switches(const RunOptions& o, core::JobLog& log) {
  if (!o.tree_kill) {
    log.warn("tree kill is OFF (JOBWARDEN_TREE_KILL=0): only the step's main process is "
             "signalled and whatever it leaves behind keeps running");
  }
  if (!o.starvation) log.warn("starvation detection is OFF (JOBWARDEN_STARVATION=0)");
  if (!o.retry) log.warn("retries are OFF (JOBWARDEN_RETRY=0): a rule's `then` applies at once");
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

void write_report(const RunOptions& o, const PolicySource& src, const core::CiDialect& dialect,
                  const core::StepResult& result, core::JobLog& log) {
  if (o.report_file.empty()) return;
  io::ReportInput in{o.step, o.command, dialect.name(), src.label(), src.text, &result};
  const std::string error = io::write_atomically(o.report_file, io::render_report(in));
  if (!error.empty()) log.warn("could not write the report: " + error);
}

}  // namespace

int run_command(const RunOptions& o) {
  const auto dialect = adapters::make_dialect(o.ci);
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, o.quiet);
  const PolicySource src = load_policy_source(o.policy_file);
  if (!policy_usable(src, log)) return adapters::k_exit_config;
  const policy::Policy& policy = *src.loaded.policy;
  announce_kill_switches(o, log);
  log.info("policy: " + src.label());

  platform::RunnerOptions runner_options;
  runner_options.subreaper = o.tree_kill;
  auto runner = platform::LinuxProcessRunner::create(runner_options);
  if (!runner) {
    log.warn("internal fault: " + runner.error().message());
    return adapters::k_exit_internal;
  }
  core::StepRequest request;
  request.step = o.step;
  request.spawn.argv = o.command;
  request.settings = attempt_settings(o, policy.settings_for(o.step));
  request.retries_enabled = o.retry;

  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  platform::SystemClock clock;
  core::StepRunner step_runner(**runner, clock, log, [&] { return uniform(rng); });
  const core::StepResult result = step_runner.run(request, policy);
  write_report(o, src, *dialect, result, log);
  return result.exit_code;
}

}  // namespace jobwarden::cli
