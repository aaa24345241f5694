#include "policy/explain.hpp"

namespace jobwarden::policy {

// The decision engine narrating itself: the same rules_apply_to and
// rule_matches that decide() uses, asked for their reasons.
std::vector<RuleExplanation> explain_rules(const Policy& policy, const AttemptFacts& facts,
                                           const std::string& step) {
  std::vector<RuleExplanation> out;
  const bool consulted = rules_apply_to(facts.outcome);
  bool decided = false;
  for (const auto& rule : policy.rules) {
    RuleExplanation e;
    e.rule = rule.name;
    if (!consulted) {
      e.mismatches.push_back(std::string("the rules are not consulted for an outcome of ") +
                             std::string(to_string(facts.outcome)));
    } else if (rule_matches(rule, facts, step, &e.mismatches) && decided) {
      e.mismatches.push_back("an earlier rule matched first");
    }
    e.matched = e.mismatches.empty();
    decided = decided || e.matched;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace jobwarden::policy
