#pragma once
// The step's result with every secret masked, before anything renders it.
//
// Every renderer of a StepResult (the JSON report, JUnit, the GitHub step
// summary, Buildkite annotations, alerts, metrics) cuts or escapes its text:
// the output tail is cut to its last bytes, Markdown cells to 300 bytes and
// escaped, XML escaped. A secret cut or escaped that way is no longer found by
// a redaction of the rendered text, so the text is masked here, whole, once,
// when the decisions are made and before any renderer sees it.

#include "executor/core/redactor.hpp"
#include "executor/core/step_runner.hpp"

namespace jobwarden::core {

// Masks every text of `result` that can quote a secret: process command
// lines, signal reasons, start errors, decision rules and reasons, the
// starvation explanation, the containment description and the output tail
// (whose beginning the relay's ring may have cut inside a secret:
// Redactor::redact_tail).
void mask_step_result(StepResult& result, const Redactor& secrets);

}  // namespace jobwarden::core
