// Readers of the settings sections: defaults, steps, backoff, starvation,
// fallback, limits. Every override merges key by key over what it refines.

#include <algorithm>
#include <limits>

#include "policy/loader_sections.hpp"

namespace jobwarden::policy::detail {
namespace {

constexpr double k_max_backoff_factor = 100.0;
constexpr double k_smallest_fraction = std::numeric_limits<double>::denorm_min();  // (0, 1]

std::optional<Outcome> failure_outcome(std::string_view text) {
  auto o = parse_outcome(text);
  return o == Outcome::success ? std::nullopt : o;
}

void read_initial(YamlReader& r, const Entry& e, Backoff& b) {
  if (auto d = r.duration(e)) b.initial = *d;
}
void read_factor(YamlReader& r, const Entry& e, Backoff& b) {
  if (auto f = r.number(e, 1.0, k_max_backoff_factor, "a number from 1 to 100")) b.factor = *f;
}
void read_max(YamlReader& r, const Entry& e, Backoff& b) {
  if (auto d = r.duration(e)) b.max = *d;
}
void read_jitter(YamlReader& r, const Entry& e, Backoff& b) {
  if (auto j = r.number(e, 0.0, 1.0, "a fraction from 0 to 1")) b.jitter = *j;
}

constexpr std::array<Field<Backoff>, 4> k_backoff_fields{{
    {"initial", read_initial},
    {"factor", read_factor},
    {"max", read_max},
    {"jitter", read_jitter},
}};

void read_cpu_wait(YamlReader& r, const Entry& e, StarvationThresholds& s) {
  if (auto f = r.number(e, k_smallest_fraction, 1.0, "a fraction in (0, 1]")) s.cpu_wait = *f;
}
void read_cpu_share(YamlReader& r, const Entry& e, StarvationThresholds& s) {
  if (auto f = r.number(e, k_smallest_fraction, 1.0, "a fraction in (0, 1]")) s.cpu_share = *f;
}

constexpr std::array<Field<StarvationThresholds>, 2> k_starvation_fields{{
    {"cpu_wait", read_cpu_wait},
    {"cpu_share", read_cpu_share},
}};

void read_timeout(YamlReader& r, const Entry& e, StepSettings& s) {
  if (auto d = r.duration(e)) s.timeout = *d;
}
void read_grace(YamlReader& r, const Entry& e, StepSettings& s) {
  if (auto d = r.duration(e)) s.grace = *d;
}
void read_memory(YamlReader& r, const Entry& e, StepSettings& s) {
  if (auto m = r.byte_size(e)) s.memory = *m;
}
void read_backoff(YamlReader& r, const Entry& e, StepSettings& s) {
  read_fields(r, e.value, k_backoff_fields, e.child_where(), s.backoff);
  if (s.backoff.initial > s.backoff.max) {
    r.value_error(e, "initial " + format_duration(s.backoff.initial) + " is longer than max " +
                         format_duration(s.backoff.max) + " (raise max too)");
  }
}
void read_starvation(YamlReader& r, const Entry& e, StepSettings& s) {
  read_fields(r, e.value, k_starvation_fields, e.child_where(), s.starvation);
}
void read_step_fallback(YamlReader& r, const Entry& e, StepSettings& s) {
  read_fallback(r, e, s.fallback);
}

constexpr std::array<Field<StepSettings>, 5> k_default_fields{{
    {"timeout", read_timeout},
    {"grace", read_grace},
    {"memory", read_memory},
    {"backoff", read_backoff},
    {"starvation", read_starvation},
}};

constexpr std::array<Field<StepSettings>, 6> k_step_fields{{
    {"timeout", read_timeout},
    {"grace", read_grace},
    {"memory", read_memory},
    {"backoff", read_backoff},
    {"starvation", read_starvation},
    {"fallback", read_step_fallback},
}};

void read_max_attempts(YamlReader& r, const Entry& e, RetryLimits& l) {
  if (auto n = r.integer(e, 1, k_max_policy_retry)) l.max_attempts = static_cast<int>(*n);
}
void read_max_retry_time(YamlReader& r, const Entry& e, RetryLimits& l) {
  if (auto d = r.duration(e)) l.max_retry_time = *d;
}

constexpr std::array<Field<RetryLimits>, 2> k_limit_fields{{
    {"max_attempts", read_max_attempts},
    {"max_retry_time", read_max_retry_time},
}};

}  // namespace

std::optional<Action> read_action(YamlReader& r, const Entry& e,
                                  std::span<const std::string_view> allowed) {
  const auto text = r.string(e);
  if (!text) return std::nullopt;
  const auto action = parse_action(*text);
  if (action && std::find(allowed.begin(), allowed.end(), *text) != allowed.end()) return action;
  r.value_error(e, "expected one of " + join(allowed) + ", got " + describe(e.value) +
                       did_you_mean(*text, allowed));
  return std::nullopt;
}

void read_defaults(YamlReader& r, const Entry& e, StepSettings& out) {
  read_fields(r, e.value, k_default_fields, e.child_where(), out);
}

void read_fallback(YamlReader& r, const Entry& e, std::map<Outcome, Action>& out) {
  for (const Entry& pair : r.entries(e.value, k_failure_outcomes, e.child_where(), "outcome")) {
    const auto outcome = failure_outcome(pair.key);
    const auto action = read_action(r, pair, k_all_actions);
    if (outcome && action) out[*outcome] = *action;
  }
}

void read_limits(YamlReader& r, const Entry& e, RetryLimits& out) {
  read_fields(r, e.value, k_limit_fields, e.child_where(), out);
}

void read_steps(YamlReader& r, const Entry& e, const StepSettings& defaults,
                std::map<std::string, StepSettings>& out) {
  for (const Entry& step : r.entries(e.value, {}, e.child_where(), "step")) {
    if (step.key.empty()) {
      r.error(step.key_node, "'steps': a step name cannot be empty");
      continue;
    }
    StepSettings settings = defaults;
    read_fields(r, step.value, k_step_fields, "step '" + step.key + "'", settings);
    out[step.key] = std::move(settings);
  }
}

}  // namespace jobwarden::policy::detail
