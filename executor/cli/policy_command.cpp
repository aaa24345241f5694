#include "executor/cli/policy_command.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "adapters/dialects.hpp"
#include "executor/cli/policy_source.hpp"
#include "executor/core/result.hpp"
#include "policy/explain.hpp"
#include "policy/printable.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::cli {
namespace {

// Every line these commands print quotes the policy file (rule and step
// names, patterns, RE2's messages about them), its path or the command line:
// it goes out through policy::printable, as the job log's lines do, so a
// policy cannot move the cursor, retitle the terminal or start a line.
void print_line(std::ostream& out, std::string_view line) { out << policy::printable(line) << "\n"; }

void print_errors(const PolicySource& src) {
  for (const auto& e : src.loaded.errors) print_line(std::cerr, e.to_string());
  print_line(std::cerr, src.label() + ": " + std::to_string(src.loaded.errors.size()) +
                            (src.loaded.errors.size() == 1 ? " error" : " errors"));
}

// The attempt `explain` imagines: its facts, and the output they point at
// (facts.output_tail is set by the caller, once `output` has its final home).
struct ImaginedAttempt {
  policy::AttemptFacts facts;
  std::string output;
};

// The attempt from explain's arguments, or why there is none.
core::Result<ImaginedAttempt, std::string> imagined_attempt(const ExplainArgs& a) {
  ImaginedAttempt imagined;
  policy::AttemptFacts& f = imagined.facts;
  const auto outcome = policy::parse_outcome(a.outcome);
  if (!outcome) {
    return core::unexpected("unknown outcome '" + a.outcome +
                            "' (expected success, red, timeout, oom, signal, cancelled or error)");
  }
  f.outcome = *outcome;
  f.exit_code = a.exit_code;
  if (!a.signal.empty()) {
    f.signal = policy::parse_signal(a.signal);
    if (!f.signal) return core::unexpected("unknown signal '" + a.signal + "'");
  }
  f.starved = a.starved;
  if (!a.duration.empty()) {
    const auto d = policy::parse_duration(a.duration);
    if (!d) return core::unexpected(d.error());
    f.duration = *d;
  }
  if (!a.output_file.empty()) {
    std::ifstream in(a.output_file, std::ios::binary);
    if (!in) return core::unexpected("cannot read " + a.output_file);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string& output = imagined.output;
    output = ss.str();
    if (output.size() > 64 * 1024) output.erase(0, output.size() - 64 * 1024);  // the tail a run keeps
  }
  return imagined;
}

// Step exit code of the imagined attempt, computed as the supervisor does;
// a cancel is taken to come with --signal (SIGTERM when absent).
int step_code(const policy::AttemptFacts& f) {
  policy::Ending e;
  e.exit_code = f.exit_code;
  e.term_signal = f.signal;
  return policy::step_exit_code(f.outcome, e, f.exit_code.value_or(127), f.signal.value_or(15));
}

}  // namespace

int policy_check(const std::string& file) {
  const PolicySource src = load_policy_source(file);
  if (!src.loaded.ok()) {
    print_errors(src);
    return adapters::k_exit_config;
  }
  print_line(std::cout, src.label() + ": valid (" + std::to_string(src.loaded.policy->rules.size()) + " rules, " +
                            std::to_string(src.loaded.policy->steps.size()) + " step overrides)");
  return 0;
}

int policy_default() {
  std::cout << policy::embedded_default_policy_yaml();
  return 0;
}

int policy_explain(const ExplainArgs& a) {
  const PolicySource src = load_policy_source(a.file);
  if (!src.loaded.ok()) {
    print_errors(src);
    return adapters::k_exit_config;
  }
  const policy::Policy& p = *src.loaded.policy;
  auto imagined = imagined_attempt(a);
  if (!imagined) {
    print_line(std::cerr, "jobwarden: usage error: " + imagined.error());
    return adapters::k_exit_usage;
  }
  policy::AttemptFacts& facts = imagined->facts;
  facts.output_tail = imagined->output;
  print_line(std::cout, "policy: " + src.label());
  print_line(std::cout, "attempt " + std::to_string(a.attempt) + " of step '" + a.step + "': outcome " + a.outcome);
  std::string matched;
  for (const auto& e : policy::explain_rules(p, facts, a.step)) {
    std::string line = std::string(e.matched ? "  MATCH   " : "  no      ") + "rule '" + e.rule + "'";
    for (std::size_t i = 0; i < e.mismatches.size(); ++i) line += (i ? "; " : ": ") + e.mismatches[i];
    print_line(std::cout, line);
    if (e.matched) matched = e.rule;
  }
  // Attempts before this one are taken to have ended the same way.
  std::vector<policy::AttemptFacts> history(static_cast<std::size_t>(std::max(a.attempt, 1)), facts);
  for (auto& h : history) h.matched_rule = matched;
  policy::DecisionContext ctx;
  ctx.step = a.step;
  const policy::Decision d = policy::decide(p, ctx, history);
  if (d.retry) {
    print_line(std::cout, "=> retry after about " + policy::format_duration(d.backoff) + " (" + d.reason + ")");
  } else {
    print_line(std::cout, "=> " + std::string(policy::to_string(d.action)) + " (" + d.reason + "); exit code " +
                              std::to_string(adapters::generic_exit_code(d.action, step_code(facts))) +
                              " (--ci generic)");
  }
  return 0;
}

}  // namespace jobwarden::cli
