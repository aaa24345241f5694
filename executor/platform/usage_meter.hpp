#pragma once
// What one attempt used: CPU time and peak RSS of the reaped members (wait4's
// rusage), the step's CPU wait, what it lost to others (deprivation,
// docs/classification.md), the usable CPUs and the host's CPU pressure. The
// runner feeds it; it never looks for processes itself.
//
// With a cgroup leaf the meter samples short windows (250 ms) from the
// leaf's cpu.stat (the step's CPU, exact, short-lived tasks included) and
// cpu.pressure (its wait), and /proc/stat restricted to the usable CPUs
// (everyone's CPU): three small reads per window through descriptors kept
// open for the attempt, whatever the size of the tree. Without one it reads schedstat run_delay of the members once a
// second (schedstat.hpp) and compares the attempt's wait with the CPU others
// used over the whole attempt.

#include <optional>
#include <string>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/process_runner.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/schedstat.hpp"

namespace jobwarden::platform {

class UsageMeter {
 public:
  static constexpr core::Millis k_window{250};

  explicit UsageMeter(core::Millis sample_interval) : m_interval(sample_interval) {}

  // Starts measuring an attempt (everything from the last one is dropped):
  // the host's side (everyone's CPU on the usable CPUs, the host's CPU
  // pressure), read just before the step is started at `now`.
  void begin(core::MonoTime now);
  // The step has started. `leaf`: the attempt's cgroup v2 directory, made
  // for it, "" without one. A new leaf's counters start at zero, so this
  // may come after the step started (while its exec runs, which jobwarden
  // only waits for) and still count all of the step's CPU and wait.
  void step_started(std::string leaf = "");

  // When the next periodic sample is due.
  core::MonoTime next_sample() const { return m_next_sample; }

  // The periodic sample. With a leaf: closes a window. Without: re-reads the
  // members seen so far, and every few ticks takes the member list afresh
  // from `list_members` (a /proc scan), so that an idle step stays cheap.
  template <typename ListMembers>
  void sample(core::MonoTime now, ListMembers&& list_members) {
    if (!m_leaf.empty()) {
      close_window(now);
      return;
    }
    if (m_tick++ % k_full_scan_every == 0) m_members = list_members();
    resample_members(now);
  }

  // A member about to vanish (a zombie before it is reaped, a process about
  // to be signalled): its CPU wait is read while it still can be (only
  // without a leaf: the leaf's counters lose nothing).
  void observe(int pid) {
    if (m_leaf.empty()) m_cpu_wait.observe_process(pid);
  }
  // Whether observe() wants to see zombies before they are reaped.
  bool observes_zombies() const { return m_leaf.empty(); }

  // The running attempt's CPU now. With a leaf: its cpu.stat and the
  // windows so far. Without: reaped members by their rusage, the live ones
  // (and zombies not yet reaped) by /proc/PID/stat, which wait4 will later
  // report the same way; their CPU wait is read afresh.
  core::CpuSoFar so_far(const std::vector<int>& live_pids);

  // A member of the step was reaped.
  void reaped(const ReapedChild& child);

  // Ends the attempt's measurement and fills in its figures (output fields
  // are left alone; a cgroup's exact CPU time may replace cpu_seconds later).
  void finish(core::AttemptUsage& usage, core::MonoTime now);

 private:
  static constexpr int k_full_scan_every = 4;
  struct Counters {
    core::MonoTime at{};
    std::optional<double> step_cpu;  // leaf cpu.stat usage, seconds
    std::optional<double> step_wait; // leaf cpu.pressure some total, seconds
    std::optional<double> busy;      // /proc/stat busy of the usable CPUs, seconds
  };
  Counters read_counters(core::MonoTime now) const;
  void close_window(core::MonoTime now);
  void resample_members(core::MonoTime now);
  void finish_windows(core::AttemptUsage& u) const;
  void finish_without_leaf(core::AttemptUsage& u, double wall) const;

  core::Millis m_interval;
  std::string m_leaf;
  RereadableFile m_proc_stat;          // everyone's CPU
  RereadableFile m_leaf_cpu_stat;      // the step's CPU (with a leaf)
  RereadableFile m_leaf_cpu_pressure;  // the step's wait (with a leaf)
  std::vector<int> m_cpus;  // the affinity mask's CPUs
  CpuWaitTracker m_cpu_wait;
  std::vector<int> m_members;  // as of the last full list
  int m_tick = 0;
  core::MonoTime m_started{};
  core::MonoTime m_next_sample{};
  std::optional<unsigned long long> m_psi_start;
  std::optional<double> m_usable_cpus;
  Counters m_first, m_last;
  std::vector<policy::CpuWindow> m_windows;
  double m_lost = 0.0, m_waited_seconds = 0.0, m_others_while_waiting = 0.0, m_wait_total = 0.0;
  bool m_windows_complete = true;  // every window had all three inputs
  double m_cpu_seconds = 0.0;
  long m_peak_rss_kib = 0;
  int m_reaped = 0;
};

}  // namespace jobwarden::platform
