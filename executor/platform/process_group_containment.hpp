#pragma once
// The containment that needs no cgroup: jobwarden is a child subreaper
// (PR_SET_CHILD_SUBREAPER), so every descendant of the step — setsid'd and
// double-forked ones included — stays a descendant of jobwarden until it is
// reaped, and the tree is the set of processes whose parent chain leads to
// us, read from one pass over /proc. Empty is "no child left"
// (waitid(WNOWAIT) says ECHILD).

#include <unordered_map>
#include <unordered_set>

#include "executor/platform/containment.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/proc_tree.hpp"

namespace jobwarden::platform {

class ProcessGroupContainment final : public Containment {
 public:
  // Children that exist already (a parent shell's `sleep &` before
  // `exec jobwarden`) are foreign: never signalled, never waited for.
  // `why`: why no cgroup holds the step ("" when nobody asked).
  // `subreaper` is false only with the tree-kill kill-switch: orphans then
  // go to init, and the members are our descendants plus the step's session.
  ProcessGroupContainment(bool subreaper, std::string why);

  // The Containment interface (containment.hpp): both implementations
  // declare the same overrides (a repeat the duplicates tool shows; inherent).
  std::string description() const override;
  bool memory_limits_enforced() const override { return false; }
  core::Status<std::string> prepare(std::optional<unsigned long long> memory_limit, CgroupJoin& join) override;
  void started(int main_pid) override;
  std::vector<core::ProcessInfo> members() override;
  std::vector<int> member_pids() override;
  void send(const std::vector<core::ProcessInfo>& targets, int sig) override;
  std::vector<core::ProcessInfo> kill_members() override;
  bool empty() override;
  bool zombies_are_members() const override { return true; }
  int empty_watch_fd() const override { return -1; }
  void ignore_child(int pid) override { m_ignored.insert(pid); }
  bool is_foreign(int pid) const override { return m_ignored.count(pid) != 0 || m_foreign.count(pid) != 0; }
  bool claim_reaped(int pid) override;
  void read_evidence(core::AttemptUsage& usage) override;
  std::vector<std::string> cgroup_paths() const override { return {}; }
  int leaf_lock_fd() const override { return -1; }
  std::optional<LeafPlacement> leaf_placement() const override { return std::nullopt; }
  void end_attempt() override;

 private:
  // Our descendants except the foreign ones and their descendants.
  std::vector<ProcStat> own_descendants() const;
  // No child but the ignored ones (never reaps).
  bool no_member_child() const;

  bool m_subreaper;
  std::string m_why;
  int m_main_pid = 0;
  // Children that are not the step's: those present at start, and members
  // that survived SIGKILL in an earlier attempt (uninterruptible sleep).
  std::unordered_set<int> m_foreign;
  std::unordered_set<int> m_ignored;  // the guardian: not the step's, ever
  // pidfds of the members the last listing described (members()): each
  // opened before the member was read, found alive after; given up at the
  // next listing or signal, when reaped, or at the end of the attempt.
  std::unordered_map<int, UniqueFd> m_described;
};

}  // namespace jobwarden::platform
