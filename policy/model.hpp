#pragma once
// The policy model: what a repository (or the embedded default) says about
// timeouts, retries and verdicts. Plain data; see decide.hpp for semantics.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/byte_size.hpp"
#include "policy/classify.hpp"
#include "policy/duration.hpp"
#include "policy/outcome.hpp"
#include "policy/pattern.hpp"

namespace jobwarden::policy {

struct Backoff {
  Duration initial{5000};
  double factor = 2.0;
  Duration max{60000};
  double jitter = 0.2;  // +- this fraction, uniformly

  bool operator==(const Backoff&) const = default;
};

// Conditions of a rule, ANDed; an empty list or absent optional matches anything.
struct Condition {
  std::vector<Outcome> outcomes;
  std::vector<int> exit_codes;
  std::vector<int> signals;
  std::vector<std::string> steps;
  std::optional<bool> starved;
  SharedPattern output;                         // searched in the attempt's output tail
  std::optional<Duration> min_duration;         // attempt ran at least this long
  std::optional<Duration> max_duration;         // attempt ran at most this long

  bool operator==(const Condition&) const = default;
};

struct Rule {
  std::string name;
  Condition when;
  int retry = 0;              // attempts in total while this rule keeps matching (0 or 1: none)
  Action then = Action::fail; // when the attempts run out

  bool operator==(const Rule&) const = default;
};

// Settings that apply to one step: the defaults with that step's overrides merged in.
struct StepSettings {
  Duration timeout{30 * 60 * 1000};
  Duration grace{10 * 1000};
  std::optional<ByteSize> memory;  // the step's memory limit (its cgroup's); none by default
  Backoff backoff;
  StarvationThresholds starvation;
  std::map<Outcome, Action> fallback;

  bool operator==(const StepSettings&) const = default;
};

// Hard bounds on every policy, whatever its rules say.
struct RetryLimits {
  int max_attempts = 5;               // attempts in total for one step
  Duration max_retry_time{30 * 60 * 1000};  // total backoff plus retried attempts' time

  bool operator==(const RetryLimits&) const = default;
};

struct Policy {
  int version = 1;
  std::string source;  // "embedded default" or a file path
  StepSettings defaults;
  std::vector<Rule> rules;
  Action flaky = Action::pass;
  std::map<std::string, StepSettings> steps;  // already merged over defaults
  RetryLimits limits;

  bool operator==(const Policy&) const = default;

  // The settings for `step`: its override if any, else the defaults.
  const StepSettings& settings_for(const std::string& step) const;
  // The most attempts this policy can ever make for any step.
  int max_attempts() const;
  // The most attempts it can make for `step`: rules limited to other steps
  // (`when: {steps: [...]}`) do not count.
  int max_attempts(const std::string& step) const;
};

// The fallback every policy starts from; a policy's `fallback:` merges over it:
// oom is a system failure, every other outcome fails.
std::map<Outcome, Action> builtin_fallback();

// The conservative policy used when the repository has none (README.md, "The policy"):
// red fails, a starved timeout retries once then is a system failure, oom is a
// system failure, everything else fails. Defined once, as the commented YAML
// of embedded_default_policy_yaml() (loader.hpp), and loaded from it
// (default_policy.cpp); source is "embedded default".
Policy embedded_default_policy();

}  // namespace jobwarden::policy
