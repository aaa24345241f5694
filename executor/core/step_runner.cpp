#include "executor/core/step_runner.hpp"

#include <algorithm>

#include "executor/core/ci_dialect.hpp"
#include "executor/core/job_log.hpp"
#include "executor/core/log_lines.hpp"
#include "executor/core/result_masking.hpp"
#include "policy/duration.hpp"
#include "policy/printable.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::core {
namespace {

policy::AttemptFacts facts_of(const AttemptRecord& r) {
  policy::AttemptFacts f;
  f.outcome = r.outcome;
  f.exit_code = r.ending.exit_code;
  f.signal = r.ending.term_signal;
  f.starved = r.starvation.starved;
  f.duration = std::chrono::duration_cast<policy::Duration>(
      std::chrono::duration<double>(r.run_seconds));
  f.output_tail = r.usage.output_tail;
  f.cancel_arrived = r.cancel_signal != 0;
  f.starved_before_job_deadline = r.starved_before_job_deadline;
  return f;
}

Millis retry_time_spent(const StepResult& result) {
  Millis spent{0};
  for (const auto& b : result.backoffs) spent += b;
  for (std::size_t i = 1; i < result.attempts.size(); ++i) {
    spent += std::chrono::duration_cast<Millis>(
        std::chrono::duration<double>(result.attempts[i].total_seconds));
  }
  return spent;
}

std::string decision_line(const policy::Decision& d) {
  if (d.retry) return "decision: retry after " + policy::format_duration(d.backoff) + " (" + d.reason + ")";
  return "decision: " + std::string(policy::to_string(d.action)) + " (" + d.reason + ")";
}

}  // namespace

std::string section_id(const std::string& step, int attempt) {
  return "jobwarden_" + policy::name_safe(step) + "_a" + std::to_string(attempt);
}

StepResult StepRunner::run(const StepRequest& request, const policy::Policy& policy) {
  StepResult result;
  AttemptSupervisor supervisor(m_runner, m_clock, m_log);
  const int max_attempts = request.retries_enabled ? policy.max_attempts(request.step) : 1;
  std::vector<policy::AttemptFacts> history;
  // The step's name and command as shown: secrets masked before they are
  // quoted, escaped or turned into a section id (JobLog::masked).
  const std::string shown_step = m_log.masked(request.step);
  std::vector<std::string> shown_argv;
  for (const std::string& arg : request.spawn.argv) shown_argv.push_back(m_log.masked(arg));
  for (int number = 1;; ++number) {
    const std::string id = section_id(shown_step, number);
    const std::string header = attempt_header(shown_step, number, max_attempts, request.settings, shown_argv);
    const std::string start = m_log.dialect().section_start(id, "jobwarden: " + policy::printable(header), m_clock.wall_now());
    if (start.empty()) m_log.info(header);
    m_log.raw_marker(start);

    result.attempts.push_back(supervisor.run(request.spawn, settings_for_attempt(request), number));
    const AttemptRecord& rec = result.attempts.back();
    m_log.raw_marker(m_log.dialect().section_end(id, m_clock.wall_now()));
    m_log.info(attempt_summary(rec, max_attempts, m_log.redactor()));

    history.push_back(facts_of(rec));
    policy::DecisionContext ctx;
    ctx.step = request.step;
    ctx.retries_enabled = request.retries_enabled;
    ctx.retry_time_spent = retry_time_spent(result);
    ctx.jitter_sample = m_jitter;
    if (request.deadline) {
      ctx.time_to_job_deadline = std::chrono::duration_cast<Millis>(*request.deadline - m_clock.now());
    }
    const policy::Decision decision = policy::decide(policy, ctx, history);
    history.back().matched_rule = decision.rule;
    m_log.info(decision_line(decision));
    result.decisions.push_back(decision);
    if (rec.cancel_signal != 0) result.cancel_signal = rec.cancel_signal;
    if (!decision.retry) {
      result.backoffs.push_back(Millis{0});
      break;
    }
    if (sleep_backoff(result, decision.backoff) == BackoffEnd::cancelled) break;
  }
  settle(result, request);
  // Decided on the real text; everything that renders the result from here on
  // sees it masked (result_masking.hpp).
  if (m_log.redactor() != nullptr) mask_step_result(result, *m_log.redactor());
  return result;
}

AttemptSettings StepRunner::settings_for_attempt(const StepRequest& request) {
  AttemptSettings s = request.settings;
  s.job_deadline = request.deadline;
  return s;
}

// Sleeps the backoff through the runner (a cancel ends it at once) and records
// how long it lasted.
StepRunner::BackoffEnd StepRunner::sleep_backoff(StepResult& result, Millis backoff) {
  const MonoTime from = m_clock.now();
  const MonoTime until = from + backoff;
  for (;;) {
    const RunnerEvent ev = m_runner.wait(until);
    if (ev.kind == RunnerEvent::Kind::cancel_requested) {
      result.backoffs.push_back(std::chrono::duration_cast<Millis>(m_clock.now() - from));
      result.cancel_signal = ev.cancel_signal;
      m_log.warn((ev.parent_died ? std::string("jobwarden's parent process died (the CI agent is gone)")
                                 : "received " + policy::signal_name(ev.cancel_signal)) +
                 " during the backoff: no further attempt");
      return BackoffEnd::cancelled;
    }
    if (m_clock.now() >= until) break;
  }
  result.backoffs.push_back(backoff);
  return BackoffEnd::slept;
}

void StepRunner::settle(StepResult& result, const StepRequest& request) {
  const AttemptRecord& last = result.attempts.back();
  const policy::Decision& decision = result.decisions.back();
  result.step_exit_code = last.step_exit_code;
  result.action = decision.action;
  result.reason = decision.reason;
  if (decision.retry) {  // the backoff was cut short by a cancel
    result.action = decision.if_cancelled;
    result.reason = "cancelled during the backoff before attempt " +
                    std::to_string(result.attempts.size() + 1);
    result.step_exit_code = 128 + result.cancel_signal;
  }
  result.exit_code = m_log.dialect().exit_code(result.action, result.step_exit_code);
  const std::string attempts = std::to_string(result.attempts.size()) +
                               (result.attempts.size() == 1 ? " attempt" : " attempts");
  const std::string text = "step '" + request.step + "': " +
                           std::string(policy::to_string(last.outcome)) + " after " + attempts +
                           " (" + result.reason + ")";
  m_log.raw_marker(m_log.dialect().annotation(result.action, "jobwarden: " + policy::printable(m_log.masked(text))));
  m_log.verdict(result.action, "verdict: " + std::string(policy::to_string(result.action)) + ": " + text +
                                   "; " + m_log.dialect().describe_exit(result.action, result.step_exit_code));
}

}  // namespace jobwarden::core
