#pragma once
// The step's own CPU wait: how long its tasks were runnable but not running,
// from the `run_delay` field of /proc/PID/task/TID/schedstat (nanoseconds,
// needs CONFIG_SCHED_INFO; present on Debian, Ubuntu, RHEL kernels).
//
// A task's run_delay dies with it, so the tracker keeps the largest value it
// ever saw per task, and the supervisor samples (a) periodically while the
// step runs, (b) each zombie just before reaping it — a zombie's schedstat
// is still readable — and (c) the whole tree before signalling it. Tasks that
// are born and reaped by a descendant between two samples can still be
// missed; their share is small unless the step forks very short-lived,
// CPU-starved tasks in bulk (documented in HACKING.md).

#include <optional>
#include <unordered_map>

namespace jobwarden::platform {

class CpuWaitTracker {
 public:
  // Reads every thread of `pid`. Returns false when schedstat is unavailable.
  bool observe_process(int pid);

  bool available() const { return m_available; }
  double total_seconds() const;
  void reset();

 private:
  void record(int tid, unsigned long long run_delay_ns);

  std::unordered_map<int, unsigned long long> m_by_tid;  // largest run_delay seen
  unsigned long long m_retired_ns = 0;  // tasks whose tid was reused by a newer task
  bool m_available = false;
};

// CPU time (user+sys, in seconds) of a live or zombie process, its threads
// and the children it has already waited for (/proc/PID/stat utime, stime,
// cutime, cstime): what wait4's rusage will report once it is reaped.
std::optional<double> process_cpu_seconds(int pid);

}  // namespace jobwarden::platform
