#include "policy/model.hpp"

#include <algorithm>

namespace jobwarden::policy {

const StepSettings& Policy::settings_for(const std::string& step) const {
  auto it = steps.find(step);
  return it == steps.end() ? defaults : it->second;
}

int Policy::max_attempts() const {
  int most = 1;
  for (const auto& rule : rules) most = std::max(most, rule.retry);
  return std::min(most, limits.max_attempts);
}

Policy embedded_default_policy() {
  Policy p;
  p.source = "embedded default";
  p.defaults.fallback = {
      {Outcome::red, Action::fail},       {Outcome::timeout, Action::fail},
      {Outcome::oom, Action::system_failure}, {Outcome::signal, Action::fail},
      {Outcome::error, Action::fail},     {Outcome::cancelled, Action::fail},
  };
  Rule starved;
  starved.name = "starved-timeout";
  starved.when.outcomes = {Outcome::timeout};
  starved.when.starved = true;
  starved.retry = 2;
  starved.then = Action::system_failure;
  p.rules.push_back(starved);
  return p;
}

}  // namespace jobwarden::policy
