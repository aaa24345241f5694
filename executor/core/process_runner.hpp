#pragma once
// The seam between the supervisor (core, pure decisions) and the operating
// system (platform/linux_process_runner). The supervisor owns *when* things
// happen; the runner owns *how*: spawning, watching, signalling, reaping and
// measuring one attempt's process tree.

#include <optional>
#include <string>
#include <vector>

#include "executor/core/clock.hpp"
#include "policy/classify.hpp"

namespace jobwarden::core {

// The two signals of a tree kill; the platform maps them to SIGTERM (followed
// by SIGCONT, so stopped members can act on it) and SIGKILL.
enum class TreeSignal { terminate, kill };

// The user a step runs as (the admin's `run_as`), resolved before the fork:
// the child sets groups, gid, uid in that order just before exec.
struct StepUser {
  std::string name;
  unsigned uid = 0;
  unsigned gid = 0;
  std::vector<unsigned> groups;  // supplementary groups, the primary included
  std::string home;
};

struct SpawnRequest {
  std::vector<std::string> argv;   // argv[0] is searched on PATH when it has no '/'
  bool tree_kill = true;           // false: only the direct child is ever signalled
                                   // (the supervisor sets it from AttemptSettings)
  std::vector<std::string> extra_env;  // NAME=VALUE added to (or replacing in) our environment
  std::optional<StepUser> user;        // none: the step runs as jobwarden's own user
  std::optional<unsigned long long> memory_limit_bytes = std::nullopt;  // the attempt's memory limit (cgroup)
};

struct StartResult {
  bool started = false;
  int pid = 0;
  int exit_code = 0;         // when !started: 127 (not found) or 126 (not executable)
  std::string error;         // when !started: one line, e.g. "foo: not found on PATH"
};

// One member of the tree, as seen when it was signalled or left behind.
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  int pgid = 0;
  int sid = 0;
  char state = '?';          // /proc state letter: R S D T Z ...; '?' when not read
  std::string command;       // command line, or [comm] when it has none; "" when not
                             // read (a large tree in a cgroup is counted, and only
                             // some of its members are named: CgroupContainment)
};

struct RunnerEvent {
  enum class Kind {
    deadline,         // `until` passed with nothing else to report
    main_exited,      // the direct child has been reaped
    cancel_requested, // jobwarden received SIGTERM/SIGINT/SIGHUP
    child_reaped,     // some other member of the tree was reaped
    tree_emptied,     // the tree has no live member left (a cgroup's "populated 0");
                      // the main process's exit, when not reported yet, comes first
  };
  Kind kind = Kind::deadline;
  std::optional<int> exit_code;    // main_exited: WIFEXITED
  std::optional<int> term_signal;  // main_exited: WIFSIGNALED
  int cancel_signal = 0;           // cancel_requested
  bool parent_died = false;        // cancel_requested: jobwarden's parent process died
};

// What the runner measured over the attempt.
struct AttemptUsage {
  double cpu_seconds = 0.0;                 // user+sys of the tree (cgroup cpu.stat, else
                                            // the reaped members' rusage)
  long peak_rss_kib = 0;                    // largest ru_maxrss of any reaped member
  std::optional<unsigned long long> peak_memory_bytes;  // the cgroup's peak (memory.peak)
  std::optional<unsigned long long> oom_kills;  // the kernel's OOM-kill count for the step's cgroup
  std::string containment;                  // what held the tree ("cgroup v2 leaf /sys/...")
  int processes_reaped = 0;
  std::optional<double> cpu_wait_seconds;   // sum of the tasks' schedstat run_delay
  std::string cpu_wait_source;              // how cpu wait was measured, or why not
  std::optional<double> usable_cpus;
  std::optional<double> host_cpu_pressure;  // PSI cpu "some" over the attempt, fraction of wall
  // Deprivation (docs/classification.md): what the step lost to others, and
  // the CPUs others used on average while it waited; with a cgroup, the
  // short windows they come from (merged pairwise beyond k_max_windows).
  std::optional<double> lost_cpu_seconds;
  std::optional<double> others_cpus_while_waiting;
  std::vector<policy::CpuWindow> windows;
  static constexpr std::size_t k_max_windows = 512;
  std::string output_tail;                  // the last bytes of stdout+stderr, interleaved
  unsigned long long output_bytes = 0;
  unsigned long long output_dropped = 0;    // not relayed: our own reader stopped reading
};

// The attempt's CPU so far, while it still runs (live members included).
struct CpuSoFar {
  double cpu_seconds = 0.0;                // user+sys of the tree, reaped and live members
  std::optional<double> cpu_wait_seconds;  // as AttemptUsage
  std::optional<double> usable_cpus;
  std::optional<double> lost_cpu_seconds;  // as AttemptUsage
  std::optional<double> others_cpus_while_waiting;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  // Starts the step in a new session. Measurement of the attempt starts here.
  virtual StartResult start(const SpawnRequest& request) = 0;

  // Relays output and waits until something happens or `until` passes
  // (never, when empty). Works without a child too (backoff sleeps).
  virtual RunnerEvent wait(std::optional<MonoTime> until) = 0;

  // Sends `sig` to every live member of the tree (only the direct child when
  // tree_kill is off) and returns who was signalled, one entry per member.
  // A member is named as the runner knows it: with a cgroup, a SIGKILL goes
  // to the whole tree first and the members are named afterwards, those
  // already named at an earlier signal as they were then (state '?').
  virtual std::vector<ProcessInfo> signal_tree(TreeSignal sig) = 0;

  // The members still alive (tree kill off: those left behind by the child).
  virtual std::vector<ProcessInfo> list_tree() = 0;

  // True when no member is left and the main process's exit has been handed
  // out by wait(). "No member": with a cgroup, none alive (an exited
  // member's zombie is no member; finish_attempt reaps it); without one,
  // every member exited and reaped. Never reaps by itself.
  virtual bool tree_empty() = 0;

  // Measures the running attempt now (for a starvation check before it ends).
  virtual CpuSoFar cpu_so_far() = 0;

  // Ends the attempt: reaps what the tree left (nothing of it stays a
  // zombie), drains output still buffered and returns the measurements.
  virtual AttemptUsage finish_attempt() = 0;
};

}  // namespace jobwarden::core
