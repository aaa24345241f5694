#include "executor/platform/process_group_containment.hpp"

#include <algorithm>
#include <cerrno>
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

// Each member is read again once a pidfd holds it (the scan's line may be
// of a process that has since exited and whose pid another child of the
// same parent got): still alive, under the parent the scan saw (a reused pid
// usually has another parent: not ours). One poll(2) after all the reads
// says which of those processes still live: a live one held its pid
// throughout, so its description is its own, and its pidfd is kept for the
// signal (send) — the name and the signal go to the same process. One that
// exited meanwhile is no target. Without a pidfd (Linux < 5.3, out of
// descriptors) the member is described as read, unproven, and send()
// checks it again.
std::vector<core::ProcessInfo> ProcessGroupContainment::members() {
  m_described.clear();
  std::vector<core::ProcessInfo> out;
  std::vector<UniqueFd> pidfds;
  for (const ProcStat& listed : own_descendants()) {
    if (listed.state == 'Z' || listed.state == 'X') continue;
    UniqueFd pidfd(open_pidfd(listed.pid));
    if (!pidfd.valid() && errno == ESRCH) continue;  // gone since the scan
    const auto now = read_proc_stat(listed.pid);
    if (!now || now->ppid != listed.ppid || now->state == 'Z' || now->state == 'X') continue;
    out.push_back({now->pid, now->ppid, now->pgid, now->sid, now->state, command_line(now->pid, now->comm)});
    pidfds.push_back(std::move(pidfd));
  }
  return proven_alive(std::move(out), std::move(pidfds), [&](const core::ProcessInfo& info, UniqueFd pidfd) {
    m_described[info.pid] = std::move(pidfd);
  });
}

std::vector<int> ProcessGroupContainment::member_pids() {
  std::vector<int> pids;
  for (const ProcStat& p : own_descendants()) pids.push_back(p.pid);
  return pids;
}

// A target described with a pidfd (members()) is signalled through it: it
// names that process for good. Any other is still the one listed when
// /proc still shows it, alive, under the same parent (a reused pid has a
// new parent: not ours, or another).
void ProcessGroupContainment::send(const std::vector<core::ProcessInfo>& targets, int sig) {
  std::unordered_map<int, int> parent_of;
  std::vector<int> pids;
  for (const auto& p : targets) {
    parent_of[p.pid] = p.ppid;
    pids.push_back(p.pid);
  }
  signal_members(
      pids, sig,
      [&](const std::vector<int>& opened) {
        std::vector<int> same;
        for (int pid : opened) {
          if (m_described.count(pid) != 0) {
            same.push_back(pid);
            continue;
          }
          const auto now = read_proc_stat(pid);
          if (now && now->ppid == parent_of[pid] && now->state != 'Z' && now->state != 'X') same.push_back(pid);
        }
        return same;
      },
      [&](int pid) {
        const auto it = m_described.find(pid);
        return it == m_described.end() ? -1 : it->second.get();
      });
  m_described.clear();
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
  m_described.erase(pid);
  if (m_ignored.erase(pid) != 0) return false;
  return m_foreign.erase(pid) == 0;
}

void ProcessGroupContainment::end_attempt() {
  m_described.clear();
  if (no_member_child()) return;
  for (const ProcStat& p : own_descendants()) {
    if (p.state != 'Z') m_foreign.insert(p.pid);
  }
}

}  // namespace jobwarden::platform
