#include "executor/platform/cgroup_containment.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/leaf_sweeper.hpp"
#include "executor/platform/pidfd_signal.hpp"
#include "executor/platform/proc_tree.hpp"
#include "executor/platform/process_group_containment.hpp"

namespace jobwarden::platform {
namespace {

// "jobwarden-<our pid>-<attempt>": an attempt's cgroups, v2 and v1 alike.
std::string leaf_name(int attempt) { return "jobwarden-" + std::to_string(::getpid()) + "-" + std::to_string(attempt); }

// Why no cgroup can be made under `dir` (the reason names it, for the
// fallback's log line), from the first attempt's own mkdir: no probe cgroup
// is made and removed before it (each cgroup mkdir and rmdir costs
// 0.1-0.25 ms here, bench/RESULTS.md).
std::string refusal(const std::string& dir, const core::SysError& error) {
  switch (error.err) {
    case EROFS: return dir + " is read-only";
    case EACCES:
    case EPERM: return dir + " is not writable (not root, not delegated)";
    case ENOENT: return dir + " does not exist";
    default: return error.message();
  }
}

bool has_word(const std::string& text, const std::string& word) {
  std::size_t at = 0;
  while ((at = text.find(word, at)) != std::string::npos) {
    const bool starts = at == 0 || text[at - 1] == ' ';
    const std::size_t end = at + word.size();
    if (starts && (end == text.size() || text[end] == ' ' || text[end] == '\n')) return true;
    at = end;
  }
  return false;
}

// The memory controller for the leaves under `dir`: already enabled, or
// enabled now (refused when `dir` holds processes itself and is not the
// root: the kernel's "no internal processes" rule).
bool enable_v2_memory(const std::string& dir) {
  if (has_word(read_small_file(dir + "/cgroup.subtree_control").value_or(""), "memory")) return true;
  if (!has_word(read_small_file(dir + "/cgroup.controllers").value_or(""), "memory")) return false;
  return write_cgroup_file(dir + "/cgroup.subtree_control", "+memory").ok();
}

struct Discovered {
  CgroupPlan plan;
  std::string how;
  std::optional<CgroupLeaf> first;  // attempt 1's, made by the discovery
};

// The v1 memory parent for the leaves (hybrid hosts): our own v1 memory
// cgroup, when the v2 leaves have no memory controller. Returns the memory
// part of the description unless the first leaf's mkdir there decides it.
std::string plan_v1_memory(const CgroupPlacement& at, CgroupPlan& plan) {
  if (plan.v2_memory) return "memory: the v2 memory controller";
  if (at.mounts.v1_memory.mount_point.empty()) return "memory: none (no memory controller in cgroup v2 or v1)";
  const std::string dir = cgroup_dir(at.mounts.v1_memory, at.own.v1_memory);
  if (dir.empty()) return "memory: none (our v1 memory cgroup is not visible)";
  plan.v1_memory_parent = dir;
  return "memory: a v1 memory cgroup per attempt under " + dir + " (cgroup v2 has no memory controller here)";
}

// Where the leaves go, and the first attempt's leaf made there (its mkdir
// says whether we may; cgroup.kill in it says whether the kernel has it).
core::Result<Discovered, std::string> discover(const std::string& cgroup_parent) {
  const CgroupPlacement& at = own_cgroup_placement();
  if (at.mounts.v2.mount_point.empty()) return core::unexpected(std::string("no cgroup v2 hierarchy is mounted"));
  const std::string where = cgroup_parent.empty() ? at.own.v2 : cgroup_parent;
  const std::string dir = cgroup_dir(at.mounts.v2, where);
  if (dir.empty()) {
    return core::unexpected("cgroup " + where + " is not visible under " + at.mounts.v2.mount_point);
  }
  if (!cgroup_parent.empty()) (void)::mkdir(dir.c_str(), 0755);  // the admin's; EEXIST is fine
  Discovered d;
  d.plan.v2_parent = dir;
  d.plan.v2_memory = enable_v2_memory(dir);  // refused harmlessly where we may not write
  std::string memory = plan_v1_memory(at, d.plan);
  bool v1_failed = false;
  auto leaf = CgroupLeaf::create(d.plan, leaf_name(1), &v1_failed);
  if (!leaf && v1_failed) {  // without the v1 memory cgroup, then
    memory = "memory: none (" + refusal(d.plan.v1_memory_parent, leaf.error()) + ")";
    d.plan.v1_memory_parent.clear();
    leaf = CgroupLeaf::create(d.plan, leaf_name(1));
  }
  if (!leaf) return core::unexpected(refusal(dir, leaf.error()));
  d.plan.cgroup_kill = ::access((leaf->path() + "/cgroup.kill").c_str(), F_OK) == 0;
  d.how = "cgroup v2 leaf per attempt under " + dir + " (" +
          (cgroup_parent.empty() ? "jobwarden's own cgroup" : "cgroup_parent of the admin configuration") + "), " +
          (d.plan.cgroup_kill ? "killed by cgroup.kill" : "killed by freeze + SIGKILL (no cgroup.kill)") + "; " + memory;
  leaf->set_cgroup_kill(d.plan.cgroup_kill);
  d.first.emplace(std::move(*leaf));
  return d;
}

// The job log names 25 members of a signal's targets and 25 escapees.
constexpr std::size_t k_named_of_each = 25;

// How many pidfds m_known may hold: all but k_descriptors_left_free of the
// descriptor limit (raised to the hard limit at start), so that a tree
// larger than the limit leaves jobwarden the descriptors it needs (files,
// pipes, the report). Members beyond it are described but never kept.
constexpr rlim_t k_descriptors_left_free = 512;

std::size_t pidfds_allowed() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur == RLIM_INFINITY) return std::numeric_limits<std::size_t>::max();
  return limit.rlim_cur > k_descriptors_left_free ? static_cast<std::size_t>(limit.rlim_cur - k_descriptors_left_free)
                                                  : 0;
}

}  // namespace

