#pragma once
// The text of jobwarden's job-log lines (docs/classification.md, "Evidence"), as pure functions
// so that their wording is unit-tested and shared by every dialect.

#include <string>
#include <vector>

#include "executor/core/attempt.hpp"
#include "executor/core/redactor.hpp"

namespace jobwarden::core {

// "3 processes: 1234 `bash -c x`, 1240 `sleep 100` (stopped), ..." — at most
// `max_named` are named; the rest are counted.
// `secrets` (may be null) are masked in each command before it is squeezed
// and cut (after that the mask would no longer find them).
std::string describe_processes(const std::vector<ProcessInfo>& procs, std::size_t max_named = 25,
                               const Redactor* secrets = nullptr);

// "timeout 2s reached: SIGTERM to 3 processes: ..." (`secrets` as for describe_processes)
std::string signal_line(const SignalSent& sent, bool tree_kill, const Redactor* secrets = nullptr);

// "step 'build' attempt 1/3: timeout 30m, grace 10s, tree kill on: make -j2"
std::string attempt_header(const std::string& step, int number, int max_attempts,
                           const AttemptSettings& settings, const std::vector<std::string>& argv);

// "exited 3" / "killed by SIGKILL (sent by jobwarden)" / "not started: ..."
std::string status_phrase(const AttemptRecord& rec);

// The one summary line of an attempt: outcome and all the evidence
// (`secrets` as for describe_processes).
std::string attempt_summary(const AttemptRecord& rec, int max_attempts, const Redactor* secrets = nullptr);

// Shell-like rendering of argv, truncated to `max_chars`.
std::string render_command(const std::vector<std::string>& argv, std::size_t max_chars = 120);

std::string format_kib(long kib);

}  // namespace jobwarden::core
