#include "policy/model.hpp"

#include <algorithm>

namespace jobwarden::policy {

const StepSettings& Policy::settings_for(const std::string& step) const {
  auto it = steps.find(step);
  return it == steps.end() ? defaults : it->second;
}

namespace {
// The largest `retry` of the rules that can apply to `step` (any step when null).
int most_attempts(const Policy& p, const std::string* step) {
  int most = 1;
  for (const auto& rule : p.rules) {
    const auto& steps = rule.when.steps;
    if (step == nullptr || steps.empty() || std::find(steps.begin(), steps.end(), *step) != steps.end()) {
      most = std::max(most, rule.retry);
    }
  }
  return std::min(most, p.limits.max_attempts);
}
}  // namespace

int Policy::max_attempts() const { return most_attempts(*this, nullptr); }
int Policy::max_attempts(const std::string& step) const { return most_attempts(*this, &step); }

std::map<Outcome, Action> builtin_fallback() {
  return {
      {Outcome::red, Action::fail},           {Outcome::timeout, Action::fail},
      {Outcome::oom, Action::system_failure}, {Outcome::signal, Action::fail},
      {Outcome::error, Action::fail},         {Outcome::cancelled, Action::fail},
  };
}

}  // namespace jobwarden::policy