core::Result<LeafPlacement, std::string> current_leaf_placement(const std::string& cgroup_parent) {
  auto found = discover(cgroup_parent);
  if (!found) return core::unexpected(found.error());
  (void)found->first->remove();  // no step runs here: the leaf only answered "writable?"
  return LeafPlacement{::getpid(), found->plan.v2_parent, found->plan.v1_memory_parent};
}

CgroupContainment::CgroupContainment(CgroupPlan plan, std::string how, CgroupLeaf first)
    : m_plan(std::move(plan)),
      m_how(std::move(how)),
      m_leaf(std::move(first)),
      m_foreign(existing_descendants()),
      m_attempt(1),
      m_first_unused(true) {}

CgroupContainment::~CgroupContainment() {
  if (m_leaf) m_stuck.push_back(std::move(*m_leaf));
  for (CgroupLeaf& leaf : m_stuck) {
    leaf.kill();
    (void)leaf.remove();
  }
}

core::Status<std::string> CgroupContainment::prepare(std::optional<unsigned long long> memory_limit, CgroupJoin& join) {
  if (!m_first_unused) {
    end_attempt();  // a leaf left over from an attempt that never finished
    auto leaf = CgroupLeaf::create(m_plan, leaf_name(++m_attempt));
    if (!leaf) return core::unexpected("could not make the step's cgroup: " + leaf.error().message());
    m_leaf.emplace(std::move(*leaf));
  }
  m_first_unused = false;
  if (memory_limit && memory_limits_enforced()) {
    if (const auto limited = m_leaf->limit_memory(*memory_limit); !limited) {
      (void)m_leaf->remove();  // empty: nothing has joined it yet
      m_leaf.reset();
      return core::unexpected("could not make the step's cgroup: " + limited.error());
    }
  }
  join = {m_leaf->dir_fd(), m_leaf->procs_fd(), m_leaf->v1_tasks_fd()};
  return core::Ok{};
}

// The sweep of stale leaves waits until the first step runs: jobwarden has
// nothing else to do then until the step writes or ends, so the listing of
// the parents costs the step's start nothing.
void CgroupContainment::started(int main_pid) {
  m_main_pid = main_pid;
  sweep_stale_leaves_once();
}

void CgroupContainment::sweep_stale_leaves_once() {
  if (m_swept) return;
  m_swept = true;
  sweep_stale_leaves(m_plan.v2_parent, m_plan.v1_memory_parent);
}

