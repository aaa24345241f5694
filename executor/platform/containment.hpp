#pragma once
// Containment: what holds one attempt's process tree, and how that tree is
// listed, signalled and found empty. The runner owns the event loop and the
// reaping; a Containment owns membership. Implementations:
//   CgroupContainment        a cgroup v2 leaf per attempt (cgroup_containment.hpp)
//   ProcessGroupContainment  jobwarden is a child subreaper; the tree is
//                            "descendant of jobwarden", read from /proc.
// choose_containment (cgroup_containment.hpp) picks one and says why.
//
// jobwarden stays a child subreaper whatever the mechanism, so orphans are
// reparented to it and it reaps every member.

#include <optional>
#include <string>
#include <vector>

#include "executor/core/process_runner.hpp"
#include "executor/core/result.hpp"
#include "executor/platform/spawn.hpp"

namespace jobwarden::platform {

// Where a runner's attempts' cgroups go: leaves named
// "jobwarden-<owner_pid>-<attempt>" under v2_parent (and v1_memory_parent).
struct LeafPlacement {
  int owner_pid = 0;
  std::string v2_parent;
  std::string v1_memory_parent;  // "" = none
};

class Containment {
 public:
  virtual ~Containment() = default;

  // One line for the job log: which mechanism holds the step, and why.
  virtual std::string description() const = 0;

  // Whether prepare() can hold a memory limit (and count OOM kills).
  virtual bool memory_limits_enforced() const = 0;

  // Before the spawn: makes the attempt's container (with the memory limit,
  // when one is asked for) and fills in what the child must join between
  // fork and exec; or why the attempt cannot start.
  virtual core::Status<std::string> prepare(std::optional<unsigned long long> memory_limit, CgroupJoin& join) = 0;

  // The attempt's main process has started.
  virtual void started(int main_pid) = 0;

  // The live members (zombies left out), with command lines, for signals,
  // logs and reports.
  virtual std::vector<core::ProcessInfo> members() = 0;

  // The members' pids, as cheaply as the mechanism allows (for sampling).
  virtual std::vector<int> member_pids() = 0;

  // Sends `sig` to every member in `targets` (SIGTERM is followed by
  // SIGCONT, so a stopped member can act on it).
  virtual void send(const std::vector<core::ProcessInfo>& targets, int sig) = 0;

  // SIGKILLs every member and returns them, one entry per member killed.
  // A cgroup kills first and names afterwards (cgroup.procs read,
  // cgroup.kill written, then the pids described: members described before,
  // e.g. at the SIGTERM, as they were then when the pidfd kept of the process
  // described says it still lives (it holds the pid), the others read now,
  // zombies included); without one the members are listed, then signalled.
  virtual std::vector<core::ProcessInfo> kill_members() = 0;

  // True when no member is left. A cgroup: no live member ("populated 0";
  // an exited member's zombie has left the cgroup, the runner reaps it
  // later). Without one: no member alive or unreaped. Never reaps.
  virtual bool empty() = 0;

  // Whether empty() waits for exited members to be reaped (false: a zombie
  // is no member, and its reaping can wait until the tree is empty).
  virtual bool zombies_are_members() const = 0;

  // A descriptor poll() reports with POLLPRI when empty() may have changed
  // (the cgroup's cgroup.events), or -1: then only SIGCHLD tells.
  virtual int empty_watch_fd() const = 0;

  // A child of jobwarden that is not the step's and never will be (the
  // guardian): never a member, never signalled, never waited for.
  virtual void ignore_child(int pid) = 0;

  // A child of jobwarden was reaped: true when it was the step's (false:
  // a foreign child, which yields no event and no usage).
  virtual bool claim_reaped(int pid) = 0;
  // Whether claim_reaped would call this child foreign (asked before a
  // zombie's usage is read: an ignored guardian's is not the step's).
  virtual bool is_foreign(int pid) const = 0;

  // The kernel's own figures for the attempt, where the mechanism has them:
  // OOM kills, peak memory, exact CPU time; and what contained it.
  virtual void read_evidence(core::AttemptUsage& usage) = 0;

  // The cgroup directories that hold the current attempt (none without a
  // cgroup), for the guardian.
  virtual std::vector<std::string> cgroup_paths() const = 0;
  // The descriptor whose flock says the current attempt's leaf is ours
  // (cgroup_leaf.hpp; -1 without a cgroup), for the guardian to share.
  virtual int leaf_lock_fd() const = 0;

  // Where every attempt's cgroups are made (nullopt without a cgroup), for
  // a later cleanup (`gitlab cleanup`).
  virtual std::optional<LeafPlacement> leaf_placement() const = 0;

  // After the attempt (the tree is empty or given up on): whatever survived
  // is written off so it can neither hold up nor be blamed on the next one.
  virtual void end_attempt() = 0;
};

}  // namespace jobwarden::platform
