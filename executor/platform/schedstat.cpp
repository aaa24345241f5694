#include "executor/platform/schedstat.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <string>
#include <unistd.h>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

bool CpuWaitTracker::observe_process(int pid) {
  char path[320];
  std::snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return false;
  bool any = false;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    unsigned long long run_ns = 0, delay_ns = 0;
    const auto text = read_small_file(path, true);
    if (text && std::sscanf(text->c_str(), "%llu %llu", &run_ns, &delay_ns) == 2) {
      record(std::atoi(e->d_name), delay_ns);
      any = true;
    }
  }
  ::closedir(dir);
  if (any) m_available = true;
  return any;
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

std::optional<double> process_cpu_seconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const auto read = read_small_file(path, true);
  if (!read) return std::nullopt;
  const std::string& text = *read;
  const auto close = text.rfind(')');  // comm may hold spaces and ')'
  if (close == std::string::npos) return std::nullopt;
  unsigned long long utime = 0, stime = 0;
  long long cutime = 0, cstime = 0;
  // Fields 3..17 after "pid (comm)": state ppid pgrp session tty tpgid flags
  // minflt cminflt majflt cmajflt utime stime cutime cstime.
  if (std::sscanf(text.c_str() + close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
                  &utime, &stime, &cutime, &cstime) != 4) {
    return std::nullopt;
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime + static_cast<unsigned long long>(cutime + cstime)) /
         static_cast<double>(ticks > 0 ? ticks : 100);
}

}  // namespace jobwarden::platform
