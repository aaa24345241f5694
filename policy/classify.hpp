#pragma once
// Classification: the evidence gathered about one attempt -> an Outcome, and
// the starvation assessment (docs/classification.md). Pure functions.

#include <optional>
#include <string>

#include "policy/outcome.hpp"

namespace jobwarden::policy {

// What is known about how the attempt's main process ended.
struct Ending {
  bool start_failed = false;         // exec never happened
  bool deadline_expired = false;     // our timeout fired before the main process ended
  bool cancel_requested = false;     // the CI asked us to stop before the main process ended
  bool oom_killed = false;           // the cgroup OOM-kill counter moved during the attempt
  std::optional<int> exit_code;      // WIFEXITED
  std::optional<int> term_signal;    // WIFSIGNALED
  bool signal_sent_by_us = false;    // we had sent term_signal to the tree before it died
  bool ci_abort = false;             // the CI's own abort reached the step first (Jenkins SIGTERMs
                                     // the step's processes, then jobwarden): a cancel, not a crash
};

Outcome classify(const Ending& ending);

// What the step itself "returned" for an outcome, as a shell would report it:
// 0; its own code (1 when unknown); 124 for our timeout (GNU timeout's code);
// 128+N for a death by signal N or a cancel by signal N; 137 for an OOM kill;
// `start_exit_code` (127 not found, 126 not executable) when it never started.
int step_exit_code(Outcome outcome, const Ending& ending, int start_exit_code, int cancel_signal);

// One short window (at most 250 ms) of an attempt: its length, the CPU time
// the step used, how long it waited for a CPU (its cgroup's cpu.pressure
// "some": wall time with at least one of its tasks runnable but not
// running), and the CPU time everything else used on the CPUs the step may
// use (/proc/stat of those CPUs, less the step's own).
struct CpuWindow {
  double seconds = 0.0;
  double step_cpu = 0.0;
  double step_wait = 0.0;
  double others_cpu = 0.0;
};

// The CPU the step lost to others in a window (docs/classification.md):
// min(its wait, what others used). Waiting behind its own tasks (a burst of
// children, more runnable threads than CPUs) loses nothing to anyone.
double lost_in_window(const CpuWindow& w);

// Inputs of the starvation test. Absent optionals mean "could not measure".
struct CpuEvidence {
  double wall_seconds = 0.0;                 // the attempt's running time
  double cpu_seconds = 0.0;                  // CPU time of the whole tree
  std::optional<double> cpu_wait_seconds;    // runnable-but-not-running time of the step's tasks
  std::optional<double> usable_cpus;         // CPUs the step may use (affinity, cpu.max)
  // Deprivation (docs/classification.md): the sum of lost_in_window over the
  // attempt, and the CPUs others used, on average, while the step waited.
  // When lost_cpu_seconds is absent the step's wait alone is compared.
  std::optional<double> lost_cpu_seconds = std::nullopt;
  std::optional<double> others_cpus_while_waiting = std::nullopt;
};

struct StarvationThresholds {
  double cpu_wait = 0.25;   // minimum fraction of wall time spent waiting for a CPU
  double cpu_share = 0.5;   // maximum fraction of the usable CPUs the step got

  bool operator==(const StarvationThresholds&) const = default;
};

struct StarvationAssessment {
  bool measured = false;                 // both inputs were available
  bool starved = false;                  // only ever true when measured
  std::optional<double> cpu_wait_fraction;  // lost_cpu_seconds / wall (else cpu_wait_seconds / wall)
  std::optional<double> cpu_share;          // cpu / (wall * usable cpus)
  std::string explanation;               // one phrase for the job log
};

StarvationAssessment assess_starvation(const CpuEvidence& evidence,
                                       const StarvationThresholds& thresholds);

}  // namespace jobwarden::policy
