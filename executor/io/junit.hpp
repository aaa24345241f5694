#pragma once
// `--junit FILE`: the step as a JUnit XML test report, one <testcase> per
// step, in Maven Surefire's convention for reruns, which Jenkins' `junit`,
// GitLab's `artifacts:reports:junit` and Buildkite's test collectors read:
//  * a step that passed (its last attempt succeeded, or the policy passed it)
//    is a passing testcase; each attempt that did not succeed is a
//    <flakyFailure> in it;
//  * a step that did not pass: its first failed attempt is the <failure>
//    (<error> when the verdict is a system failure: the host's fault), every
//    later failed attempt a <rerunFailure> (<rerunError>).
// Each failed attempt carries its summary line and the tail of its output
// (<system-out>). Text is made valid XML 1.0: invalid UTF-8 and characters
// XML cannot hold become U+FFFD. Rendering is pure.

#include <string>

#include "executor/core/step_runner.hpp"

namespace jobwarden::io {

struct JunitInput {
  std::string step;
  const core::StepResult* result = nullptr;
};

std::string render_junit(const JunitInput& input);

// `text` as XML 1.0 character data (or an attribute value when `attribute`).
std::string xml_escape(std::string_view text, bool attribute);

}  // namespace jobwarden::io
