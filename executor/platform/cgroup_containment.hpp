#pragma once
// The step in a cgroup v2 leaf of its own, one per attempt:
//   membership  the leaf's cgroup.procs (exact; nothing escapes by setsid,
//               double fork or reparenting)
//   kill        cgroup.kill (else freeze, SIGKILL each member, thaw)
//   empty       cgroup.events "populated 0"
//   evidence    cpu.stat, cpu.pressure; OOM kills and peak memory from the
//               v2 memory controller, or on hybrid hosts from a v1 memory
//               cgroup made beside the leaf.
// The leaf is made before the step starts (the child is born in it, or
// joins it before exec) and removed after every attempt, a failed start
// included. The first attempt's is made by choose_containment: its own
// mkdir decides whether the cgroup can be used at all (no probe first).

#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/containment.hpp"
#include "executor/platform/fd.hpp"
#include "policy/admin_config.hpp"

namespace jobwarden::platform {

class CgroupContainment final : public Containment {
 public:
  // `how`: the plan's description for the log (where, why, memory);
  // `first`: the first attempt's leaf, made while the plan was decided.
  CgroupContainment(CgroupPlan plan, std::string how, CgroupLeaf first);
  ~CgroupContainment() override;

  // The Containment interface (containment.hpp): both implementations
  // declare the same overrides (a repeat the duplicates tool shows; inherent).
  std::string description() const override { return m_how; }
  bool memory_limits_enforced() const override { return m_plan.v2_memory || !m_plan.v1_memory_parent.empty(); }
  core::Status<std::string> prepare(std::optional<unsigned long long> memory_limit, CgroupJoin& join) override;
  void started(int main_pid) override;
  std::vector<core::ProcessInfo> members() override;
  std::vector<int> member_pids() override;
  void send(const std::vector<core::ProcessInfo>& targets, int sig) override;
  std::vector<core::ProcessInfo> kill_members() override;
  bool empty() override;
  bool zombies_are_members() const override { return false; }
  int empty_watch_fd() const override;
  void ignore_child(int pid) override { m_foreign.insert(pid); }
  bool is_foreign(int pid) const override { return m_foreign.count(pid) != 0; }
  bool claim_reaped(int pid) override;
  void read_evidence(core::AttemptUsage& usage) override;
  std::vector<std::string> cgroup_paths() const override;
  int leaf_lock_fd() const override { return m_leaf ? m_leaf->dir_fd() : -1; }
  std::optional<LeafPlacement> leaf_placement() const override;
  void end_attempt() override;

 private:
  // `pids` as the log and the report name them (cgroup_containment.cpp).
  // Before a kill (`still_described` null) each is read now and, when it
  // can be proven to be the process read, kept in m_known; after one, the
  // pids in `still_described` come from m_known.
  std::vector<core::ProcessInfo> describe(const std::vector<int>& pids,
                                          const std::unordered_set<int>* still_described);
  // Of `pids` (read from cgroup.procs just before), those m_known describes
  // provably: their kept pidfd's process has not exited, so it still holds
  // the pid. One poll(2) for all, no per-member system call; the entries
  // whose process has exited are dropped.
  std::unordered_set<int> still_described(const std::vector<int>& pids);

  CgroupPlan m_plan;
  std::string m_how;
  std::optional<CgroupLeaf> m_leaf;
  std::vector<CgroupLeaf> m_stuck;  // leaves a survivor kept busy; retried at the end
  std::unordered_set<int> m_foreign;
  // Members described this attempt (at a signal or a listing), each with a
  // pidfd of the very process described (opened before the reads, found
  // alive after them), until it is reaped by us or the attempt ends: a kill
  // names a member from here only while that pidfd says the process lives.
  // A member reaped by its own parent leaves its entry behind, and its pid
  // may be reused by a new member (describe()).
  struct Described {
    core::ProcessInfo info;
    UniqueFd pidfd;
  };
  std::unordered_map<int, Described> m_known;
  int m_main_pid = 0;  // the step's process group is the main process's
  int m_attempt = 0;
  bool m_first_unused = false;  // m_leaf is attempt 1's, made with the plan and not used yet
  bool m_swept = false;         // the parents' stale leaves were swept
  // Leaves of jobwardens that died are removed once per runner, after the
  // first step started (or at the end of an attempt that never started).
  void sweep_stale_leaves_once();
};

// The containment for this host and admin configuration, or why there is
// none when the cgroup is `required`:
//   off       process group + subreaper, "features.cgroup: off"
//   auto      a cgroup v2 leaf under `cgroup_parent` (a path in the v2
//             hierarchy; made when missing) or under jobwarden's own cgroup,
//             when that is writable (root, or delegated); else the process
//             group + subreaper, with the reason
//   required  the cgroup, or an error naming the reason
// `subreaper` is false only with the tree-kill kill-switch (no cgroup then).
// Where a runner made now would put its leaves (admin `cgroup_parent`, else
// our own cgroup, when writable), with our own pid; else why there is none.
// For `gitlab cleanup`, which only trusts leaves found there.
core::Result<LeafPlacement, std::string> current_leaf_placement(const std::string& cgroup_parent);

core::Result<std::unique_ptr<Containment>, std::string> choose_containment(policy::CgroupMode mode,
                                                                           const std::string& cgroup_parent,
                                                                           bool subreaper);

}  // namespace jobwarden::platform
