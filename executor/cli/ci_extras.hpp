#pragma once
// `jobwarden run`'s answers to a CI beyond the exit code and the log: the
// grace each CI leaves, GitHub's step summary, a Buildkite annotation, the
// JUnit report.

#include <string>

#include "adapters/dialects.hpp"
#include "executor/core/job_log.hpp"
#include "executor/core/redactor.hpp"
#include "executor/core/step_runner.hpp"

namespace jobwarden::cli {

// Fits the attempt settings to how long the CI waits before it kills
// jobwarden itself (the clamp is logged), and, under Jenkins, holds a step
// killed by a foreign SIGTERM for Jenkins' own SIGTERM to jobwarden.
void fit_settings_to_ci(adapters::CiKind ci, core::AttemptSettings& settings, core::JobLog& log);

// After the verdict: $GITHUB_STEP_SUMMARY under github, `buildkite-agent
// annotate` under buildkite (when the agent binary is on PATH; not after a
// cancel: the agent is about to kill jobwarden). Failures are warnings; the
// verdict and exit code stand.
// Secrets are masked in what is written, as in the log.
void publish_to_ci(adapters::CiKind ci, const std::string& step, const core::StepResult& result,
                   const core::Redactor& secrets, core::JobLog& log);

// Writes the JUnit XML report to `path` (atomically); a failure is a warning.
void write_junit(const std::string& path, const std::string& step, const core::StepResult& result,
                 const core::Redactor& secrets, core::JobLog& log);

}  // namespace jobwarden::cli
