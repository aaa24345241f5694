#include "adapters/ci_reports.hpp"

#include <algorithm>
#include <charconv>

#include "executor/core/log_lines.hpp"
#include "policy/duration.hpp"
#include "policy/printable.hpp"

namespace jobwarden::adapters {
namespace {

constexpr std::size_t k_max_cell = 300;

// One table cell: one line, bounded, escaped by policy::printable as the job
// log is (control characters, C1 controls, bidirectional overrides: a rule
// name comes from the repository's policy), then Markdown and HTML specials.
std::string md_cell(const std::string& text) {
  std::string out;
  for (const char c : policy::printable(text, k_max_cell)) {
    switch (c) {
      case '|': out += "\\|"; break;
      case '\\': out += "\\\\"; break;
      case '`': out += "\\`"; break;
      case '*': out += "\\*"; break;
      case '_': out += "\\_"; break;
      case '[': out += "\\["; break;
      case ']': out += "\\]"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      default: out += c;
    }
  }
  return out;
}

std::optional<core::Millis> seconds_variable(const EnvLookup& env, const char* name) {
  const auto v = env(name);
  long long n = 0;
  if (!v) return std::nullopt;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 0 || n > 86'400) return std::nullopt;
  return core::Millis{n * 1000};
}

std::optional<GraceCeiling> buildkite_ceiling(const EnvLookup& env, std::string& warning) {
  std::optional<core::Millis> agent;
  std::string from = "the agent's default 10s";
  if (const auto v = env("BUILDKITE_CANCEL_SIGNAL_TIMEOUT")) {
    const auto parsed = policy::parse_duration(*v);
    if (parsed) {
      agent = *parsed;
      from = "BUILDKITE_CANCEL_SIGNAL_TIMEOUT=" + *v;
    } else {
      warning = "BUILDKITE_CANCEL_SIGNAL_TIMEOUT '" + v->substr(0, 40) + "' is not a duration: " + parsed.error();
    }
  }
  for (const char* name : {"BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS", "BUILDKITE_CANCEL_GRACE_PERIOD"}) {
    if (agent) break;
    if ((agent = seconds_variable(env, name))) from = std::string(name) + "=" + *env(name);
  }
  const core::Millis total = agent.value_or(core::Millis{10'000});
  const core::Millis max = std::max(total - core::Millis{1000}, core::Millis{0});
  return GraceCeiling{max, "the Buildkite agent SIGKILLs the job " + policy::format_duration(total) +
                               " after its cancel signal (" + from + ")"};
}

std::string decision_cell(const policy::Decision& d) {
  if (d.retry) return "retry after " + policy::format_duration(d.backoff) + " (" + d.reason + ")";
  return std::string(policy::to_string(d.action)) + " (" + d.reason + ")";
}

}  // namespace

std::optional<GraceCeiling> grace_ceiling(CiKind kind, const EnvLookup& env, std::string& warning) {
  switch (kind) {
    case CiKind::jenkins:
      return GraceCeiling{core::Millis{15'000}, "Jenkins' sh step gives up 20s after it stops the step"};
    case CiKind::github:
      return GraceCeiling{core::Millis{5'000},
                          "the GitHub runner sends SIGTERM 7.5s and SIGKILL 10s after its SIGINT"};
    case CiKind::buildkite: return buildkite_ceiling(env, warning);
    case CiKind::gitlab:
    case CiKind::generic: break;
  }
  return std::nullopt;
}

core::Millis foreign_term_settle(CiKind kind) {
  return kind == CiKind::jenkins ? core::Millis{6'000} : core::Millis{0};
}

std::string attempts_markdown(const std::string& step, const core::StepResult& r) {
  std::string md = "### jobwarden: step " + md_cell(step) + ": " + std::string(policy::to_string(r.action)) + "\n\n";
  md += "| attempt | outcome | status | duration | decision |\n|---:|---|---|---:|---|\n";
  for (std::size_t i = 0; i < r.attempts.size(); ++i) {
    const core::AttemptRecord& a = r.attempts[i];
    md += "| " + std::to_string(a.number) + " | " + std::string(policy::to_string(a.outcome)) + " | " +
          md_cell(core::status_phrase(a) + ", code " + std::to_string(a.step_exit_code)) + " | " +
          policy::format_seconds(a.run_seconds) + " | " +
          (i < r.decisions.size() ? md_cell(decision_cell(r.decisions[i])) : std::string()) + " |\n";
  }
  md += "\n**Verdict:** " + std::string(policy::to_string(r.action)) + " (" + md_cell(r.reason) + "); exit code " +
        std::to_string(r.exit_code) + "\n\n";
  return md;
}

Annotation buildkite_annotation(const std::string& step, const core::StepResult& r) {
  Annotation a;
  switch (r.action) {
    case policy::Action::pass: a.style = "success"; break;
    case policy::Action::unstable:
    case policy::Action::system_failure: a.style = "warning"; break;
    case policy::Action::fail: a.style = "error"; break;
  }
  a.context = "jobwarden-" + step.substr(0, 100);
  a.body = attempts_markdown(step, r);
  return a;
}

}  // namespace jobwarden::adapters
