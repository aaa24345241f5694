// The embedded default policy, defined once as the YAML a user can copy
// (`jobwarden policy default` prints it) and loaded by the ordinary loader:
// at build time, where jw-default-policy-codegen turns it into
// prebuilt_default_policy() (policy/prebuild/), and by the tests.

#include <string_view>

#include "policy/loader.hpp"
#include "policy/model.hpp"

namespace jobwarden::policy {
namespace {

constexpr std::string_view k_default_policy_yaml =
    R"yaml(# jobwarden policy (.jobwarden.yml) -- the embedded default.
# jobwarden uses this policy when the repository has none. It is deliberately
# conservative: a red step fails, a timeout caused by CPU starvation is retried
# once and then reported as a system failure, an OOM kill is a system failure,
# everything else fails. Copy it to .jobwarden.yml and adapt it.
# Full reference: docs/policy.md.

# The policy format's version (required). This jobwarden reads version 1.
version: 1

# Settings for every step; `steps:` below can override them per step.
defaults:
  # Wall-clock limit of ONE attempt. Durations: 500ms, 90s, 15m, 1h30m.
  timeout: 30m
  # When the timeout expires (or the CI cancels), the whole process tree gets
  # SIGTERM, then SIGKILL after this grace period.
  grace: 10s
  # Sleep before a retry: initial * factor^(retry - 1), capped at max, then
  # varied by +- jitter (a fraction) so that parallel jobs do not retry in step.
  backoff:
    initial: 5s
    factor: 2       # >= 1
    max: 1m
    jitter: 0.2     # 0 to 1
  # A timed-out attempt is "starved" when BOTH hold over the attempt:
  starvation:
    # its tasks waited runnable-but-not-running for at least this fraction of
    # the wall time (something else had the CPUs)...
    cpu_wait: 0.25
    # ...and it got less than this fraction of the CPUs it may use.
    cpu_share: 0.5

# Checked in order after every attempt that did not succeed; the first rule
# whose `when` conditions ALL hold decides. A condition given as a list
# matches any of its elements; an absent condition matches anything.
#   when keys: outcome (red timeout oom signal cancelled error), exit_codes,
#              signals (SIGKILL, KILL or 9), output (RE2 pattern searched in the
#              attempt's output tail), step, starved (true/false),
#              min_duration, max_duration
#   retry: N   attempts in total while this rule keeps matching (1 to 10)
#   then:      what the CI is told when they run out:
#              pass | fail | unstable | system_failure (default: fail)
rules:
  # The host, not the step, was at fault: try once more, then hand the job
  # back to the CI as an infrastructure failure (it may run it elsewhere).
  - name: starved-timeout
    when: {outcome: timeout, starved: true}
    retry: 2
    then: system_failure
  # An example of a rule for a known flaky error (not part of the default):
  # - name: dpkg-lock
  #   when: {outcome: red, exit_codes: [100], output: 'Could not get lock'}
  #   retry: 3
  #   then: system_failure

# What happens when no rule matched, by outcome. Outcomes left out keep these
# built-in values.
fallback:
  red: fail             # the step exited non-zero
  timeout: fail         # our timeout expired (and the host did not starve it)
  oom: system_failure   # the kernel OOM killer killed part of the step
  signal: fail          # the step died of a signal jobwarden did not send
  error: fail           # the step could not be started
  cancelled: fail       # the CI cancelled the job (never retried)

# A step that passed only after a retry: pass | unstable | fail.
flaky: pass

# Hard bounds, whatever the rules say.
limits:
  max_attempts: 5       # attempts in total for one step (1 to 10)
  max_retry_time: 30m   # backoff plus retried attempts, in total

# Per-step overrides of `defaults` (and of `fallback`), by step name: a GitLab
# stage name (build_script, after_script...) or the value of --step.
# steps:
#   build_script: {timeout: 45m}
#   after_script: {timeout: 5m, fallback: {timeout: pass, red: pass}}
)yaml";

// What a broken embedded text would leave us with: everything fails (the
// unit tests make sure this is never used).
Policy fail_safe_policy() {
  Policy p;
  p.source = "embedded default";
  p.defaults.fallback = builtin_fallback();
  return p;
}

}  // namespace

std::string_view embedded_default_policy_yaml() { return k_default_policy_yaml; }

LoadResult load_embedded_default_policy() {
  return load_policy(k_default_policy_yaml, "embedded default");
}

Policy embedded_default_policy() {
  static const Policy k_policy = [] {
    LoadResult loaded = load_embedded_default_policy();
    return loaded.policy ? std::move(*loaded.policy) : fail_safe_policy();
  }();
  return k_policy;
}

}  // namespace jobwarden::policy
