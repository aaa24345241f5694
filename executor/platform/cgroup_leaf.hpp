#pragma once
// One attempt's cgroups: a cgroup v2 leaf (membership, kill, "empty", CPU
// and pressure figures) and, where the memory controller is only in a v1
// hierarchy (hybrid hosts), a v1 memory cgroup beside it (limit, OOM count,
// peak). Created before the step starts, removed after every attempt.

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
};

class CgroupLeaf {
 public:
  // Makes `name` under the plan's directories and sets the memory limit
  // (memory.max, or v1 memory.limit_in_bytes and memsw when present). On
  // failure whatever was made is removed and the reason returned.
  static core::Result<CgroupLeaf, std::string> create(const CgroupPlan& plan, const std::string& name,
                                                      std::optional<unsigned long long> memory_limit);
  CgroupLeaf(CgroupLeaf&&) noexcept = default;
  CgroupLeaf& operator=(CgroupLeaf&&) noexcept = default;
  ~CgroupLeaf() = default;  // removal is explicit: remove()

  const std::string& path() const { return m_v2; }
  const std::string& v1_memory_path() const { return m_v1_memory; }
  int dir_fd() const { return m_dir.get(); }            // for clone3(CLONE_INTO_CGROUP)
  int procs_fd() const { return m_procs.get(); }        // "0" written here joins the v2 leaf
  int v1_tasks_fd() const { return m_v1_tasks.get(); }  // "0" here moves the writing thread into the v1 memory cgroup (-1: none)

  std::vector<int> pids() const;  // cgroup.procs: live members (zombies have left)
  bool populated() const;         // cgroup.events "populated"
  bool has_kill() const;          // cgroup.kill exists (Linux >= 5.14)
  // SIGKILLs every member at once: cgroup.kill, else freeze, kill each, thaw.
  void kill() const;

  // Evidence, when the files exist.
  std::optional<unsigned long long> oom_kills() const;       // memory.events / memory.oom_control
  std::optional<unsigned long long> peak_memory() const;     // memory.peak / memory.max_usage_in_bytes
  std::optional<unsigned long long> cpu_usage_usec() const;  // cpu.stat usage_usec

  // rmdir of both cgroups; false (and both kept) while a member remains.
  bool remove();

 private:
  CgroupLeaf() = default;
  std::string m_v2;
  std::string m_v1_memory;
  UniqueFd m_dir, m_procs, m_v1_tasks;
};

// Writes `text` to the cgroup file `path`, or why it could not.
core::Status<std::string> write_cgroup_file(const std::string& path, const std::string& text);

// SIGKILLs every member of the cgroup directory `dir` at once: cgroup.kill
// (Linux >= 5.14), else freeze, kill each member, thaw. CgroupLeaf::kill and
// the guardian.
void kill_cgroup(const std::string& dir);
// cgroup.events "populated" of a v2 directory; for a v1 one (no
// cgroup.events), whether its cgroup.procs lists anyone.
bool cgroup_populated(const std::string& dir);

}  // namespace jobwarden::platform
