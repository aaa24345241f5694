#include "policy/decide.hpp"

#include <algorithm>
#include <cmath>

namespace jobwarden::policy {
namespace {

template <typename T>
bool any_of_or_empty(const std::vector<T>& allowed, const T& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

template <typename T>
bool any_of_or_empty(const std::vector<T>& allowed, const std::optional<T>& value) {
  return allowed.empty() || (value && any_of_or_empty(allowed, *value));
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

// Why a rule that wants another attempt may not get one, or "" when it may.
std::string retry_refusal(const Policy& p, const DecisionContext& ctx, const Rule& rule,
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
  return "";
}

}  // namespace

bool rule_matches(const Rule& rule, const AttemptFacts& f, const std::string& step) {
  const Condition& c = rule.when;
  return any_of_or_empty(c.outcomes, f.outcome) && any_of_or_empty(c.exit_codes, f.exit_code) &&
         any_of_or_empty(c.signals, f.signal) && any_of_or_empty(c.steps, step) &&
         (!c.starved || *c.starved == f.starved) &&
         (!c.min_duration || f.duration >= *c.min_duration) &&
         (!c.max_duration || f.duration <= *c.max_duration) &&
         (!c.output || c.output->search(f.output_tail));
}

Duration backoff_for(const Backoff& b, int retry_index, double jitter_sample) {
  double ms = static_cast<double>(b.initial.count()) * std::pow(b.factor, retry_index);
  ms = std::min(ms, static_cast<double>(b.max.count()));
  ms *= 1.0 + b.jitter * std::clamp(jitter_sample, -1.0, 1.0);
  return Duration(static_cast<long long>(std::max(ms, 0.0)));
}

Decision decide(const Policy& p, const DecisionContext& ctx,
                const std::vector<AttemptFacts>& history) {
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
  const Rule* rule = last.outcome == Outcome::cancelled ? nullptr : first_match(p, last, ctx.step);
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
  const Duration backoff = backoff_for(settings.backoff, attempts - 1, ctx.jitter_sample);
  DecisionContext budget = ctx;
  budget.retry_time_spent += backoff;  // the sleep itself must fit in the budget
  const std::string refusal = retry_refusal(p, budget, *rule, matched, attempts);
  if (!refusal.empty()) {
    Decision d = final_action(rule->then, rule->name, "rule '" + rule->name + "': " + refusal);
    d.exhausted = rule->retry > 1 && (matched >= rule->retry || ctx.retries_enabled);
    return d;
  }
  Decision d;
  d.retry = true;
  d.rule = rule->name;
  d.backoff = backoff;
  d.reason = "rule '" + rule->name + "' matched " + std::to_string(matched) + "/" +
             std::to_string(rule->retry) + " attempts";
  return d;
}

}  // namespace jobwarden::policy
