#include "policy/decide.hpp"

#include <algorithm>
#include <cmath>

#include "policy/signal_names.hpp"

namespace jobwarden::policy {
namespace {

template <typename T, typename Show>
std::string list_of(const std::vector<T>& values, Show show) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + show(values[i]);
  return out + "]";
}

std::string show_outcome(Outcome o) { return std::string(to_string(o)); }
std::string show_int(int v) { return std::to_string(v); }
std::string show_signal(int v) { return signal_name(v); }
std::string show_string(const std::string& s) { return "'" + s + "'"; }
std::string show_bool(bool b) { return b ? "true" : "false"; }

// Checks one condition a rule's `when` holds: a list matches any element (an
// empty list anything). Appends why it failed to `why_not` when given.
template <typename T, typename Show>
bool list_holds(const std::vector<T>& allowed, const std::optional<T>& value, const char* what, Show show,
                std::vector<std::string>* why_not) {
  if (allowed.empty()) return true;
  if (value && std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return true;
  if (why_not == nullptr) return false;
  if (!value) {
    why_not->push_back("no " + std::string(what) + " (rule wants " + list_of(allowed, show) + ")");
  } else {
    why_not->push_back(std::string(what) + " " + show(*value) + " not in " + list_of(allowed, show));
  }
  return false;
}

// A condition that is not a list: `holds`, else `why` (built only when asked for).
template <typename Why>
bool holds(bool ok, Why why, std::vector<std::string>* why_not) {
  if (!ok && why_not != nullptr) why_not->push_back(why());
  return ok;
}

const Rule* first_match(const Policy& p, const AttemptFacts& f, const std::string& step) {
  for (const auto& rule : p.rules) {
    if (rule_matches(rule, f, step)) return &rule;
  }
  return nullptr;
}

Decision final_action(Action a, std::string rule, std::string reason) {
  Decision d;
  d.action = a;
  d.rule = std::move(rule);
  d.reason = std::move(reason);
  return d;
}

// Why a rule that wants another attempt may not get one; nullopt when it may.
std::optional<std::string> retry_refusal(const Policy& p, const DecisionContext& ctx, const Rule& rule,
                          int matched_so_far, int attempts_so_far) {
  if (rule.retry <= 1) return "no retry";
  if (matched_so_far >= rule.retry) {
    return "rule '" + rule.name + "' matched " + std::to_string(matched_so_far) + "/" +
           std::to_string(rule.retry) + " attempts";
  }
  if (!ctx.retries_enabled) return "retries are switched off";
  if (attempts_so_far >= p.limits.max_attempts) {
    return "attempt cap " + std::to_string(p.limits.max_attempts) + " reached";
  }
  if (ctx.retry_time_spent > p.limits.max_retry_time) {
    return "retry time budget " + format_duration(p.limits.max_retry_time) + " would be exceeded";
  }
  return std::nullopt;
}

double seconds_of(Duration d) { return std::chrono::duration<double>(d).count(); }

// A retry the job cannot hold: a cancel that arrived while the attempt was
// ending, or a deadline too near for another attempt as long as this one
// (at least 1 s) after the backoff. The verdict is then ours, not the CI's
// timeout. nullopt when the retry stands.
std::optional<Decision> job_refuses_retry(const Rule& rule, const DecisionContext& ctx, const AttemptFacts& last,
                                          int next, const Decision& retry) {
  if (last.cancel_arrived) return final_action(Action::fail, rule.name, "cancelled while cleaning up: no further attempt");
  if (!ctx.time_to_job_deadline) return std::nullopt;
  const Duration left = *ctx.time_to_job_deadline - retry.backoff;
  const Duration needs = std::max(last.duration, Duration{1000});
  if (left >= needs) return std::nullopt;
  Decision d = final_action(rule.then, rule.name,
                            "rule '" + rule.name + "': no time left for attempt " + std::to_string(next) +
                                " (needs about " + format_seconds(seconds_of(needs)) + ", " +
                                format_seconds(seconds_of(std::max(left, Duration{0}))) +
                                " left before the job's deadline)");
  d.exhausted = true;  // the job's time ran out for this retry rule
  return d;
}

Decision decide_by_rules(const Policy& p, const DecisionContext& ctx, const std::vector<AttemptFacts>& history);

}  // namespace

bool rules_apply_to(Outcome outcome) { return outcome != Outcome::success && outcome != Outcome::cancelled; }

bool rule_matches(const Rule& rule, const AttemptFacts& f, const std::string& step,
                  std::vector<std::string>* why_not) {
  const Condition& c = rule.when;
  // Every condition is checked even after one failed when the reasons are
  // wanted; otherwise the first failure decides.
  bool ok = list_holds(c.outcomes, std::optional<Outcome>(f.outcome), "outcome", show_outcome, why_not);
  if (!ok && why_not == nullptr) return false;
  ok = list_holds(c.exit_codes, f.exit_code, "exit code", show_int, why_not) && ok;
  ok = list_holds(c.signals, f.signal, "signal", show_signal, why_not) && ok;
  ok = list_holds(c.steps, std::optional<std::string>(step), "step", show_string, why_not) && ok;
  if (!ok && why_not == nullptr) return false;
  ok = holds(!c.starved || *c.starved == f.starved, [&] {
         return "starved is " + show_bool(f.starved) + ", rule wants " + show_bool(c.starved.value_or(false));
       }, why_not) && ok;
  ok = holds(!c.min_duration || f.duration >= *c.min_duration, [&] {
         return "ran " + format_duration(f.duration) + ", below min_duration " + format_duration(*c.min_duration);
       }, why_not) && ok;
  ok = holds(!c.max_duration || f.duration <= *c.max_duration, [&] {
         return "ran " + format_duration(f.duration) + ", above max_duration " + format_duration(*c.max_duration);
       }, why_not) && ok;
  if (!ok && why_not == nullptr) return false;
  // The output search last: the only condition that costs more than a compare.
  return holds(!c.output || c.output->search(f.output_tail),
               [&] { return "output does not match /" + c.output->source() + "/"; }, why_not) && ok;
}

Duration backoff_for(const Backoff& b, int retry_index, double jitter_sample) {
  double ms = static_cast<double>(b.initial.count()) * std::pow(b.factor, retry_index);
  ms = std::min(ms, static_cast<double>(b.max.count()));
  ms *= 1.0 + b.jitter * std::clamp(jitter_sample, -1.0, 1.0);
  return Duration(static_cast<long long>(std::max(ms, 0.0)));
}

Decision decide(const Policy& p, const DecisionContext& ctx, const std::vector<AttemptFacts>& history) {
  Decision d = decide_by_rules(p, ctx, history);
  if (!history.empty() && history.back().starved_before_job_deadline) {
    d.retry = false;
    d.action = Action::system_failure;
    d.reason = "starved a grace before the job's deadline: the host's fault, for the CI to retry elsewhere";
  }
  return d;
}

namespace {

Decision decide_by_rules(const Policy& p, const DecisionContext& ctx, const std::vector<AttemptFacts>& history) {
  if (history.empty()) return final_action(Action::fail, "", "no attempt was made");
  const AttemptFacts& last = history.back();
  const int attempts = static_cast<int>(history.size());
  if (last.outcome == Outcome::success) {
    if (attempts == 1) return final_action(Action::pass, "", "succeeded");
    return final_action(p.flaky, "", "flaky: passed only on attempt " + std::to_string(attempts) +
                                         "; the policy's flaky action is " + std::string(to_string(p.flaky)));
  }
  const StepSettings& settings = p.settings_for(ctx.step);
  // A cancelled step is the CI's decision, not the step's: no rule may retry
  // it or turn it into a pass, only the fallback for `cancelled` applies.
  const Rule* rule = rules_apply_to(last.outcome) ? first_match(p, last, ctx.step) : nullptr;
  if (rule == nullptr) {
    auto it = settings.fallback.find(last.outcome);
    const Action a = it == settings.fallback.end() ? Action::fail : it->second;
    return final_action(a, "", "no rule matched; fallback for " +
                                   std::string(to_string(last.outcome)));
  }
  // "attempts in total while this rule keeps matching": the run of attempts
  // matching this rule that ends with this one.
  int matched = 1;
  for (auto it = history.rbegin() + 1; it != history.rend() && it->matched_rule == rule->name; ++it) {
    ++matched;
  }
  const Duration backoff =
      backoff_for(settings.backoff, attempts - 1, ctx.jitter_sample ? ctx.jitter_sample() : 0.0);
  DecisionContext budget = ctx;
  budget.retry_time_spent += backoff;  // the sleep itself must fit in the budget
  if (const auto refusal = retry_refusal(p, budget, *rule, matched, attempts)) {
    Decision d = final_action(rule->then, rule->name, "rule '" + rule->name + "': " + *refusal);
    d.exhausted = rule->retry > 1 && (matched >= rule->retry || ctx.retries_enabled);
    return d;
  }
  Decision d;
  d.retry = true;
  d.rule = rule->name;
  d.backoff = backoff;
  const auto cancelled = settings.fallback.find(Outcome::cancelled);
  d.if_cancelled = cancelled == settings.fallback.end() ? Action::fail : cancelled->second;
  d.reason = "rule '" + rule->name + "' matched " + std::to_string(matched) + "/" +
             std::to_string(rule->retry) + " attempts";
  if (last.starved_before_job_deadline) return d;  // decide() makes it a system failure
  if (auto refused = job_refuses_retry(*rule, ctx, last, attempts + 1, d)) return *refused;
  return d;
}

}  // namespace

}  // namespace jobwarden::policy
