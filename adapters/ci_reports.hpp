#pragma once
// What jobwarden leaves for a CI beyond its exit code and log: GitHub's step
// summary, a Buildkite annotation, and how long each CI lets jobwarden kill
// the tree after it asked it to stop. Pure functions of their inputs.

#include <optional>
#include <string>

#include "adapters/dialects.hpp"
#include "executor/core/step_runner.hpp"

namespace jobwarden::adapters {

// The most grace a CI leaves between asking jobwarden to stop and killing
// it (and orphaning the step's own process group), and why.
struct GraceCeiling {
  core::Millis max{0};
  std::string why;
};
// jenkins: 15 s (the `sh` step gives up 20 s after it stops the step);
// github: 5 s (the runner sends SIGTERM 7.5 s and SIGKILL 10 s after its
// SIGINT, to jobwarden only); buildkite: the agent's cancel grace less 1 s,
// from BUILDKITE_CANCEL_SIGNAL_TIMEOUT (agent v4, a Go duration such as
// "10s"), else BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS or
// BUILDKITE_CANCEL_GRACE_PERIOD (v3, seconds), else the default 10 s.
// `warning` is set when a variable could not be read. Others: none.
std::optional<GraceCeiling> grace_ceiling(CiKind kind, const EnvLookup& env, std::string& warning);

// Under Jenkins, how long a step that died of a SIGTERM jobwarden did not
// send waits for Jenkins' own SIGTERM to jobwarden: the process-tree killer
// signals the step's processes first and jobwarden after them, within its
// 5 s soft-kill wait. Zero for the other CIs.
core::Millis foreign_term_settle(CiKind kind);

// A Markdown table of the attempts (attempt, outcome, status, duration,
// decision) under a heading with the verdict: for $GITHUB_STEP_SUMMARY and
// Buildkite annotations. Cells are escaped so that nothing in a step or rule
// name can break the table or inject HTML.
std::string attempts_markdown(const std::string& step, const core::StepResult& result);

// `buildkite-agent annotate --style S --context C`: success for pass,
// warning for unstable and system_failure (the host's fault, retried
// elsewhere), error for fail.
struct Annotation {
  std::string style;
  std::string context;  // jobwarden-<step>, one annotation per step
  std::string body;
};
Annotation buildkite_annotation(const std::string& step, const core::StepResult& result);

}  // namespace jobwarden::adapters
