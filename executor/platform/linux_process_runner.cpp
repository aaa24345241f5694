#include "executor/platform/linux_process_runner.hpp"

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/host_facts.hpp"
#include "executor/platform/proc_tree.hpp"
#include "executor/platform/spawn.hpp"

namespace jobwarden::platform {
namespace {

using Clock = std::chrono::steady_clock;

// How long the end of an attempt waits for a log reader that stopped reading
// before the output still buffered is dropped (and counted in the summary).
constexpr int k_drain_patience_ms = 5000;

double timeval_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

timespec to_timespec(core::MonoTime::duration d) {
  if (d < core::MonoTime::duration::zero()) d = core::MonoTime::duration::zero();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

LinuxProcessRunner::LinuxProcessRunner(const RunnerOptions& options)
    : m_options(options), m_relay(options.stdout_fd, options.stderr_fd, options.tail_bytes) {}

core::Result<std::unique_ptr<LinuxProcessRunner>, core::SysError> LinuxProcessRunner::create(
    const RunnerOptions& options) {
  std::unique_ptr<LinuxProcessRunner> runner(new LinuxProcessRunner(options));
  if (!runner->m_signals.ok()) return core::unexpected(core::SysError{"signalfd", errno});
  if (::prctl(PR_SET_CHILD_SUBREAPER, options.subreaper ? 1 : 0) != 0) {
    return core::unexpected(core::SysError{"prctl(PR_SET_CHILD_SUBREAPER)", errno});
  }
  if (runner->has_children()) {  // rare (a shell's `cmd & exec jobwarden`): only then scan /proc
    for (const ProcStat& p : descendants(::getpid(), 0)) runner->m_foreign.insert(p.pid);
  }
  return runner;
}

LinuxProcessRunner::~LinuxProcessRunner() {
  if (m_main_pid != 0) (void)kill_everything(core::Millis(5000));
}

core::StartResult LinuxProcessRunner::start(const core::SpawnRequest& request) {
  core::StartResult result;
  m_tree_kill = request.tree_kill;
  m_events.clear();
  m_cpu_wait.reset();
  m_sampled_members.clear();
  m_sample_tick = 0;
  m_cpu_seconds = 0.0;
  m_peak_rss_kib = 0;
  m_reaped = 0;
  m_started = Clock::now();
  m_next_sample = m_started + m_options.sample_interval;
  m_psi_start = cpu_pressure_some_us();
  m_usable_cpus = usable_cpus();

  int child_out = -1, child_err = -1;
  if (!m_relay.open_pipes(child_out, child_err, result.error)) {
    result.exit_code = 125;
    return result;
  }
  SpawnOptions spawn{request.argv, request.extra_env, child_out, child_err, true};
  const SpawnOutcome outcome = spawn_step(spawn);
  ::close(child_out);  // the child holds its own copies now
  ::close(child_err);
  if (!outcome.started) {
    if (outcome.pid > 0) {
      int status = 0;
      while (::waitpid(outcome.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    result.exit_code = outcome.exit_code;
    result.error = outcome.error;
    return result;
  }
  m_main_pid = outcome.pid;
  m_main_reaped = false;
  result.started = true;
  result.pid = outcome.pid;
  return result;
}

// Reaps every zombie child. Each one's schedstat is read first (a zombie's
// is still there; after wait4 it is gone) and its rusage is added up.
void LinuxProcessRunner::reap_all() {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children at all
    }
    const pid_t pid = info.si_pid;
    if (pid == 0) return;  // children, but none has exited
    m_cpu_wait.observe_process(pid);
    int status = 0;
    rusage usage{};
    pid_t got;
    do {
      got = ::wait4(pid, &status, 0, &usage);
    } while (got < 0 && errno == EINTR);
    if (got != pid) return;
    if (m_foreign.erase(pid) != 0) continue;  // not the step's: no usage, no event
    ++m_reaped;
    m_cpu_seconds += timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime);
    m_peak_rss_kib = std::max(m_peak_rss_kib, usage.ru_maxrss);
    core::RunnerEvent ev;
    if (pid == m_main_pid && !m_main_reaped) {
      m_main_reaped = true;
      ev.kind = core::RunnerEvent::Kind::main_exited;
      if (WIFEXITED(status)) ev.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) ev.term_signal = WTERMSIG(status);
      m_events.push_back(ev);
    } else if (m_events.empty() || m_events.back().kind != core::RunnerEvent::Kind::child_reaped) {
      ev.kind = core::RunnerEvent::Kind::child_reaped;
      m_events.push_back(ev);
    }
  }
}

void LinuxProcessRunner::handle_signals() {
  while (const int sig = m_signals.read_one()) {
    if (sig == SIGCHLD) {
      reap_all();
    } else {
      core::RunnerEvent ev;
      ev.kind = core::RunnerEvent::Kind::cancel_requested;
      ev.cancel_signal = sig;
      m_events.push_back(ev);
    }
  }
}

std::vector<ProcStat> LinuxProcessRunner::own_descendants() const {
  std::vector<ProcStat> all = descendants(::getpid(), 0);
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

std::vector<core::ProcessInfo> LinuxProcessRunner::own_tree() const {
  std::vector<core::ProcessInfo> out;
  for (const ProcStat& p : own_descendants()) {
    out.push_back({p.pid, p.ppid, p.pgid, p.sid, p.state, command_line(p.pid, p.comm)});
  }
  return out;
}

// Re-reads the known members every tick and rescans /proc for new ones
// every k_full_scan_every ticks: a member that appears between two scans
// loses nothing unless a descendant reaps it before the next scan (see
// schedstat.hpp), and supervising an idle step stays nearly free.
void LinuxProcessRunner::sample_cpu_wait() {
  constexpr int k_full_scan_every = 4;
  if (m_main_pid == 0) return;
  if (m_sample_tick++ % k_full_scan_every == 0) {
    m_sampled_members.clear();
    for (const ProcStat& p : own_descendants()) m_sampled_members.push_back(p.pid);
  }
  std::erase_if(m_sampled_members, [&](int pid) { return !m_cpu_wait.observe_process(pid); });
}

core::RunnerEvent LinuxProcessRunner::wait(std::optional<core::MonoTime> until) {
  for (;;) {
    if (!m_events.empty()) {
      core::RunnerEvent ev = m_events.front();
      m_events.pop_front();
      return ev;
    }
    const core::MonoTime now = Clock::now();
    if (until && now >= *until) return core::RunnerEvent{};
    const bool sampling = m_main_pid != 0 && !m_main_reaped;
    if (sampling && now >= m_next_sample) {
      sample_cpu_wait();
      m_next_sample = now + m_options.sample_interval;
    }
    std::optional<core::MonoTime> wake = until;
    if (sampling && (!wake || m_next_sample < *wake)) wake = m_next_sample;

    const auto out = m_relay.poll_item(0);
    const auto err = m_relay.poll_item(1);
    pollfd fds[3] = {{m_signals.fd(), POLLIN, 0}, {out.fd, out.events, 0}, {err.fd, err.events, 0}};
    timespec timeout{};
    if (wake) timeout = to_timespec(*wake - now);
    const int n = ::ppoll(fds, 3, wake ? &timeout : nullptr, nullptr);
    if (n < 0) continue;  // EINTR
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i + 1].revents != 0) (void)m_relay.service(i);
    }
    if (fds[0].revents != 0) handle_signals();
  }
}

