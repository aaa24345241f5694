#include "executor/platform/usage_meter.hpp"

#include <algorithm>

#include "executor/platform/host_facts.hpp"

namespace jobwarden::platform {

void UsageMeter::begin(core::MonoTime now) {
  m_cpu_wait.reset();
  m_members.clear();
  m_tick = 0;
  m_cpu_seconds = 0.0;
  m_peak_rss_kib = 0;
  m_reaped = 0;
  m_started = now;
  m_next_sample = now + m_interval;
  m_psi_start = cpu_pressure_some_us();
  m_usable_cpus = usable_cpus();
}

void UsageMeter::resample_members(core::MonoTime now) {
  std::erase_if(m_members, [&](int pid) { return !m_cpu_wait.observe_process(pid); });
  m_next_sample = now + m_interval;
}

void UsageMeter::reaped(const ReapedChild& child) {
  ++m_reaped;
  m_cpu_seconds += child.cpu_seconds;
  m_peak_rss_kib = std::max(m_peak_rss_kib, child.max_rss_kib);
}

core::CpuSoFar UsageMeter::so_far(const std::vector<int>& live_pids) {
  core::CpuSoFar c;
  c.cpu_seconds = m_cpu_seconds;
  for (int pid : live_pids) {
    m_cpu_wait.observe_process(pid);
    c.cpu_seconds += process_cpu_seconds(pid).value_or(0.0);
  }
  if (m_cpu_wait.available()) c.cpu_wait_seconds = m_cpu_wait.total_seconds();
  c.usable_cpus = m_usable_cpus;
  return c;
}

void UsageMeter::fill(core::AttemptUsage& u, core::MonoTime now) const {
  u.cpu_seconds = m_cpu_seconds;
  u.peak_rss_kib = m_peak_rss_kib;
  u.processes_reaped = m_reaped;
  if (m_cpu_wait.available()) {
    u.cpu_wait_seconds = m_cpu_wait.total_seconds();
    u.cpu_wait_source = "schedstat run_delay";
  } else {
    u.cpu_wait_source = "no /proc/PID/task/TID/schedstat (kernel without CONFIG_SCHED_INFO?)";
  }
  u.usable_cpus = m_usable_cpus;
  const double wall = std::chrono::duration<double>(now - m_started).count();
  const auto psi_end = cpu_pressure_some_us();
  if (m_psi_start && psi_end && wall > 0) {
    u.host_cpu_pressure = static_cast<double>(*psi_end - *m_psi_start) / 1e6 / wall;
  }
}

}  // namespace jobwarden::platform
