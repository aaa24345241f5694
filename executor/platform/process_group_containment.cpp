#include "executor/platform/process_group_containment.hpp"

#include <algorithm>
#include <csignal>
#include <unistd.h>

#include <unordered_map>

#include "executor/platform/child_reaper.hpp"
#include "executor/platform/pidfd_signal.hpp"

namespace jobwarden::platform {

ProcessGroupContainment::ProcessGroupContainment(bool subreaper, std::string why)
    : m_subreaper(subreaper), m_why(std::move(why)), m_foreign(existing_descendants()) {}

std::string ProcessGroupContainment::description() const {
  return m_why.empty() ? "process group + subreaper" : m_why + ": process group + subreaper";
}

// Without a cgroup there is no memory controller to hold a limit; the
// runner's creator says so in the log (memory_limits_enforced()).
core::Status<std::string> ProcessGroupContainment::prepare(std::optional<unsigned long long>, CgroupJoin&) {
  return core::Ok{};
}

void ProcessGroupContainment::started(int main_pid) { m_main_pid = main_pid; }

void ProcessGroupContainment::read_evidence(core::AttemptUsage& usage) { usage.containment = description(); }

std::vector<ProcStat> ProcessGroupContainment::own_descendants() const {
  std::vector<ProcStat> all = descendants(::getpid(), m_subreaper ? 0 : m_main_pid);
  if (m_foreign.empty() && m_ignored.empty()) return all;
  std::unordered_set<int> excluded(m_foreign.begin(), m_foreign.end());
  excluded.insert(m_ignored.begin(), m_ignored.end());
  std::vector<ProcStat> own;
  for (auto& p : all) {  // parents come before their children
    if (excluded.count(p.pid) != 0 || excluded.count(p.ppid) != 0) {
      excluded.insert(p.pid);
    } else {
      own.push_back(std::move(p));
    }
  }
  return own;
}

std::vector<core::ProcessInfo> ProcessGroupContainment::members() {
  std::vector<core::ProcessInfo> out;
  for (const ProcStat& p : own_descendants()) {
    if (p.state == 'Z' || p.state == 'X') continue;
    out.push_back({p.pid, p.ppid, p.pgid, p.sid, p.state, command_line(p.pid, p.comm)});
  }
  return out;
}

std::vector<int> ProcessGroupContainment::member_pids() {
  std::vector<int> pids;
  for (const ProcStat& p : own_descendants()) pids.push_back(p.pid);
  return pids;
}

// A target is still the one listed when /proc still shows it, alive, under
// the same parent (a reused pid has a new parent: not ours, or another).
void ProcessGroupContainment::send(const std::vector<core::ProcessInfo>& targets, int sig) {
  std::unordered_map<int, int> parent_of;
  std::vector<int> pids;
  for (const auto& p : targets) {
    parent_of[p.pid] = p.ppid;
    pids.push_back(p.pid);
  }
  signal_members(pids, sig, [&](const std::vector<int>& opened) {
    std::vector<int> same;
    for (int pid : opened) {
      const auto now = read_proc_stat(pid);
      if (now && now->ppid == parent_of[pid] && now->state != 'Z' && now->state != 'X') same.push_back(pid);
    }
    return same;
  });
}

std::vector<core::ProcessInfo> ProcessGroupContainment::kill_members() {
  auto targets = members();
  send(targets, SIGKILL);
  return targets;
}

// With only the guardian beside the step, our children list
// (/proc/self/task/*/children, zombies included) answers without a /proc
// scan; waitid alone cannot leave one child out.
bool ProcessGroupContainment::no_member_child() const {
  if (m_ignored.empty()) return !has_children();
  const auto children = own_children();
  if (!children) return own_descendants().empty();
  return std::all_of(children->begin(), children->end(), [&](int pid) { return m_ignored.count(pid) != 0; });
}

// Zombies count as members: the runner's wait() reaps them.
bool ProcessGroupContainment::empty() {
  if (!m_foreign.empty()) return own_descendants().empty();
  return no_member_child();
}

bool ProcessGroupContainment::claim_reaped(int pid) {
  if (m_ignored.erase(pid) != 0) return false;
  return m_foreign.erase(pid) == 0;
}

void ProcessGroupContainment::end_attempt() {
  if (no_member_child()) return;
  for (const ProcStat& p : own_descendants()) {
    if (p.state != 'Z') m_foreign.insert(p.pid);
  }
}

}  // namespace jobwarden::platform
