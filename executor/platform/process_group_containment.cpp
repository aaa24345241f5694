#include "executor/platform/process_group_containment.hpp"

#include <csignal>
#include <unistd.h>

#include "executor/platform/child_reaper.hpp"

namespace jobwarden::platform {

ProcessGroupContainment::ProcessGroupContainment(bool subreaper, std::string why)
    : m_subreaper(subreaper), m_why(std::move(why)) {
  if (has_children()) {  // rare (a shell's `cmd & exec jobwarden`): only then scan /proc
    for (const ProcStat& p : descendants(::getpid(), 0)) m_foreign.insert(p.pid);
  }
}

std::string ProcessGroupContainment::description() const {
  return "process group + subreaper" + (m_why.empty() ? std::string() : " (" + m_why + ")");
}

void ProcessGroupContainment::started(int main_pid) { m_main_pid = main_pid; }

std::vector<ProcStat> ProcessGroupContainment::own_descendants() const {
  std::vector<ProcStat> all = descendants(::getpid(), m_subreaper ? 0 : m_main_pid);
  if (m_foreign.empty()) return all;
  std::unordered_set<int> excluded(m_foreign.begin(), m_foreign.end());
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

void ProcessGroupContainment::send(const std::vector<core::ProcessInfo>& targets, int sig) {
  for (const auto& p : targets) {
    (void)::kill(p.pid, sig);  // ESRCH: it died meanwhile, which is what we want
    if (sig == SIGTERM) (void)::kill(p.pid, SIGCONT);  // a stopped member must see the TERM
  }
}

// Zombies count as members: the runner's wait() reaps them.
bool ProcessGroupContainment::empty() {
  if (!m_foreign.empty()) return own_descendants().empty();
  return !has_children();
}

bool ProcessGroupContainment::claim_reaped(int pid) { return m_foreign.erase(pid) == 0; }

void ProcessGroupContainment::end_attempt() {
  if (!has_children()) return;
  for (const ProcStat& p : own_descendants()) {
    if (p.state != 'Z') m_foreign.insert(p.pid);
  }
}

}  // namespace jobwarden::platform
