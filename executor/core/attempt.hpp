#pragma once
// One attempt of a step: start it, bound it, kill what is left of its tree,
// and record the evidence. The state machine is pure; the ProcessRunner does
// the system work and the Clock tells the time, so unit tests run it against
// fakes without forking or sleeping.

#include <string>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/process_runner.hpp"
#include "policy/classify.hpp"
#include "policy/outcome.hpp"

namespace jobwarden::core {

class JobLog;

struct AttemptSettings {
  Millis timeout{30 * 60 * 1000};
  Millis grace{10 * 1000};
  // After SIGKILL, how long to wait for the tree to empty before giving up
  // on members the kernel will not kill (uninterruptible sleep, state D).
  Millis kill_wait{10 * 1000};
  // Pause between SIGKILL sweeps: members forked while a sweep ran, or
  // reparented to us, are found by the next sweep.
  Millis kill_sweep{50};
  bool tree_kill = true;
  bool starvation_enabled = true;
  // The CI job's own deadline (GitLab's job timeout), which the CI enforces
  // itself: the attempt is not cut short to pre-empt it. One exception: a
  // grace before it, the attempt's CPU is checked, and a starved attempt is
  // ended by jobwarden (AttemptRecord::starved_before_job_deadline) so that
  // the verdict can be a system failure instead of the CI's timeout.
  std::optional<MonoTime> job_deadline;
  // Jenkins' abort SIGTERMs the step's processes first and jobwarden after
  // them (its process-tree killer, up to 5 s apart). When non-zero, a step
  // whose main process died of a SIGTERM jobwarden did not send waits this
  // long, after its tree is gone, for a cancel signal to jobwarden: if one
  // comes, the attempt is `cancelled` (no retry), else it stays `signal`.
  Millis foreign_term_settle{0};
  policy::StarvationThresholds starvation;
};

struct SignalSent {
  std::string signal;                 // "SIGTERM", "SIGKILL"
  std::string reason;                 // "timeout 2s reached", "grace 10s over", ...
  double at_seconds = 0.0;            // since the attempt started
  std::vector<ProcessInfo> targets;
};

struct AttemptRecord {
  int number = 1;
  WallTime started_at{};
  WallTime ended_at{};
  StartResult start;
  policy::Ending ending;
  policy::Outcome outcome = policy::Outcome::success;
  int step_exit_code = 0;             // what the step itself "returned": code, 128+N, 124, 127/126
  int cancel_signal = 0;              // the signal the CI sent us, when cancelled
  bool parent_died = false;           // the cancel was jobwarden's parent dying
  bool starved_before_job_deadline = false;  // ended by jobwarden a grace before the job's deadline
  double run_seconds = 0.0;           // start -> main process ended (or deadline/cancel)
  double total_seconds = 0.0;         // start -> tree empty
  double kill_seconds = 0.0;          // first signal -> tree empty (0 when nothing was signalled)
  AttemptUsage usage;
  policy::StarvationAssessment starvation;
  std::vector<SignalSent> signals;
  // Every member the tree kill sent a signal (SIGTERM, SIGKILL or both), once
  // each; whether it then died of it or exited on its own is not told apart.
  // The report and metrics call them "processes_killed".
  std::vector<ProcessInfo> signalled;
  std::vector<ProcessInfo> escapees;  // signalled members that had left the step's process group
  std::vector<ProcessInfo> survivors; // alive when the attempt ended (unkillable, or tree kill off)
};

class AttemptSupervisor {
 public:
  AttemptSupervisor(ProcessRunner& runner, const Clock& clock, JobLog& log)
      : m_runner(runner), m_clock(clock), m_log(log) {}

  AttemptRecord run(const SpawnRequest& request, const AttemptSettings& settings, int number);

 private:
  enum class Phase { running, terminating, killing, done };
  struct State;

  void on_main_exited(State& s, const RunnerEvent& ev);
  void on_cancel(State& s, int sig);
  void on_timer(State& s);
  void check_starvation_before_job_deadline(State& s);
  bool died_of_foreign_term(const State& s) const;
  void await_ci_abort(State& s);
  void begin_termination(State& s, const std::string& reason);
  void kill_sweep(State& s, const std::string& reason);
  // Records and logs a signal sent to `targets`; returns when it was sent
  // (the report's at_seconds).
  MonoTime record_signal(State& s, TreeSignal sig, const std::string& reason, std::vector<ProcessInfo> targets);
  void finish(State& s);

  ProcessRunner& m_runner;
  const Clock& m_clock;
  JobLog& m_log;
};

}  // namespace jobwarden::core