// The members `pids` as the log and the report show them, read cheaply:
// every member's process group and session from getpgid/getsid (no /proc),
// the state and command line from /proc for the first k_named_of_each of
// the step's own process group and of those that left it; the others are
// counted, not named (command ""). Each /proc/PID file read leaves dentries
// that the kernel must drop again when the process is reaped: reading two
// files for every member of a 1000-process tree, at SIGTERM and again at
// SIGKILL, made most of the time from the end of the grace to an empty tree
// (bench/RESULTS.md).
//
// Before a kill (`still_described` null), a pidfd is opened for each member
// before it is read, and one poll(2) after all the reads says which of those
// processes still live: a live process held its pid all along, so what was
// read is that process's, and the description is kept (m_known) with its
// pidfd. A member that exited meanwhile is no target (what was read may be
// a successor's). Past pidfds_allowed(), or without pidfds, members are
// described as before but not kept.
//
// After a kill, the members in `still_described` (kill_members: their kept
// pidfd said "alive" just before the kill) are taken from m_known, without
// a system call, their state '?' (not read now). Every other pid is read
// now: a member born since, or a pid whose described process has exited —
// reaped by its own parent, not by us — and that a new member has taken
// since (pids are reused: pid_max is 32768 on many hosts). Such a member is
// already dying: one that is already a zombie is still named (it was in the
// leaf when cgroup.procs was read just before the kill) by its [comm], its
// command line having gone with its memory; never by the old description.
std::vector<core::ProcessInfo> CgroupContainment::describe(const std::vector<int>& pids,
                                                           const std::unordered_set<int>* still_described) {
  const bool killed = still_described != nullptr;
  std::size_t named_in_group = 0, named_escaped = 0;
  const auto named_of = [&](int pgid) -> std::size_t& { return pgid == m_main_pid ? named_in_group : named_escaped; };
  if (killed) {
    for (int pid : *still_described) {
      const core::ProcessInfo& info = m_known.at(pid).info;
      if (!info.command.empty()) ++named_of(info.pgid);
    }
  }
  const std::size_t allowed = killed ? 0 : pidfds_allowed();
  std::vector<core::ProcessInfo> out;
  std::vector<UniqueFd> pidfds;  // before a kill: out[i]'s, opened before it was read
  out.reserve(pids.size());
  for (int pid : pids) {
    if (killed && still_described->count(pid) != 0) {
      out.push_back(m_known.at(pid).info);
      out.back().state = '?';
      continue;
    }
    UniqueFd pidfd;
    if (!killed) {
      m_known.erase(pid);  // read again below; kept again only if proven
      if (m_known.size() + pidfds.size() < allowed) {
        pidfd.reset(open_pidfd(pid));
        if (!pidfd.valid() && errno == ESRCH) continue;  // reaped since cgroup.procs was read
      }
    }
    const pid_t pgid = ::getpgid(pid);
    const pid_t sid = ::getsid(pid);
    if (pgid < 0 || sid < 0) continue;  // reaped since cgroup.procs was read
    core::ProcessInfo info{pid, 0, pgid, sid, '?', ""};
    std::size_t& named = named_of(pgid);
    if (named < k_named_of_each) {
      const auto p = read_proc_stat(pid);
      if (!p) continue;  // reaped meanwhile
      if (!killed && (p->state == 'Z' || p->state == 'X')) continue;  // exited since cgroup.procs was read
      info.ppid = p->ppid;
      info.state = p->state;
      info.command = command_line(pid, p->comm);
      ++named;
    }
    out.push_back(std::move(info));
    if (!killed) pidfds.push_back(std::move(pidfd));
  }
  if (killed) return out;
  return proven_alive(std::move(out), std::move(pidfds), [&](const core::ProcessInfo& info, UniqueFd pidfd) {
    m_known[info.pid] = Described{info, std::move(pidfd)};
  });
}

std::unordered_set<int> CgroupContainment::still_described(const std::vector<int>& pids) {
  std::vector<int> listed, fds;
  for (int pid : pids) {
    const auto it = m_known.find(pid);
    if (it == m_known.end()) continue;
    listed.push_back(pid);
    fds.push_back(it->second.pidfd.get());
  }
  const std::vector<bool> gone = exited(fds);
  std::unordered_set<int> same;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    if (gone[i]) {
      m_known.erase(listed[i]);  // that process has exited: the pid is someone else's now
    } else {
      same.insert(listed[i]);
    }
  }
  return same;
}

std::vector<core::ProcessInfo> CgroupContainment::members() {
  return m_leaf ? describe(m_leaf->pids(), nullptr) : std::vector<core::ProcessInfo>{};
}

