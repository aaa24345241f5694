#include "executor/core/log_lines.hpp"

#include <algorithm>
#include <cstdio>

#include "policy/duration.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::core {
namespace {

// For one-line display: runs of whitespace and control characters (a
// multi-line `bash -c` script) become a single space.
std::string squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  return out;
}

std::string truncate(std::string s, std::size_t max_chars) {
  s = squeeze(s);
  if (s.size() > max_chars) {
    s.resize(max_chars);
    s += "...";
  }
  return s;
}

std::string describe_one(const ProcessInfo& p, const Redactor* secrets) {
  std::string out = std::to_string(p.pid) + " `" + truncate(secrets != nullptr ? secrets->redact(p.command) : p.command, 80) + "`";
  if (p.state == 'T' || p.state == 't') out += " (stopped)";
  if (p.state == 'D') out += " (uninterruptible)";
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string format_kib(long kib) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return buf;
}

std::string describe_processes(const std::vector<ProcessInfo>& procs, std::size_t max_named, const Redactor* secrets) {
  std::string out = plural(procs.size(), "process", "processes");
  std::size_t named = 0;
  for (const ProcessInfo& p : procs) {
    if (named == max_named) break;
    if (p.command.empty()) continue;  // counted, not named (ProcessInfo::command)
    out += (named == 0 ? ": " : ", ") + describe_one(p, secrets);
    ++named;
  }
  if (named > 0 && named < procs.size()) out += ", and " + std::to_string(procs.size() - named) + " more";
  return out;
}

std::string render_command(const std::vector<std::string>& argv, std::size_t max_chars) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"$`\\*?;&|<>()") == std::string::npos;
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return truncate(out, max_chars);
}

std::string signal_line(const SignalSent& sent, bool tree_kill, const Redactor* secrets) {
  std::string line = sent.reason.empty() ? std::string() : sent.reason + ": ";
  if (sent.targets.empty()) return line + sent.signal + ": nothing left to signal";
  line += sent.signal + " to ";
  if (!tree_kill) line += "the step's main process only (tree kill off): ";
  return line + describe_processes(sent.targets, 25, secrets);
}

std::string attempt_header(const std::string& step, int number, int max_attempts,
                           const AttemptSettings& s, const std::vector<std::string>& argv) {
 return "step '" + step + "' attempt " + std::to_string(number) +
         (max_attempts > 1 ? " of up to " + std::to_string(max_attempts) : std::string(" of 1")) +
         ": timeout " + policy::format_duration(s.timeout) +
         ", grace " + policy::format_duration(s.grace) + ", tree kill " +
         (s.tree_kill ? "on" : "OFF") + ": " + render_command(argv);
}

std::string status_phrase(const AttemptRecord& rec) {
  if (rec.ending.start_failed) return "not started (" + rec.start.error + ")";
  std::string out;
  if (rec.ending.exit_code) {
    out = "exited " + std::to_string(*rec.ending.exit_code);
  } else if (rec.ending.term_signal) {
    out = "killed by " + policy::signal_name(*rec.ending.term_signal) +
          (rec.ending.signal_sent_by_us ? " (sent by jobwarden)" : " (not sent by jobwarden)");
  }
  return out;
}

