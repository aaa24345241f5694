#include "executor/core/result_masking.hpp"

namespace jobwarden::core {
namespace {

void mask_processes(std::vector<ProcessInfo>& procs, const Redactor& secrets) {
  for (ProcessInfo& p : procs) p.command = secrets.redact(p.command);
}

void mask_attempt(AttemptRecord& a, const Redactor& secrets) {
  a.start.error = secrets.redact(a.start.error);
  for (SignalSent& s : a.signals) {
    s.reason = secrets.redact(s.reason);
    mask_processes(s.targets, secrets);
  }
  mask_processes(a.signalled, secrets);
  mask_processes(a.escapees, secrets);
  mask_processes(a.survivors, secrets);
  a.starvation.explanation = secrets.redact(a.starvation.explanation);
  a.usage.containment = secrets.redact(a.usage.containment);
  a.usage.cpu_wait_source = secrets.redact(a.usage.cpu_wait_source);
  // The tail is the output's last bytes: when the output was longer, the
  // first of them may be the end of a secret whose beginning was dropped.
  const bool front_cut = a.usage.output_bytes > a.usage.output_tail.size();
  a.usage.output_tail = front_cut ? secrets.redact_tail(a.usage.output_tail) : secrets.redact(a.usage.output_tail);
}

}  // namespace

void mask_step_result(StepResult& result, const Redactor& secrets) {
  if (secrets.empty()) return;
  for (AttemptRecord& a : result.attempts) mask_attempt(a, secrets);
  for (policy::Decision& d : result.decisions) {
    d.rule = secrets.redact(d.rule);
    d.reason = secrets.redact(d.reason);
  }
  result.reason = secrets.redact(result.reason);
}

}  // namespace jobwarden::core
