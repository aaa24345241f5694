#include "executor/platform/usage_meter.hpp"

#include <algorithm>
#include <cstdlib>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/host_facts.hpp"

namespace jobwarden::platform {
namespace {

double seconds_between(core::MonoTime a, core::MonoTime b) { return std::chrono::duration<double>(b - a).count(); }

std::optional<double> pressure_some_seconds(const RereadableFile& file) {
  const auto text = file.read();
  const auto usec = text ? pressure_some_total_us(*text) : std::nullopt;
  if (!usec) return std::nullopt;
  return static_cast<double>(*usec) / 1e6;
}

std::optional<double> cpu_usage_seconds(const RereadableFile& file) {
  const auto text = file.read();
  if (!text) return std::nullopt;
  const auto usec = keyed_value(*text, "usage_usec");
  if (!usec) return std::nullopt;
  return static_cast<double>(*usec) / 1e6;
}

// Two neighbouring windows as one (a long attempt keeps its series bounded).
policy::CpuWindow merged(const policy::CpuWindow& a, const policy::CpuWindow& b) {
  return {a.seconds + b.seconds, a.step_cpu + b.step_cpu, a.step_wait + b.step_wait, a.others_cpu + b.others_cpu};
}

std::optional<double> busy_seconds(const RereadableFile& proc_stat, const std::vector<int>& cpus) {
  const auto text = proc_stat.read();
  return text ? busy_cpu_seconds(*text, cpus) : std::nullopt;
}

}  // namespace

void UsageMeter::begin(core::MonoTime now) {
  m_leaf.clear();
  m_leaf_cpu_stat = RereadableFile();
  m_leaf_cpu_pressure = RereadableFile();
  m_proc_stat = RereadableFile("/proc/stat");
  m_cpus = affinity_cpus();
  m_cpu_wait.reset();
  m_members.clear();
  m_tick = 0;
  m_cpu_seconds = 0.0;
  m_peak_rss_kib = 0;
  m_reaped = 0;
  m_windows.clear();
  m_lost = m_waited_seconds = m_others_while_waiting = m_wait_total = 0.0;
  m_windows_complete = true;
  m_started = now;
  m_next_sample = now + m_interval;
  m_psi_start = cpu_pressure_some_us();
  m_first = m_last = read_counters(now);
}

void UsageMeter::step_started(std::string leaf) {
  m_leaf = std::move(leaf);
  m_usable_cpus = usable_cpus();
  if (m_leaf.empty()) return;
  m_leaf_cpu_stat = RereadableFile(m_leaf + "/cpu.stat");
  m_leaf_cpu_pressure = RereadableFile(m_leaf + "/cpu.pressure");
  m_next_sample = m_started + k_window;
  // The new leaf's start (step_started's contract), where it can be read.
  if (m_leaf_cpu_stat.valid()) m_first.step_cpu = m_last.step_cpu = 0.0;
  if (m_leaf_cpu_pressure.valid()) m_first.step_wait = m_last.step_wait = 0.0;
}

UsageMeter::Counters UsageMeter::read_counters(core::MonoTime now) const {
  Counters c;
  c.at = now;
  c.busy = busy_seconds(m_proc_stat, m_cpus);
  if (!m_leaf.empty()) {
    c.step_cpu = cpu_usage_seconds(m_leaf_cpu_stat);
    c.step_wait = pressure_some_seconds(m_leaf_cpu_pressure);
  }
  return c;
}

// One window: the step's CPU and wait from the leaf, everyone's busy time
// on the usable CPUs from /proc/stat; others = everyone - the step.
void UsageMeter::close_window(core::MonoTime now) {
  const Counters c = read_counters(now);
  m_next_sample = now + k_window;
  if (!c.step_cpu || !c.step_wait || !c.busy || !m_last.step_cpu || !m_last.step_wait || !m_last.busy) {
    m_windows_complete = false;
    m_last = c;
    return;
  }
  policy::CpuWindow w;
  w.seconds = seconds_between(m_last.at, now);
  w.step_cpu = std::max(0.0, *c.step_cpu - *m_last.step_cpu);
  w.step_wait = std::max(0.0, *c.step_wait - *m_last.step_wait);
  w.others_cpu = std::max(0.0, (*c.busy - *m_last.busy) - w.step_cpu);
  m_last = c;
  m_lost += policy::lost_in_window(w);
  m_wait_total += w.step_wait;
  if (w.step_wait > 0.0) {
    m_waited_seconds += w.seconds;
    m_others_while_waiting += w.others_cpu;
  }
  if (m_windows.size() == core::AttemptUsage::k_max_windows) {
    for (std::size_t i = 0; i < m_windows.size() / 2; ++i) m_windows[i] = merged(m_windows[2 * i], m_windows[2 * i + 1]);
    m_windows.resize(m_windows.size() / 2);
  }
  m_windows.push_back(w);
}

void UsageMeter::resample_members(core::MonoTime now) {
  std::erase_if(m_members, [&](int pid) { return !m_cpu_wait.observe_process(pid); });
  m_next_sample = now + m_interval;
}

core::CpuSoFar UsageMeter::so_far(const std::vector<int>& live_pids) {
  core::CpuSoFar c;
  c.usable_cpus = m_usable_cpus;
  if (!m_leaf.empty()) {
    c.cpu_seconds = cpu_usage_seconds(m_leaf_cpu_stat).value_or(m_cpu_seconds);
    if (m_windows_complete && !m_windows.empty()) {
      c.cpu_wait_seconds = m_wait_total;
      c.lost_cpu_seconds = m_lost;
      if (m_waited_seconds > 0.0) c.others_cpus_while_waiting = m_others_while_waiting / m_waited_seconds;
    }
    return c;
  }
  c.cpu_seconds = m_cpu_seconds;
  for (int pid : live_pids) {
    m_cpu_wait.observe_process(pid);
    c.cpu_seconds += process_cpu_seconds(pid).value_or(0.0);
  }
  if (m_cpu_wait.available()) c.cpu_wait_seconds = m_cpu_wait.total_seconds();
  return c;
}

void UsageMeter::reaped(const ReapedChild& child) {
  ++m_reaped;
  m_cpu_seconds += child.cpu_seconds;
  m_peak_rss_kib = std::max(m_peak_rss_kib, child.max_rss_kib);
}

void UsageMeter::finish_windows(core::AttemptUsage& u) const {
  u.windows = m_windows;
  if (!m_windows_complete || m_windows.empty()) {
    u.cpu_wait_source = "cgroup cpu.pressure, cpu.stat or /proc/stat unreadable";
    return;
  }
  u.cpu_wait_seconds = m_wait_total;
  u.cpu_wait_source = "cgroup cpu.pressure";
  u.lost_cpu_seconds = m_lost;
  if (m_waited_seconds > 0.0) u.others_cpus_while_waiting = m_others_while_waiting / m_waited_seconds;
}

// Without a leaf: the tasks' summed run_delay, and what others used over
// the whole attempt (coarse: waiting behind its own tasks while others also
// ran is not told apart from deprivation).
void UsageMeter::finish_without_leaf(core::AttemptUsage& u, double wall) const {
  if (!m_cpu_wait.available()) {
    u.cpu_wait_source = "no /proc/PID/task/TID/schedstat (kernel without CONFIG_SCHED_INFO?)";
    return;
  }
  u.cpu_wait_seconds = m_cpu_wait.total_seconds();
  u.cpu_wait_source = "schedstat run_delay";
  const auto busy_end = busy_seconds(m_proc_stat, m_cpus);
  if (!busy_end || !m_first.busy || wall <= 0.0) return;
  const double others = std::max(0.0, (*busy_end - *m_first.busy) - m_cpu_seconds);
  u.lost_cpu_seconds = std::min(*u.cpu_wait_seconds, others);
  u.others_cpus_while_waiting = others / wall;
}

void UsageMeter::finish(core::AttemptUsage& u, core::MonoTime now) {
  if (!m_leaf.empty() && now > m_last.at) close_window(now);
  u.cpu_seconds = m_cpu_seconds;
  u.peak_rss_kib = m_peak_rss_kib;
  u.processes_reaped = m_reaped;
  m_leaf_cpu_stat.close();  // the leaf is removed next
  m_leaf_cpu_pressure.close();
  const double wall = seconds_between(m_started, now);
  if (m_leaf.empty()) {
    finish_without_leaf(u, wall);
  } else {
    finish_windows(u);
  }
  u.usable_cpus = m_usable_cpus;
  const auto psi_end = cpu_pressure_some_us();
  if (m_psi_start && psi_end && wall > 0) {
    u.host_cpu_pressure = static_cast<double>(*psi_end - *m_psi_start) / 1e6 / wall;
  }
}

}  // namespace jobwarden::platform
