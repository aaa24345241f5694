#pragma once
// One attempt's cgroups: a cgroup v2 leaf (membership, kill, "empty", CPU
// and pressure figures) and, where the memory controller is only in a v1
// hierarchy (hybrid hosts), a v1 memory cgroup beside it (limit, OOM count,
// peak). Created before the step starts, removed after every attempt.
//
// Who owns a leaf (HACKING.md, "Who owns a leaf"): whoever holds
// flock(LOCK_EX) on a descriptor of its v2 directory. Its maker takes the
// lock right after the mkdir and keeps it until after the rmdir; the
// guardian is handed the same open file description, so the kernel drops
// the lock only when both are gone, whatever pid namespace either lives in.
// The v1 memory cgroup of the same name goes with its v2 twin's lock. A
// sweeper removes a leaf only while it holds that lock itself
// (claim_unowned_leaf); pids decide nothing (they are meaningless across
// pid namespaces and reused within one).

#include <optional>
#include <string>
#include <vector>

#include "executor/core/result.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

// Where leaves go, decided once per runner (cgroup_containment.cpp).
struct CgroupPlan {
  std::string v2_parent;         // directory that receives the v2 leaves
  bool v2_memory = false;        // the memory controller is enabled for them
  std::string v1_memory_parent;  // directory for v1 memory leaves ("" = none)
  // cgroup.kill exists (Linux >= 5.14; the first leaf, made at start, says so).
  // false: kill() freezes the leaf, SIGKILLs each member and thaws it.
  bool cgroup_kill = true;
};

class CgroupLeaf {
 public:
  // Makes a fresh leaf `name` under the plan's directories (the v2 leaf,
  // and the v1 memory cgroup when the plan has one), locks it and opens
  // what the step's start needs. A name that exists already in either
  // hierarchy is never taken over (it may be another jobwarden's, in
  // another pid namespace with our pid, or a leftover for the sweepers):
  // "<name>.2", "<name>.3", ... are tried instead; so is the next one when
  // a sweeper removed the fresh directory before our lock was taken. The
  // error is the system call's own (choose_containment maps it to the
  // fallback's reason), and `v1_failed` says whether it concerned the v1
  // memory cgroup; whatever was made is removed.
  static core::Result<CgroupLeaf, core::SysError> create(const CgroupPlan& plan, const std::string& name,
                                                         bool* v1_failed = nullptr);
  CgroupLeaf(CgroupLeaf&&) noexcept = default;
  CgroupLeaf& operator=(CgroupLeaf&&) noexcept = default;
  ~CgroupLeaf() = default;  // removal is explicit: remove()

  const std::string& path() const { return m_v2; }
  const std::string& name() const { return m_name; }
  const std::string& v1_memory_path() const { return m_v1_memory; }
  // The v2 directory, opened O_RDONLY (flock refuses O_PATH descriptors)
  // and holding the leaf's lock: for clone3(CLONE_INTO_CGROUP) and for the
  // guardian. O_CLOEXEC: a step that inherits it loses it at its exec.
  int dir_fd() const { return m_dir.get(); }
  int procs_fd() const { return m_procs.get(); }        // "0" written here joins the v2 leaf
  int v1_tasks_fd() const { return m_v1_tasks.get(); }  // "0" here moves the writing thread into the v1 memory cgroup (-1: none)

  std::vector<int> pids() const;  // cgroup.procs: live members (zombies have left)
  bool populated() const;         // cgroup.events "populated", read through events_fd()
  // cgroup.events, kept open: poll() reports POLLPRI (and POLLERR) on it
  // when the file changed since this descriptor last read it (kernfs), so
  // a reader learns of "populated 0" without re-reading in a loop.
  int events_fd() const { return m_events.fd(); }
  // SIGKILLs every member at once: kill_cgroup, with cgroup.kill only when
  // the plan says the kernel has it.
  void kill() const;
  // Whether kill() may use cgroup.kill (the first leaf is what shows it).
  void set_cgroup_kill(bool use) { m_cgroup_kill = use; }

  // Evidence, when the files exist.
  std::optional<unsigned long long> oom_kills() const;       // read_oom_kills
  std::optional<unsigned long long> peak_memory() const;     // read_peak_memory
  std::optional<unsigned long long> cpu_usage_usec() const;  // cpu.stat usage_usec

  // The step's memory limit: memory.max (and no swap) where the v2 memory
  // controller is enabled for the leaf, else the v1 memory cgroup's
  // memory.limit_in_bytes (and memsw where the kernel has it).
  core::Status<std::string> limit_memory(unsigned long long bytes) const;

  // rmdir of both cgroups, the v1 memory cgroup first (so no v1 cgroup is
  // ever left without its v2 twin, whose lock covers it); the lock is
  // released after. false (both kept, and the lock) while a member remains.
  bool remove();

 private:
  CgroupLeaf() = default;
  enum class Take { taken, lost, failed };
  // Locks and opens the v2 directory just made (`lost`: someone else holds
  // or removed it), then makes the v1 twin (`lost` when it exists).
  // `in_v1`: the failure concerns the v1 memory cgroup.
  Take take(const CgroupPlan& plan, const std::string& name, core::SysError& error, bool& in_v1);
  std::string m_name;
  std::string m_v2;
  std::string m_v1_memory;
  bool m_cgroup_kill = true;
  bool m_v2_memory = false;
  UniqueFd m_dir, m_procs, m_v1_tasks;
  RereadableFile m_events;
};

// The leaf `dir` (a v2 directory) claimed by a sweeper: a descriptor holding
// its lock, taken only when nobody else holds it (its maker and the maker's
// guardian are gone) and the directory still exists once locked (another
// sweeper may have removed it just before: then `dir` may already name a
// newer leaf, which is not the one locked). Invalid otherwise. While the
// claim is held nobody else removes the leaf or its v1 twin, so rmdir by
// path removes the one claimed.
UniqueFd claim_unowned_leaf(const std::string& dir);

// Writes `text` to the cgroup file `path`, or why it could not.
core::Status<std::string> write_cgroup_file(const std::string& path, const std::string& text);

// SIGKILLs every member of the cgroup directory `dir` at once: cgroup.kill
// (Linux >= 5.14; tried unless `use_cgroup_kill` is false), else freeze,
// kill each member, thaw. CgroupLeaf::kill and the guardian.
void kill_cgroup(const std::string& dir, bool use_cgroup_kill = true);

// cgroup.events "populated" of a v2 directory; for a v1 one (no
// cgroup.events), whether its cgroup.procs lists anyone.
bool cgroup_populated(const std::string& dir);

// The kernel's OOM-kill count for an attempt's cgroups: the v2 leaf's
// memory.events "oom_kill" where the v2 memory controller is enabled for
// it, else the v1 memory cgroup's memory.oom_control "oom_kill" (hybrid
// hosts; `v1_memory_dir` "" = none); empty when neither file says. A leaf
// is new for every attempt, so any count above 0 moved during it.
std::optional<unsigned long long> read_oom_kills(const std::string& v2_dir, const std::string& v1_memory_dir);

// The attempt's peak memory: memory.peak (v2), else the v1 cgroup's
// memory.max_usage_in_bytes; empty when neither exists.
std::optional<unsigned long long> read_peak_memory(const std::string& v2_dir, const std::string& v1_memory_dir);

}  // namespace jobwarden::platform
