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

std::map<Outcome, Action> builtin_fallback() {
  return {
      {Outcome::red, Action::fail},           {Outcome::timeout, Action::fail},
      {Outcome::oom, Action::system_failure}, {Outcome::signal, Action::fail},
      {Outcome::error, Action::fail},         {Outcome::cancelled, Action::fail},
  };
}

}  // namespace jobwarden::policy
