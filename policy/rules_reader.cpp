// Readers of `rules:`: each rule's name, `when` conditions, `retry` and `then`.

#include <algorithm>
#include <map>

#include "policy/loader_sections.hpp"
#include "policy/printable.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::policy::detail {
namespace {

constexpr int k_max_exit_code = 255;

// Identical patterns (often the same aliased node) compile once: a file can
// then not multiply RE2 memory by repeating one pattern.
using PatternCache = std::map<std::string, std::shared_ptr<const OutputPattern>, std::less<>>;

struct ConditionBuild {
  Condition when;
  PatternCache* patterns = nullptr;
  std::optional<Entry> max_duration;
};

struct RuleBuild {
  Rule rule;
  PatternCache* patterns = nullptr;
  std::optional<Entry> name;
  std::optional<Entry> retry;
};

// Signal names as the user spells them: with or without the SIG prefix.
const std::vector<std::string_view>& signal_candidates(std::string_view word) {
  static const auto names = [] {
    std::array<std::vector<std::string>, 2> out;  // [0] SIGKILL, [1] KILL
    for (int n = 1; n <= 31; ++n) {
      out[0].push_back(signal_name(n));
      out[1].push_back(out[0].back().substr(3));
    }
    return out;
  }();
  static const auto views = [] {
    std::array<std::vector<std::string_view>, 2> out;
    for (std::size_t i = 0; i < 2; ++i) out[i].assign(names[i].begin(), names[i].end());
    return out;
  }();
  const bool prefixed = word.size() >= 3 && (word[0] == 'S' || word[0] == 's');
  return views[prefixed ? 0 : 1];
}

void read_outcomes(YamlReader& r, const Entry& e, ConditionBuild& b) {
  for (const YAML::Node& el : r.scalars(e)) {
    const auto o = parse_outcome(el.Scalar());
    if (o == Outcome::success) {
      r.value_error(e,
                    "'success' never reaches the rules (a passing attempt ends the step; "
                    "see 'flaky')",
                    &el);
    } else if (o == Outcome::cancelled) {
      r.value_error(e,
                    "'cancelled' never reaches the rules (the CI asked to stop: no rule may "
                    "retry or pass it; see 'fallback')",
                    &el);
    } else if (o) {
      b.when.outcomes.push_back(*o);
    } else {
      r.value_error(e,
                    "expected one of " + join(k_failure_outcomes) + ", got " + describe(el) +
                        did_you_mean(el.Scalar(), k_failure_outcomes),
                    &el);
    }
  }
}

void read_exit_codes(YamlReader& r, const Entry& e, ConditionBuild& b) {
  for (const YAML::Node& el : r.scalars(e)) {
    const auto code = parse_integer(el.Scalar());
    if (code && *code >= 0 && *code <= k_max_exit_code) {
      b.when.exit_codes.push_back(static_cast<int>(*code));
    } else {
      r.value_error(e, "expected an exit code from 0 to 255, got " + describe(el), &el);
    }
  }
}

void read_signals(YamlReader& r, const Entry& e, ConditionBuild& b) {
  for (const YAML::Node& el : r.scalars(e)) {
    if (const auto sig = parse_signal(el.Scalar())) {
      b.when.signals.push_back(*sig);
    } else {
      r.value_error(e,
                    "expected a signal name or number (e.g. SIGKILL, KILL, 9), got " +
                        describe(el) + did_you_mean(el.Scalar(), signal_candidates(el.Scalar())),
                    &el);
    }
  }
}

void read_steps_condition(YamlReader& r, const Entry& e, ConditionBuild& b) {
  for (const YAML::Node& el : r.scalars(e)) {
    if (el.Scalar().empty()) {
      r.value_error(e, "a step name cannot be empty", &el);
    } else {
      b.when.steps.push_back(el.Scalar());
    }
  }
}

void read_output(YamlReader& r, const Entry& e, ConditionBuild& b) {
  const auto source = r.string(e);
  if (!source) return;
  if (source->empty()) {
    r.value_error(e, "an empty pattern matches any output; omit 'output' to match anything");
    return;
  }
  if (auto cached = b.patterns->find(*source); cached != b.patterns->end()) {
    b.when.output = cached->second;
    return;
  }
  auto compiled = OutputPattern::compile(*source);
  if (!compiled) {
    r.value_error(e, "invalid RE2 pattern " + describe(e.value) + ": " + compiled.error());
    return;
  }
  b.when.output = std::move(*compiled);
  b.patterns->emplace(*source, b.when.output);
}

void read_starved(YamlReader& r, const Entry& e, ConditionBuild& b) {
  b.when.starved = r.boolean(e);
}
void read_min_duration(YamlReader& r, const Entry& e, ConditionBuild& b) {
  b.when.min_duration = r.duration(e);
}
void read_max_duration(YamlReader& r, const Entry& e, ConditionBuild& b) {
  b.when.max_duration = r.duration(e);
  b.max_duration = e;
}

constexpr std::array<Field<ConditionBuild>, 8> k_condition_fields{{
    {"outcome", read_outcomes},
    {"exit_codes", read_exit_codes},
    {"signals", read_signals},
    {"output", read_output},
    {"step", read_steps_condition},
    {"starved", read_starved},
    {"min_duration", read_min_duration},
    {"max_duration", read_max_duration},
}};

void read_name(YamlReader& r, const Entry& e, RuleBuild& b) {
  b.name = e;
  const auto name = r.string(e);
  if (name && name->empty()) r.value_error(e, "a rule name cannot be empty");
  if (name) b.rule.name = *name;
}

void read_when(YamlReader& r, const Entry& e, RuleBuild& b) {
  ConditionBuild c{{}, b.patterns, std::nullopt};
  read_fields(r, e.value, k_condition_fields, e.child_where(), c);
  const Condition& w = c.when;
  if (w.min_duration && w.max_duration && *w.min_duration > *w.max_duration) {
    r.value_error(*c.max_duration, "shorter than 'min_duration' " +
                                       format_duration(*w.min_duration) + ": nothing can match");
  }
  b.rule.when = std::move(c.when);
}

void read_retry(YamlReader& r, const Entry& e, RuleBuild& b) {
  b.retry = e;
  if (auto n = r.integer(e, 1, k_max_policy_retry)) b.rule.retry = static_cast<int>(*n);
}

void read_then(YamlReader& r, const Entry& e, RuleBuild& b) {
  if (auto a = read_action(r, e, k_all_actions)) b.rule.then = *a;
}

constexpr std::array<Field<RuleBuild>, 4> k_rule_fields{{
    {"name", read_name},
    {"when", read_when},
    {"retry", read_retry},
    {"then", read_then},
}};

// Checks across the keys of one rule, and across rules (unique names).
void check_rule(YamlReader& r, const YAML::Node& node, const std::string& where, const RuleBuild& b,
                std::map<std::string, int>& names) {
  if (!b.name) {
    r.error(node, where + ": missing 'name' (required, unique)");
    return;
  }
  if (b.rule.name.empty()) return;
  const int line = b.name->key_node.Mark().line + 1;
  if (auto [it, fresh] = names.emplace(b.rule.name, line); !fresh) {
    r.value_error(*b.name, "duplicate rule name " + quoted_excerpt(b.rule.name) + " (first at line " +
                               std::to_string(it->second) + ")");
  }
}

void read_rule(YamlReader& r, const YAML::Node& node, std::size_t index, PatternCache& patterns,
               std::map<std::string, int>& names, std::vector<Rule>& out) {
  const auto name = r.peek_scalar(node, "name");
  const std::string where = name && !name->empty() && node.IsMap()
                                ? "rule " + quoted_excerpt(*name)
                                : "rule #" + std::to_string(index + 1);
  if (!node.IsMap()) {
    r.error(node,
            where + ": expected a map with keys name, when, retry, then, got " + describe(node));
    return;
  }
  RuleBuild b{{}, &patterns, std::nullopt, std::nullopt};
  read_fields(r, node, k_rule_fields, where, b);
  check_rule(r, node, where, b, names);
  out.push_back(std::move(b.rule));
}

}  // namespace

void read_rules(YamlReader& r, const Entry& e, std::vector<Rule>& out) {
  std::vector<YAML::Node> items = r.list(e, "a list of rules");
  if (items.size() > k_max_policy_rules) {
    r.value_error(e, std::to_string(items.size()) + " rules; at most " +
                         std::to_string(k_max_policy_rules) + " are allowed");
    items.resize(k_max_policy_rules);
  }
  PatternCache patterns;
  std::map<std::string, int> names;
  for (std::size_t i = 0; i < items.size(); ++i) read_rule(r, items[i], i, patterns, names, out);
}

}  // namespace jobwarden::policy::detail
