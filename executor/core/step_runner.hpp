#pragma once
// The attempt loop of one step: run an attempt, ask the policy what follows,
// sleep the backoff (a cancel ends it at once), and settle the final action
// and exit code in the CI's dialect.

#include <functional>
#include <string>
#include <vector>

#include "executor/core/attempt.hpp"
#include "policy/decide.hpp"
#include "policy/model.hpp"

namespace jobwarden::core {

class JobLog;

struct StepRequest {
  std::string step = "default";
  SpawnRequest spawn;
  AttemptSettings settings;    // resolved: command line over policy over defaults
  bool retries_enabled = true;
  // The CI job's own deadline (GitLab's job timeout), which the CI enforces
  // itself. No retry starts that cannot finish before it (judged by the
  // previous attempt's duration); a running attempt is never cut short to
  // pre-empt it, except a starved one, a grace before it (AttemptSettings).
  std::optional<MonoTime> deadline;
};

struct StepResult {
  std::vector<AttemptRecord> attempts;
  std::vector<policy::Decision> decisions;  // one per attempt
  std::vector<Millis> backoffs;             // slept after attempt k (0 for the last)
  policy::Action action = policy::Action::pass;
  std::string reason;                       // why the final action
  int step_exit_code = 0;                   // what the step itself returned last
  int exit_code = 0;                        // what jobwarden exits with (dialect-mapped)
  int cancel_signal = 0;                    // non-zero when the CI cancelled us
};

class StepRunner {
 public:
  // `jitter` returns a uniform sample in [-1, 1] for backoff jitter.
  StepRunner(ProcessRunner& runner, const Clock& clock, JobLog& log, std::function<double()> jitter)
      : m_runner(runner), m_clock(clock), m_log(log), m_jitter(std::move(jitter)) {}

  StepResult run(const StepRequest& request, const policy::Policy& policy);

 private:
  enum class BackoffEnd { slept, cancelled };
  BackoffEnd sleep_backoff(StepResult& result, Millis backoff);
  AttemptSettings settings_for_attempt(const StepRequest& request);
  void settle(StepResult& result, const StepRequest& request);

  ProcessRunner& m_runner;
  const Clock& m_clock;
  JobLog& m_log;
  std::function<double()> m_jitter;
};

// "build.x y" -> "jobwarden_build_x_y_a2": GitLab accepts [a-zA-Z0-9_.-] in section names.
std::string section_id(const std::string& step, int attempt);

}  // namespace jobwarden::core
