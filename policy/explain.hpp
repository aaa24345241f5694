#pragma once
// `jobwarden policy explain`: for a hypothetical attempt, which rule matches
// and, for every other rule, which of its conditions did not hold. Pure.

#include <string>
#include <vector>

#include "policy/decide.hpp"

namespace jobwarden::policy {

struct RuleExplanation {
  std::string rule;
  bool matched = false;
  std::vector<std::string> mismatches;  // one phrase per condition that did not hold
};

// Every rule of `policy`, in order, checked against `facts` of step `step`.
std::vector<RuleExplanation> explain_rules(const Policy& policy, const AttemptFacts& facts,
                                           const std::string& step);

}  // namespace jobwarden::policy