namespace {

// One Unicode block per column, ▁ (nothing) to █ (every usable CPU, or the
// whole wall time for the wait).
std::string sparkline(const std::vector<double>& levels) {
  static const char* const k_blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  for (double v : levels) {
    const int i = static_cast<int>(std::clamp(v, 0.0, 1.0) * 7.0 + 0.5);
    out += k_blocks[i];
  }
  return out;
}

// "timeline (40 columns over 8.0s, ▁..█ = 0..2 CPUs): cpu ▁▁█ wait ▁▇▇ others ▁██":
// the step's CPU, its wait and others' CPU over the attempt, at most k_columns
// columns. Sampling windows are not all equally long (the last one can span the
// grace), so the header names the time covered, not a column width.
std::string timeline(const AttemptUsage& u) {
  constexpr std::size_t k_columns = 40;
  const double cpus = u.usable_cpus.value_or(1.0);
  const std::size_t per = (u.windows.size() + k_columns - 1) / k_columns;
  std::vector<double> cpu, wait, others;
  double covered_seconds = 0.0;
  for (std::size_t i = 0; i < u.windows.size(); i += per) {
    policy::CpuWindow sum;
    for (std::size_t j = i; j < std::min(i + per, u.windows.size()); ++j) {
      sum.seconds += u.windows[j].seconds;
      sum.step_cpu += u.windows[j].step_cpu;
      sum.step_wait += u.windows[j].step_wait;
      sum.others_cpu += u.windows[j].others_cpu;
    }
    if (sum.seconds <= 0.0) continue;
    covered_seconds += sum.seconds;
    cpu.push_back(sum.step_cpu / sum.seconds / cpus);
    wait.push_back(sum.step_wait / sum.seconds);
    others.push_back(sum.others_cpu / sum.seconds / cpus);
  }
  char head[96];
  std::snprintf(head, sizeof head, "timeline (%zu columns over %.1fs, ▁..█ = 0..%.0f CPUs): ", cpu.size(),
                covered_seconds, cpus);
  return head + std::string("cpu ") + sparkline(cpu) + " wait " + sparkline(wait) + " others " + sparkline(others);
}

}  // namespace

std::string attempt_summary(const AttemptRecord& r, int max_attempts, const Redactor* secrets) {
  const AttemptUsage& u = r.usage;
  std::string line = "attempt " + std::to_string(r.number) + " of " +
                     (max_attempts > 1 ? "up to " : "") + std::to_string(max_attempts) + ": " + std::string(policy::to_string(r.outcome)) + " (" + status_phrase(r) +
                     ", code " + std::to_string(r.step_exit_code) + ") after " +
                     policy::format_seconds(r.run_seconds);
  if (r.ending.start_failed) return line;
  line += "; cpu " + policy::format_seconds(u.cpu_seconds);
  if (r.starvation.cpu_share) line += " (" + policy::format_percent(*r.starvation.cpu_share) + " of usable CPUs)";
  line += ", peak rss " + format_kib(u.peak_rss_kib);
  if (u.peak_memory_bytes) line += ", peak memory " + format_kib(static_cast<long>(*u.peak_memory_bytes / 1024)) + " (cgroup)";
  if (u.oom_kills.value_or(0) > 0) line += ", " + plural(static_cast<std::size_t>(*u.oom_kills), "OOM kill", "OOM kills") + " (kernel count)";
  if (u.cpu_wait_seconds) {
    line += ", cpu wait " + policy::format_seconds(*u.cpu_wait_seconds);
  } else {
    line += ", cpu wait unknown (" + u.cpu_wait_source + ")";
  }
  if (u.host_cpu_pressure) line += ", host cpu pressure " + policy::format_percent(*u.host_cpu_pressure);
  line += ", " + plural(u.processes_reaped, "process", "processes") + " reaped";
  if (!r.signalled.empty()) {
    line += ", " + std::to_string(r.signalled.size()) + " killed (tree empty " +
            policy::format_seconds(r.kill_seconds) + " after the first signal)";
  }
  if (!r.escapees.empty()) line += "; escaped the process group: " + describe_processes(r.escapees, 25, secrets);
  if (!r.survivors.empty()) line += "; STILL ALIVE: " + describe_processes(r.survivors, 25, secrets);
  if (u.output_dropped != 0) {
    line += "; " + std::to_string(u.output_dropped) + " bytes of output dropped (the log's reader stopped reading)";
  }
  if (r.outcome == policy::Outcome::timeout) {
    line += "; " + r.starvation.explanation;
    if (!u.windows.empty()) line += "; " + timeline(u);
  }
  return line;
}

}  // namespace jobwarden::core
