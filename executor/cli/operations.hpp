#pragma once
// Operations at the end of a step (docs/policy.md#metrics, #alerts): the
// node_exporter textfile, one Pushgateway push, and the job's one alert; and
// the secrets none of jobwarden's own output may show.
//
// Contract: nothing here changes a verdict or an exit code. Each network call
// is bounded by the admin configuration's timeouts (a second or two by
// default); a failure is one warning line that never shows a URL.

#include <string>
#include <vector>

#include "executor/cli/step_execution.hpp"
#include "executor/core/redactor.hpp"

namespace jobwarden::cli {

struct OperationSwitches {
  FeatureSwitch metrics, alerts;
};
// JOBWARDEN_METRICS / JOBWARDEN_ALERTS, with the admin's features.metrics /
// features.webhooks switched off on top.
OperationSwitches operation_switches(const policy::AdminConfig& admin);
// Logs each one that is off, with who switched it off.
void announce_operation_switches(const OperationSwitches& switches, core::JobLog& log);

// The secrets of this job: the values of the admin's `secrets.variables`
// (from the environment, and CUSTOM_ENV_<NAME> as the GitLab driver sees
// job variables), plus `masked_values` (GitLab's masked variables). A value
// too short to mask is reported by name in `log` (when there is one).
core::Redactor collect_secrets(const policy::AdminConfig& admin, const std::vector<std::string>& masked_values,
                               core::JobLog* log);

struct OperationsInput {
  const policy::AdminConfig* admin = nullptr;
  OperationSwitches switches;
  std::string ci;       // dialect name
  std::string step;     // the step's name
  bool step_known = false;  // named by the policy or the CI: kept as the `step` label
  // Where the job records that its alert was sent (a file created once per
  // job); "" when the job has no state of its own (one alert per run).
  std::string alert_marker;
  const core::Redactor* secrets = nullptr;
};

// Updates the textfile, pushes, and sends the alert when one is due.
void publish_step(const OperationsInput& in, const core::StepResult& result, core::JobLog& log);

}  // namespace jobwarden::cli
