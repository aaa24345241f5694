#pragma once
// What one attempt used: CPU time and peak RSS of the reaped members (wait4's
// rusage), the step's CPU wait (schedstat run_delay, see schedstat.hpp), the
// usable CPUs and the host's CPU pressure over the attempt. The runner feeds
// it; it never looks for processes itself.

#include <optional>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/process_runner.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/schedstat.hpp"

namespace jobwarden::platform {

class UsageMeter {
 public:
  explicit UsageMeter(core::Millis sample_interval) : m_interval(sample_interval) {}

  // Starts measuring an attempt (everything from the last one is dropped).
  void begin(core::MonoTime now);

  // When the next periodic sample is due.
  core::MonoTime next_sample() const { return m_next_sample; }

  // The periodic sample: re-reads the members seen so far, and every few
  // ticks takes the member list afresh from `list_members` (a /proc scan
  // for the process-group containment), so that an idle step stays cheap.
  template <typename ListMembers>
  void sample(core::MonoTime now, ListMembers&& list_members) {
    if (m_tick++ % k_full_scan_every == 0) m_members = list_members();
    resample_members(now);
  }

  // A member about to vanish (a zombie before it is reaped, a process about
  // to be signalled): its CPU wait is read while it still can be.
  void observe(int pid) { m_cpu_wait.observe_process(pid); }

  // A member of the step was reaped.
  void reaped(const ReapedChild& child);

  // The running attempt's CPU now: reaped members by their rusage, the live
  // ones (and zombies not yet reaped) by /proc/PID/stat, which wait4 will
  // later report the same way; their CPU wait is read afresh.
  core::CpuSoFar so_far(const std::vector<int>& live_pids);

  // The attempt's figures (output fields are left alone).
  void fill(core::AttemptUsage& usage, core::MonoTime now) const;

 private:
  static constexpr int k_full_scan_every = 4;
  void resample_members(core::MonoTime now);

  core::Millis m_interval;
  CpuWaitTracker m_cpu_wait;
  std::vector<int> m_members;  // as of the last full list
  int m_tick = 0;
  core::MonoTime m_started{};
  core::MonoTime m_next_sample{};
  std::optional<unsigned long long> m_psi_start;
  std::optional<double> m_usable_cpus;
  double m_cpu_seconds = 0.0;
  long m_peak_rss_kib = 0;
  int m_reaped = 0;
};

}  // namespace jobwarden::platform
