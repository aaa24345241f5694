#pragma once
// INTERNAL to the policy loader: readers of the sections of a version 1
// policy (docs/policy.md). Each reports its errors through the YamlReader and
// fills in what it could read.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/model.hpp"
#include "policy/yaml_reader.hpp"

namespace jobwarden::policy::detail {

inline constexpr std::array<std::string_view, 4> k_all_actions{"pass", "fail", "unstable",
                                                               "system_failure"};
// Outcomes that reach the rules and the fallback: `success` never does.
inline constexpr std::array<std::string_view, 6> k_failure_outcomes{"red",    "timeout",   "oom",
                                                                    "signal", "cancelled", "error"};

// The entry's value as one of `allowed` actions.
std::optional<Action> read_action(YamlReader& r, const Entry& e,
                                  std::span<const std::string_view> allowed);

// `defaults:` over `out` (which holds the model's defaults and the fallback).
void read_defaults(YamlReader& r, const Entry& e, StepSettings& out);
// `fallback:` (outcome -> action), merged over `out`.
void read_fallback(YamlReader& r, const Entry& e, std::map<Outcome, Action>& out);
// `limits:` over `out`.
void read_limits(YamlReader& r, const Entry& e, RetryLimits& out);
// `steps:`: each step's settings merged over `defaults` (fallback included).
void read_steps(YamlReader& r, const Entry& e, const StepSettings& defaults,
                std::map<std::string, StepSettings>& out);
// `rules:`, in order.
void read_rules(YamlReader& r, const Entry& e, std::vector<Rule>& out);

}  // namespace jobwarden::policy::detail
