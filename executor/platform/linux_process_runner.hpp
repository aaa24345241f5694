#pragma once
// The real ProcessRunner: the event loop of an attempt. It composes parts
// that each have one job:
//   SignalChannel + ppoll   wake-ups: signals (SIGCHLD, cancels), output, deadlines
//   child_reaper            the one place that reaps (waitid/wait4)
//   Containment             who belongs to the step; signalling; "empty"
//   UsageMeter              CPU time, CPU wait, peak RSS, pressure
//   OutputRelay             the step's output to ours, and its tail
//   Guardian                kills the step if jobwarden is SIGKILLed
//
// Exactly one owner of waitpid(-1): this class (through child_reaper).
// Nothing else in the process may reap children while it exists.

#include <deque>
#include <memory>
#include <optional>
#include <unordered_set>

#include "executor/core/process_runner.hpp"
#include "executor/core/result.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/containment.hpp"
#include "executor/platform/guardian.hpp"
#include "executor/platform/output_relay.hpp"
#include "executor/platform/signals.hpp"
#include "executor/platform/usage_meter.hpp"
#include "policy/admin_config.hpp"

namespace jobwarden::platform {

struct RunnerOptions {
  int stdout_fd = 1;
  int stderr_fd = 2;
  std::size_t tail_bytes = 64 * 1024;
  core::Millis sample_interval{1000};  // CPU-wait sampling while the step runs
  bool subreaper = true;               // off only with the tree-kill kill-switch
  policy::CgroupMode cgroup = policy::CgroupMode::automatic;  // admin features.cgroup
  std::string cgroup_parent;           // admin cgroup_parent ("" = jobwarden's own cgroup)
  bool guardian = true;                // fork a guardian (guardian.hpp); only with the subreaper
  bool no_new_privileges = false;      // admin no_new_privileges: PR_SET_NO_NEW_PRIVS for every step
};

class LinuxProcessRunner final : public core::ProcessRunner {
 public:
  // Blocks the signals we handle, becomes a child subreaper and chooses the
  // containment (choose_containment). Fails when the kernel refuses a
  // signalfd or the subreaper role, or a required cgroup is unavailable;
  // the error says which.
  static core::Result<std::unique_ptr<LinuxProcessRunner>, std::string> create(
      const RunnerOptions& options);
  ~LinuxProcessRunner() override;  // kills and reaps any tree still alive

  core::StartResult start(const core::SpawnRequest& request) override;
  core::RunnerEvent wait(std::optional<core::MonoTime> until) override;
  std::vector<core::ProcessInfo> signal_tree(core::TreeSignal sig) override;
  std::vector<core::ProcessInfo> list_tree() override;
  bool tree_empty() override;
  core::CpuSoFar cpu_so_far() override;
  core::AttemptUsage finish_attempt() override;

  // Relays what the step has written so far (see OutputRelay::relay_available).
  void relay_pending() { m_relay.relay_available(); }

  // Last resort for internal faults: SIGKILL every member and reap them,
  // for at most `budget`. Returns true when the tree is empty.
  bool kill_everything(core::Millis budget);

  // Which mechanism contains the step, and why (for the job log).
  std::string containment_description() const { return m_containment->description(); }
  bool memory_limits_enforced() const { return m_containment->memory_limits_enforced(); }
  // The cgroup directories of the attempt under way (none without a cgroup).
  std::vector<std::string> cgroup_paths() const { return m_containment->cgroup_paths(); }
  // Where every attempt's cgroups go (nullopt without a cgroup).
  std::optional<LeafPlacement> leaf_placement() const { return m_containment->leaf_placement(); }

 private:
  LinuxProcessRunner(const RunnerOptions& options, std::unique_ptr<Containment> containment);
  void on_reaped(const ReapedChild& child);
  void reap_all();
  void reap_main();
  void watch_children();
  void on_sigchld();
  void on_empty_watch();
  void reap_leftovers(core::Millis budget);
  void handle_signals();
  void note_ci_gone();
  [[noreturn]] void on_wait_failure(int err);
  // The live members this attempt may signal: all of them, or only the main
  // process when tree kill is off.
  std::vector<core::ProcessInfo> signal_targets();
  // Without a cgroup: hands the guardian pidfds of members it has not seen
  // yet that are outside the main process's group (that group it has).
  void guard_new_members(const std::vector<int>& pids);

  RunnerOptions m_options;
  SignalChannel m_signals;
  OutputRelay m_relay;
  std::unique_ptr<Containment> m_containment;
  UsageMeter m_meter;
  void start_guardian();
  Guardian m_guardian;
  bool m_guard_by_processes = false;  // no cgroup: the guardian gets pidfds
  std::unordered_set<int> m_guarded;  // members handed to the guardian (or in the main's group)
  std::deque<core::RunnerEvent> m_events;

  int m_main_pid = 0;
  bool m_main_reaped = true;
  bool m_tree_kill = true;
  bool m_ci_gone_reported = false;  // the CI's stream closed: cancelled once
  bool m_reaping_deferred = false;  // killed in a cgroup: SIGCHLD reaps the main process only
  bool m_empty_reported = false;    // tree_emptied queued this attempt
};

}  // namespace jobwarden::platform
