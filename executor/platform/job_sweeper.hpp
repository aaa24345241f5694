#pragma once
// Finds and kills processes by a marker in their environment: the GitLab
// driver's cleanup uses it to end whatever a job's steps left behind even
// when the `run` call that supervised them was SIGKILLed (its subreaper
// role died with it, and setsid'd members left every process group). The
// marker is inherited by every descendant that does not scrub its
// environment — the technique of Jenkins' ProcessTreeKiller.

#include <string>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/process_runner.hpp"

namespace jobwarden::platform {

// Processes (not jobwarden itself) whose environment holds exactly `entry` ("NAME=VALUE").
std::vector<core::ProcessInfo> processes_with_environment(const std::string& entry);

struct SweepResult {
  std::vector<core::ProcessInfo> terminated;  // everything that was signalled
  std::vector<core::ProcessInfo> survivors;   // still alive after SIGKILL and kill_wait
};

// SIGTERM (+SIGCONT) to every marked process, wait up to `grace` for them to
// exit (pidfd where the kernel has it, no busy polling), SIGKILL what is left
// and sweep again until none is found or `kill_wait` passes.
SweepResult sweep_marked_processes(const std::string& entry, core::Millis grace, core::Millis kill_wait);

}  // namespace jobwarden::platform
