#include "executor/io/alert.hpp"

#include <nlohmann/json.hpp>

#include "policy/printable.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::io {
namespace {

using nlohmann::ordered_json;

// Starvation is a verdict on timeouts only (a red step that waited for a CPU still failed on its own).
bool starved_timeout(const core::AttemptRecord& a) {
  return a.outcome == policy::Outcome::timeout && a.starvation.starved;
}

template <typename T>
ordered_json optional_json(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json attempt_json(const core::AttemptRecord& a) {
  const policy::Ending& e = a.ending;
  return {
      {"number", a.number},
      {"outcome", std::string(policy::to_string(a.outcome))},
      {"exit_code", a.step_exit_code},
      {"signal", e.term_signal ? ordered_json(policy::signal_name(*e.term_signal)) : ordered_json(nullptr)},
      {"seconds", a.total_seconds},
      {"starved", starved_timeout(a)},
      {"cpu_wait_fraction", optional_json(a.starvation.cpu_wait_fraction)},
      {"cpu_share", optional_json(a.starvation.cpu_share)},
      {"starvation", a.starvation.explanation},
      {"oom_killed", e.oom_killed},
      {"processes_killed", a.signalled.size()},
      {"escapees", a.escapees.size()},
  };
}

// The rule that decided the step, or "" for a fallback.
std::string deciding_rule(const core::StepResult& r) {
  return r.decisions.empty() ? std::string() : r.decisions.back().rule;
}

std::string summary_text(const AlertInput& in) {
  const core::StepResult& r = *in.result;
  std::string outcomes;
  for (const auto& a : r.attempts) {
    if (!outcomes.empty()) outcomes += ", ";
    outcomes += std::string(policy::to_string(a.outcome)) + (starved_timeout(a) ? " (starved)" : "");
  }
  std::string text = "jobwarden: " + std::string(policy::to_string(r.action)) + " of step '" + in.step + "'";
  if (!in.job.project.empty()) text += " in " + in.job.project;
  text += " on " + (in.host.empty() ? std::string("an unnamed host") : in.host);
  const std::string rule = deciding_rule(r);
  text += in.event == "exhausted" ? ": retries of rule '" + rule + "' exhausted" : ": system failure";
  text += " after " + std::to_string(r.attempts.size()) + (r.attempts.size() == 1 ? " attempt" : " attempts") +
          " (" + outcomes + "): " + r.reason;
  if (!in.job.job_url.empty()) text += " — " + in.job.job_url;
  return text;
}

}  // namespace

std::optional<std::string> alert_event(const core::StepResult& result, const policy::AlertsConfig& config) {
  const bool exhausted = !result.decisions.empty() && result.decisions.back().exhausted;
  if (exhausted && config.on_exhausted) return std::string("exhausted");
  if (result.action == policy::Action::system_failure && config.on_system_failure) {
    return std::string("system_failure");
  }
  return std::nullopt;
}

std::string render_alert(const AlertInput& in) {
  const core::StepResult& r = *in.result;
  ordered_json attempts = ordered_json::array();
  for (const auto& a : r.attempts) attempts.push_back(attempt_json(a));
  const std::string rule = deciding_rule(r);
  // Untrusted text (the policy's rule names in `rule`, `reason` and `text`,
  // the step's name, the CI's variables) goes through policy::printable
  // before JSON's own escaping: a chat app shows the message as it is, so a
  // C1 control or a bidi override must not reach it as a character.
  using policy::printable;
  const ordered_json payload = {
      {"text", printable(summary_text(in))},
      {"event", in.event},
      {"host", in.host},
      {"ci", in.ci},
      {"project", printable(in.job.project)},
      {"job_id", printable(in.job.job_id)},
      {"job_url", printable(in.job.job_url)},
      {"pipeline_url", printable(in.job.pipeline_url)},
      {"step", printable(in.step)},
      {"rule", rule.empty() ? ordered_json(nullptr) : ordered_json(printable(rule))},
      {"attempts", attempts},
      {"verdict",
       {{"action", std::string(policy::to_string(r.action))},
        {"reason", printable(r.reason)},
        {"exit_code", r.exit_code}}},
  };
  return payload.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace jobwarden::io
