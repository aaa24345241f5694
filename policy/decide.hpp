#pragma once
// The decision engine: after each attempt, what happens next. Pure.
//
// Semantics (docs/policy.md, "How a decision is made"):
//  * success on the first attempt -> pass; success after a retry -> `flaky`.
//  * a cancelled attempt skips the rules: the fallback for `cancelled` applies.
//  * otherwise the first rule whose conditions all hold decides. With
//    `retry: N` the step is re-run while fewer than N consecutive attempts
//    (ending with this one) have matched that rule; then its `then` applies.
//  * no rule matched -> the step's fallback for the outcome (fail if absent).
//  * no retry either when retries are switched off, the attempt cap is
//    reached, or the next backoff would exceed the retry-time budget.
//  * the job's limits come last: a cancel that arrived while the attempt
//    was ending takes the retry away (fail); a retry that cannot finish
//    before the job's deadline is not started (the rule's `then`); an
//    attempt starved a grace before the job's deadline is a system failure.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policy/model.hpp"

namespace jobwarden::policy {

// What the engine needs to know about one finished attempt.
struct AttemptFacts {
  Outcome outcome = Outcome::success;
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool starved = false;
  Duration duration{0};
  std::string_view output_tail;  // the attempt's bounded output tail (must outlive the call)
  std::string matched_rule;  // filled in from the decision about this attempt
  bool cancel_arrived = false;  // the CI cancelled during the attempt (also while it was ending otherwise)
  bool starved_before_job_deadline = false;  // ended by jobwarden, starved, a grace before the job's deadline
};

struct DecisionContext {
  std::string step = "default";
  bool retries_enabled = true;       // admin/env kill-switch
  Duration retry_time_spent{0};      // backoff slept + duration of attempts after the first
  // A uniform sample in [-1, 1] for the backoff's jitter, asked for only when
  // a rule would retry (seeding a generator costs a CPUID probe, a trap to the
  // hypervisor on a VM); none means no jitter. Injected so tests are deterministic.
  std::function<double()> jitter_sample;
  std::optional<Duration> time_to_job_deadline;  // from now; none when the job has no deadline
};

struct Decision {
  bool retry = false;
  Action action = Action::pass;      // final action when !retry
  std::string rule;                  // rule that decided, empty for fallback/success
  std::string reason;                // one phrase for the job log
  Duration backoff{0};               // sleep before the next attempt when retry
  // A retry rule (retry >= 2) ended the step because its attempts, the
  // attempt cap, the retry-time budget or the job's time ran out (not when
  // retries are switched off: then nothing was tried). What alerts and
  // jobwarden_retries_exhausted_total count.
  bool exhausted = false;
  // With retry, what the caller needs should a cancel cut the backoff short
  // (the step's fallback for `cancelled`), so that it never looks into the policy.
  Action if_cancelled = Action::fail;
};

Decision decide(const Policy& policy, const DecisionContext& ctx,
                const std::vector<AttemptFacts>& history);

// initial * factor^(retry_index), capped at max, then scaled by (1 + jitter * sample).
Duration backoff_for(const Backoff& backoff, int retry_index, double jitter_sample);

// Whether the rules are consulted for an attempt of this outcome at all: not
// for a success, nor for a cancel (the CI's decision: only the fallback for
// `cancelled` applies).
bool rules_apply_to(Outcome outcome);

// Whether every condition of `rule`'s `when` holds for the attempt. With
// `why_not`, every condition is checked and one phrase per condition that did
// not hold is appended (`jobwarden policy explain` narrates the engine's own
// matching through it, so the two can never disagree).
bool rule_matches(const Rule& rule, const AttemptFacts& facts, const std::string& step,
                  std::vector<std::string>* why_not = nullptr);

}  // namespace jobwarden::policy