// Kill first, name afterwards: the kernel's exit work for the whole tree
// starts at once instead of after the naming. Between the read of
// cgroup.procs and the kill, one poll(2) over the kept pidfds says which
// descriptions still name the process holding the pid (after the kill every
// member is dying, and a pidfd could no longer tell). A member forked
// between the read of cgroup.procs and the write to cgroup.kill is killed
// too (the kernel kills forks in flight) but is not in the returned list.
std::vector<core::ProcessInfo> CgroupContainment::kill_members() {
  if (!m_leaf) return {};
  const std::vector<int> pids = m_leaf->pids();
  const std::unordered_set<int> same = still_described(pids);
  m_leaf->kill();
  return describe(pids, &same);
}

std::vector<int> CgroupContainment::member_pids() { return m_leaf ? m_leaf->pids() : std::vector<int>{}; }

// SIGKILL goes to the whole leaf at once (members forked meanwhile too);
// SIGTERM to each member still in the leaf, through the pidfd kept when it
// was described (else one opened now).
void CgroupContainment::send(const std::vector<core::ProcessInfo>& targets, int sig) {
  if (!m_leaf) return;
  if (sig == SIGKILL) {
    m_leaf->kill();
    return;
  }
  std::vector<int> pids;
  for (const auto& p : targets) pids.push_back(p.pid);
  signal_members(
      pids, sig, [&](const std::vector<int>&) { return m_leaf->pids(); },
      [&](int pid) {
        const auto it = m_known.find(pid);
        return it == m_known.end() ? -1 : it->second.pidfd.get();
      });
}

bool CgroupContainment::empty() { return !m_leaf || !m_leaf->populated(); }

bool CgroupContainment::claim_reaped(int pid) {
  m_known.erase(pid);  // its pid may now be reused; closes its pidfd
  return m_foreign.erase(pid) == 0;
}

int CgroupContainment::empty_watch_fd() const { return m_leaf ? m_leaf->events_fd() : -1; }

void CgroupContainment::read_evidence(core::AttemptUsage& usage) {
  if (!m_leaf) return;
  usage.containment = "cgroup v2 leaf " + m_leaf->path() +
                      (m_leaf->v1_memory_path().empty() ? "" : " + v1 memory cgroup " + m_leaf->v1_memory_path());
  usage.oom_kills = m_leaf->oom_kills();
  usage.peak_memory_bytes = m_leaf->peak_memory();
  if (const auto cpu = m_leaf->cpu_usage_usec()) usage.cpu_seconds = static_cast<double>(*cpu) / 1e6;
}

std::vector<std::string> CgroupContainment::cgroup_paths() const {
  std::vector<std::string> paths;
  if (!m_leaf) return paths;
  paths.push_back(m_leaf->path());
  if (!m_leaf->v1_memory_path().empty()) paths.push_back(m_leaf->v1_memory_path());
  return paths;
}

std::optional<LeafPlacement> CgroupContainment::leaf_placement() const {
  return LeafPlacement{::getpid(), m_plan.v2_parent, m_plan.v1_memory_parent};
}

// A leaf a survivor keeps busy (uninterruptible sleep) is kept and retried;
// its members are written off so they are not the next attempt's.
void CgroupContainment::end_attempt() {
  sweep_stale_leaves_once();  // no step started (it could not be executed): not done yet
  m_known.clear();  // closes the attempt's pidfds
  std::erase_if(m_stuck, [](CgroupLeaf& leaf) { return leaf.remove(); });
  if (!m_leaf) return;
  if (!m_leaf->remove()) {
    for (int pid : m_leaf->pids()) m_foreign.insert(pid);
    m_stuck.push_back(std::move(*m_leaf));
  }
  m_leaf.reset();
}

core::Result<std::unique_ptr<Containment>, std::string> choose_containment(policy::CgroupMode mode,
                                                                           const std::string& cgroup_parent,
                                                                           bool subreaper) {
  using Owned = std::unique_ptr<Containment>;
  if (!subreaper || mode == policy::CgroupMode::off) {
    const std::string why = !subreaper ? "tree kill is off" : "features.cgroup: off in the admin configuration";
    if (mode == policy::CgroupMode::required) return core::unexpected("features.cgroup is required, but " + why);
    return Owned(std::make_unique<ProcessGroupContainment>(subreaper, "no cgroup: " + why));
  }
  auto found = discover(cgroup_parent);
  if (found) {
    return Owned(std::make_unique<CgroupContainment>(std::move(found->plan), std::move(found->how),
                                                     std::move(*found->first)));
  }
  if (mode == policy::CgroupMode::required) return core::unexpected("features.cgroup is required, but " + found.error());
  return Owned(std::make_unique<ProcessGroupContainment>(true, "no cgroup: " + found.error()));
}

}  // namespace jobwarden::platform
