#pragma once
// The JSON report schema "jobwarden.report/1": what was run,
// under which policy, what was decided, and the evidence of every attempt.
// Rendering is pure; the file is written by platform::write_file_atomically
// (safe_files.hpp), so a reader never sees half a report.

#include <string>
#include <vector>

#include "executor/core/step_runner.hpp"

namespace jobwarden::io {

inline constexpr const char* k_report_schema = "jobwarden.report/1";

struct ReportInput {
  std::string step;
  std::vector<std::string> command;
  std::string ci;             // dialect name
  std::string policy_source;  // file path or "embedded default"
  std::string policy_text;    // hashed into policy.hash
  const core::StepResult* result = nullptr;
};

// "2026-05-01T12:00:00.250Z"
std::string iso8601(core::WallTime t);

// The report as pretty-printed JSON (ends with a newline).
std::string render_report(const ReportInput& input);

// FNV-1a 64-bit of `text`, as 16 hex digits: identifies the policy a report
// was decided under (not a security hash).
std::string policy_hash(const std::string& text);

}  // namespace jobwarden::io
