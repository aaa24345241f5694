#pragma once
// The real ProcessRunner: one event loop (ppoll over a signalfd and the two
// output pipes; no busy polling, no sleeps), a child subreaper so that the
// whole tree stays ours, /proc for membership, wait4 for usage.
//
// Exactly one owner of waitpid(-1): this class. Nothing else in the process
// may reap children while it exists.

#include <deque>
#include <unordered_set>
#include <memory>
#include <optional>

#include "executor/core/process_runner.hpp"
#include "executor/core/result.hpp"
#include "executor/platform/output_relay.hpp"
#include "executor/platform/proc_tree.hpp"
#include "executor/platform/schedstat.hpp"
#include "executor/platform/signals.hpp"

namespace jobwarden::platform {

struct RunnerOptions {
  int stdout_fd = 1;
  int stderr_fd = 2;
  std::size_t tail_bytes = 64 * 1024;
  core::Millis sample_interval{1000};  // schedstat sampling while the step runs
  bool subreaper = true;               // off only with the tree-kill kill-switch
};

class LinuxProcessRunner final : public core::ProcessRunner {
 public:
  // Blocks the signals we handle and becomes a child subreaper. Fails only
  // when the kernel refuses a signalfd.
  static core::Result<std::unique_ptr<LinuxProcessRunner>, core::SysError> create(
      const RunnerOptions& options);
  ~LinuxProcessRunner() override;  // kills and reaps any tree still alive

  core::StartResult start(const core::SpawnRequest& request) override;
  core::RunnerEvent wait(std::optional<core::MonoTime> until) override;
  std::vector<core::ProcessInfo> signal_tree(core::TreeSignal sig) override;
  std::vector<core::ProcessInfo> list_tree() override;
  bool tree_empty() override;
  core::AttemptUsage finish_attempt() override;

  // Last resort for internal faults: SIGKILL every descendant and reap them,
  // for at most `budget`. Returns true when the tree is empty.
  bool kill_everything(core::Millis budget);

 private:
  explicit LinuxProcessRunner(const RunnerOptions& options);
  void reap_all();
  bool has_children() const;  // any child at all, alive or zombie (waitid WNOWAIT)
  void sample_cpu_wait();
  void handle_signals();
  // Our descendants that belong to the step: everything below us except the
  // processes in m_foreign and their descendants.
  std::vector<ProcStat> own_descendants() const;
  std::vector<core::ProcessInfo> own_tree() const;

  // Children that are not the step's: those jobwarden already had when it
  // started (a parent shell's `sleep &` before `exec jobwarden`), and members
  // that survived SIGKILL in an earlier attempt. Never signalled, never
  // waited for.
  std::unordered_set<int> m_foreign;

  RunnerOptions m_options;
  SignalChannel m_signals;
  OutputRelay m_relay;
  CpuWaitTracker m_cpu_wait;
  std::deque<core::RunnerEvent> m_events;

  int m_main_pid = 0;
  bool m_main_reaped = true;
  bool m_tree_kill = true;
  core::MonoTime m_started{};
  core::MonoTime m_next_sample{};
  std::optional<unsigned long long> m_psi_start;
  std::optional<double> m_usable_cpus;
  std::vector<int> m_sampled_members;  // tree members as of the last full /proc scan
  int m_sample_tick = 0;
  double m_cpu_seconds = 0.0;
  long m_peak_rss_kib = 0;
  int m_reaped = 0;
};

}  // namespace jobwarden::platform
