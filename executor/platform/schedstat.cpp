#include "executor/platform/schedstat.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <string>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

bool CpuWaitTracker::observe_process(int pid) {
  char path[320];
  std::snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return false;
  std::string text;
  bool any = false;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    unsigned long long run_ns = 0, delay_ns = 0;
    if (read_small_file(path, text, true) && std::sscanf(text.c_str(), "%llu %llu", &run_ns, &delay_ns) == 2) {
      record(std::atoi(e->d_name), delay_ns);
      any = true;
    }
  }
  ::closedir(dir);
  if (any) m_available = true;
  return any;
}

void CpuWaitTracker::observe_processes(const std::vector<int>& pids) {
  for (int pid : pids) observe_process(pid);
}

// run_delay only grows during a task's life; a smaller value under a known
// tid means the tid now belongs to a new task, so the old total is retired.
void CpuWaitTracker::record(int tid, unsigned long long run_delay_ns) {
  auto [it, inserted] = m_by_tid.emplace(tid, run_delay_ns);
  if (inserted) return;
  if (run_delay_ns < it->second) m_retired_ns += it->second;
  it->second = run_delay_ns;
}

double CpuWaitTracker::total_seconds() const {
  unsigned long long ns = m_retired_ns;
  for (const auto& [tid, delay] : m_by_tid) ns += delay;
  return static_cast<double>(ns) / 1e9;
}

void CpuWaitTracker::reset() {
  m_by_tid.clear();
  m_retired_ns = 0;
  m_available = false;
}

}  // namespace jobwarden::platform
