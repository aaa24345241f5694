#include "executor/cli/run_command.hpp"

#include <random>

#include "executor/core/job_log.hpp"
#include "executor/core/step_runner.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/linux_process_runner.hpp"
#include "executor/platform/system_clock.hpp"
#include "policy/model.hpp"

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

}  // namespace

int run_command(const RunOptions& o) {
  const auto dialect = adapters::make_dialect(o.ci);
  platform::FdSink log_sink(2), marker_sink(1);
  core::JobLog log(log_sink, marker_sink, *dialect, o.quiet);
  announce_kill_switches(o, log);

  const policy::Policy policy = policy::embedded_default_policy();
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
  request.spawn.tree_kill = o.tree_kill;
  request.settings = attempt_settings(o, policy.settings_for(o.step));
  request.retries_enabled = o.retry;

  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  platform::SystemClock clock;
  core::StepRunner step_runner(**runner, clock, log, [&] { return uniform(rng); });
  const core::StepResult result = step_runner.run(request, policy);
  return result.exit_code;
}

}  // namespace jobwarden::cli
