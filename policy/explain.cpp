#include "policy/explain.hpp"

#include <algorithm>

#include "policy/signals.hpp"

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

template <typename T, typename Show>
void check_list(const std::vector<T>& allowed, const std::optional<T>& value, const char* what,
                Show show, std::vector<std::string>& out) {
  if (allowed.empty()) return;
  if (!value) {
    out.push_back("no " + std::string(what) + " (rule wants " + list_of(allowed, show) + ")");
  } else if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    out.push_back(std::string(what) + " " + show(*value) + " not in " + list_of(allowed, show));
  }
}

std::vector<std::string> mismatches_of(const Rule& rule, const AttemptFacts& f, const std::string& step) {
  const Condition& c = rule.when;
  std::vector<std::string> out;
  check_list(c.outcomes, std::optional<Outcome>(f.outcome), "outcome", show_outcome, out);
  check_list(c.exit_codes, f.exit_code, "exit code", show_int, out);
  check_list(c.signals, f.signal, "signal", show_signal, out);
  check_list(c.steps, std::optional<std::string>(step), "step", show_string, out);
  if (c.starved && *c.starved != f.starved) {
    out.push_back(std::string("starved is ") + (f.starved ? "true" : "false") + ", rule wants " +
                  (*c.starved ? "true" : "false"));
  }
  if (c.min_duration && f.duration < *c.min_duration) {
    out.push_back("ran " + format_duration(f.duration) + ", below min_duration " + format_duration(*c.min_duration));
  }
  if (c.max_duration && f.duration > *c.max_duration) {
    out.push_back("ran " + format_duration(f.duration) + ", above max_duration " + format_duration(*c.max_duration));
  }
  if (c.output && !c.output->search(f.output_tail)) {
    out.push_back("output does not match /" + c.output->source() + "/");
  }
  return out;
}

}  // namespace

std::vector<RuleExplanation> explain_rules(const Policy& policy, const AttemptFacts& facts,
                                           const std::string& step) {
  std::vector<RuleExplanation> out;
  bool decided = false;
  for (const auto& rule : policy.rules) {
    RuleExplanation e;
    e.rule = rule.name;
    e.mismatches = mismatches_of(rule, facts, step);
    e.matched = e.mismatches.empty() && !decided;
    if (e.mismatches.empty() && decided) e.mismatches.push_back("an earlier rule matched first");
    decided = decided || e.matched;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace jobwarden::policy
