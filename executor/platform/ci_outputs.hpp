#pragma once
// Files and commands a CI reads after the step: appending to a file the CI
// gave us ($GITHUB_STEP_SUMMARY) and running a CI's own command with some
// input (`buildkite-agent annotate`).

#include <string>
#include <string_view>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/result.hpp"

namespace jobwarden::platform {

// Appends `text` to the existing regular file `path`, unless the file would
// then hold more than `max_total` bytes. Never follows a symlink as the last
// component, never blocks on a FIFO, never creates the file.
core::Status<std::string> append_within(const std::string& path, std::string_view text, std::size_t max_total);

// Runs `argv` (argv[0] searched on PATH) with `input` on its stdin (at most
// 60 KiB), its stdout and stderr on our stderr, default signal dispositions
// and an empty mask; SIGKILLs it after `timeout`. Returns its exit code (or
// 128+N), or why it could not run. Only while no LinuxProcessRunner exists:
// it reaps its child itself.
core::Result<int, std::string> run_with_input(const std::vector<std::string>& argv, std::string_view input,
                                              core::Millis timeout);

}  // namespace jobwarden::platform