std::vector<core::ProcessInfo> LinuxProcessRunner::signal_tree(core::TreeSignal which) {
  std::vector<core::ProcessInfo> targets;
  if (m_main_pid == 0) return targets;
  if (m_tree_kill) {
    targets = own_tree();
  } else if (!m_main_reaped) {
    targets = own_tree();
    std::erase_if(targets, [&](const core::ProcessInfo& p) { return p.pid != m_main_pid; });
  }
  std::erase_if(targets, [](const core::ProcessInfo& p) { return p.state == 'Z' || p.state == 'X'; });
  const int sig = which == core::TreeSignal::kill ? SIGKILL : SIGTERM;
  for (const auto& p : targets) {
    m_cpu_wait.observe_process(p.pid);
    (void)::kill(p.pid, sig);  // ESRCH: it died meanwhile, which is what we want
    if (sig == SIGTERM) (void)::kill(p.pid, SIGCONT);  // a stopped member must see the TERM
  }
  return targets;
}

std::vector<core::ProcessInfo> LinuxProcessRunner::list_tree() {
  if (m_main_pid == 0) return {};
  auto members = m_tree_kill ? own_tree() : tree_of(::getpid(), m_main_pid);
  std::erase_if(members, [](const core::ProcessInfo& p) { return p.state == 'Z' || p.state == 'X'; });
  return members;
}

// Does not reap: reaping produces events, and only wait() hands events out.
// Empty means no child at all (every member reaped) and no exit of the main
// process still waiting in the queue to be reported.
bool LinuxProcessRunner::tree_empty() {
  for (const auto& ev : m_events) {
    if (ev.kind == core::RunnerEvent::Kind::main_exited) return false;
  }
  if (!m_foreign.empty()) return own_descendants().empty();  // zombies included: wait() reaps them
  return !has_children();
}

bool LinuxProcessRunner::has_children() const {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  return !(rc < 0 && errno == ECHILD);
}

core::AttemptUsage LinuxProcessRunner::finish_attempt() {
  reap_all();
  const unsigned long long dropped = m_relay.drain_and_close(k_drain_patience_ms);
  core::AttemptUsage u;
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
  const double wall = std::chrono::duration<double>(Clock::now() - m_started).count();
  const auto psi_end = cpu_pressure_some_us();
  if (m_psi_start && psi_end && wall > 0) {
    u.host_cpu_pressure = static_cast<double>(*psi_end - *m_psi_start) / 1e6 / wall;
  }
  u.output_bytes = m_relay.bytes();
  u.output_dropped = dropped;
  u.output_tail = m_relay.take_tail();  // also resets the byte count for the next attempt
  std::erase_if(m_events, [](const core::RunnerEvent& e) {
    return e.kind != core::RunnerEvent::Kind::cancel_requested;
  });
  // Whatever survived the tree kill (uninterruptible sleep) is written off,
  // so that it cannot hold up or be blamed on the next attempt.
  if (has_children()) {
    for (const ProcStat& p : own_descendants()) {
      if (p.state != 'Z') m_foreign.insert(p.pid);
    }
  }
  m_main_pid = 0;
  m_main_reaped = true;
  return u;
}

bool LinuxProcessRunner::kill_everything(core::Millis budget) {
  const auto give_up = Clock::now() + budget;
  for (;;) {
    for (const ProcStat& p : own_descendants()) (void)::kill(p.pid, SIGKILL);
    reap_all();
    m_events.clear();
    if (tree_empty()) return true;
    if (Clock::now() >= give_up) return false;
    pollfd fd{m_signals.fd(), POLLIN, 0};
    (void)::poll(&fd, 1, 20);  // woken by SIGCHLD; the timeout catches members found next sweep
    while (m_signals.read_one() != 0) {
    }
  }
}

}  // namespace jobwarden::platform
