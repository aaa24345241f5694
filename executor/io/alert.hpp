#pragma once
// The one alert of a job (docs/policy.md#alerts): when it is due, and its
// JSON payload — a `text` field that Slack and Mattermost incoming webhooks
// show as the message, plus structured fields for other receivers. Pure.

#include <optional>
#include <string>

#include "executor/core/step_runner.hpp"
#include "policy/admin_config.hpp"

namespace jobwarden::io {

// Why an alert is due for this step ("exhausted" when a retry rule ran out,
// "system_failure" when the verdict is one), as far as `config.on` asks for
// it; nullopt when none is due. An exhausted rule whose verdict is a system
// failure is "exhausted" (the more specific cause).
std::optional<std::string> alert_event(const core::StepResult& result, const policy::AlertsConfig& config);

// Where the job ran, from the CI's environment (informative only: these
// variables can be set by the job).
struct CiJobInfo {
  std::string project;   // "group/project"
  std::string job_id;
  std::string job_url;
  std::string pipeline_url;
};

struct AlertInput {
  std::string event;  // alert_event()
  std::string host;
  std::string ci;     // dialect name
  CiJobInfo job;
  std::string step;
  const core::StepResult* result = nullptr;
};

// The payload, one JSON object (ends with a newline). The alert is a message
// for people: its untrusted text (`text`, `step`, `rule`, `verdict.reason`,
// `project`, `job_id` and the URLs) is as policy::printable shows it, control
// and bidi characters escaped; the report (io/report.*) keeps it exact.
std::string render_alert(const AlertInput& in);

}  // namespace jobwarden::io
