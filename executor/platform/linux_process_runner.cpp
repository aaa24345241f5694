#include "executor/platform/linux_process_runner.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/child_reaper.hpp"
#include "executor/platform/cgroup_containment.hpp"
#include "executor/platform/proc_tree.hpp"
#include "executor/platform/spawn.hpp"

namespace jobwarden::platform {
namespace {

using Clock = std::chrono::steady_clock;

// How long the end of an attempt waits for a log reader that stopped reading
// before the output still buffered is dropped (and counted in the summary).
constexpr int k_drain_patience_ms = 5000;

// How long the end of an attempt waits for members that were exiting when
// the tree was found empty to become zombies it can reap (microseconds,
// unless the host is very busy).
constexpr int k_leftover_patience_ms = 1000;

timespec to_timespec(core::MonoTime::duration d) {
  if (d < core::MonoTime::duration::zero()) d = core::MonoTime::duration::zero();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

LinuxProcessRunner::LinuxProcessRunner(const RunnerOptions& options, std::unique_ptr<Containment> containment)
    : m_options(options),
      m_relay(options.stdout_fd, options.stderr_fd, options.tail_bytes,
              same_open_description(options.stdout_fd, options.stderr_fd)),
      m_containment(std::move(containment)),
      m_meter(options.sample_interval) {}

core::Result<std::unique_ptr<LinuxProcessRunner>, std::string> LinuxProcessRunner::create(
    const RunnerOptions& options) {
  if (::prctl(PR_SET_CHILD_SUBREAPER, options.subreaper ? 1 : 0) != 0) {
    return core::unexpected(core::SysError{"prctl(PR_SET_CHILD_SUBREAPER)", errno}.message());
  }
  auto containment = choose_containment(options.cgroup, options.cgroup_parent, options.subreaper);
  if (!containment) return core::unexpected(containment.error());
  std::unique_ptr<LinuxProcessRunner> runner(new LinuxProcessRunner(options, std::move(*containment)));
  if (!runner->m_signals.ok()) return core::unexpected(core::SysError{"signalfd", errno}.message());
  return runner;
}

LinuxProcessRunner::~LinuxProcessRunner() {
  if (m_main_pid != 0) (void)kill_everything(core::Millis(5000));
}

// One guardian per attempt, forked before the step exists. Forked after the
// containment took stock of our children: it is ignored by name (until it is
// reaped), and existing_descendants() stays a cheap "no child".
void LinuxProcessRunner::start_guardian() {
  if (!m_options.guardian || !m_options.subreaper || m_guardian.valid()) return;
  m_guardian.start();
  if (m_guardian.valid()) m_containment->ignore_child(m_guardian.pid());
}

core::StartResult LinuxProcessRunner::start(const core::SpawnRequest& request) {
  core::StartResult result;
  m_tree_kill = request.tree_kill;
  m_events.clear();

  SpawnOptions spawn{request.argv, request.extra_env, -1, -1, true, request.user ? &*request.user : nullptr, {}};
  spawn.no_new_privileges = m_options.no_new_privileges;
  if (const auto prepared = m_containment->prepare(request.memory_limit_bytes, spawn.cgroups); !prepared) {
    throw core::InternalFault("could not start the step: " + prepared.error());
  }
  start_guardian();  // before the step's pipes: it must hold none of their ends, even briefly
  const auto pipes = m_relay.open_pipes();
  if (!pipes) {
    m_containment->end_attempt();
    throw core::InternalFault("could not start the step: " + pipes.error());
  }
  spawn.stdout_fd = pipes->stdout_fd;
  spawn.stderr_fd = pipes->stderr_fd;
  const auto leaves = m_containment->cgroup_paths();
  m_guardian.guard_cgroups(leaves, m_containment->leaf_lock_fd());  // before the step exists
  m_guard_by_processes = leaves.empty();
  m_meter.begin(Clock::now());
  const SpawnOutcome outcome = spawn_step(spawn);
  m_meter.step_started(leaves.empty() ? "" : leaves.front());  // while the step's exec runs
  ::close(spawn.stdout_fd);  // the child holds its own copies now
  if (spawn.stderr_fd != spawn.stdout_fd) ::close(spawn.stderr_fd);  // merged: one pipe for both
  if (!outcome.started) {
    if (outcome.pid > 0) reap_child(outcome.pid);
    m_containment->end_attempt();  // the leaf goes after a failed start too
    // 125: jobwarden's own failure (fork, a pipe, the cgroup join): not the step's error.
    if (outcome.exit_code == 125) throw core::InternalFault("could not start the step: " + outcome.error);
    result.exit_code = outcome.exit_code;
    result.error = outcome.error;
    return result;
  }
  m_main_pid = outcome.pid;
  m_main_reaped = false;
  m_containment->started(outcome.pid);
  if (m_guard_by_processes) {
    m_guardian.guard_processes({outcome.pid});  // it and its process group (it leads one)
    m_guarded.insert(outcome.pid);
  }
  result.started = true;
  result.pid = outcome.pid;
  return result;
}

// A member of the step was reaped: its usage is added up, and the main
// process's end becomes an event (another member's, one event for a run of them).
void LinuxProcessRunner::on_reaped(const ReapedChild& child) {
  if (!m_containment->claim_reaped(child.pid)) return;  // foreign: no usage, no event
  m_meter.reaped(child);
  core::RunnerEvent ev;
  if (child.pid == m_main_pid && !m_main_reaped) {
    m_main_reaped = true;
    ev.kind = core::RunnerEvent::Kind::main_exited;
    if (WIFEXITED(child.status)) ev.exit_code = WEXITSTATUS(child.status);
    if (WIFSIGNALED(child.status)) ev.term_signal = WTERMSIG(child.status);
    m_events.push_back(ev);
  } else if (m_events.empty() || m_events.back().kind != core::RunnerEvent::Kind::child_reaped) {
    ev.kind = core::RunnerEvent::Kind::child_reaped;
    m_events.push_back(ev);
  }
}

// Reaps every zombie child: the meter reads its CPU wait first (only
// without a cgroup leaf, whose counters lose nothing), then its rusage is
// added up; the main process's end becomes an event.
void LinuxProcessRunner::reap_all() {
  std::function<void(int)> observe;
  if (m_meter.observes_zombies()) {
    observe = [&](int pid) {
      if (!m_containment->is_foreign(pid)) m_meter.observe(pid);
    };
  }
  reap_exited_children(observe, [&](const ReapedChild& child) { on_reaped(child); });
}

// The main process only, when it has exited (wait4 on its pid: no walk of
// our other children).
void LinuxProcessRunner::reap_main() {
  if (m_main_pid == 0 || m_main_reaped) return;
  if (const auto child = reap_if_exited(m_main_pid)) on_reaped(*child);
  watch_children();
}

// While reaping is deferred and the main process has been reaped, SIGCHLD
// is not read: the exit of each of a thousand members would wake the loop
// for nothing, taking CPU from the kernel's exit work for the rest.
void LinuxProcessRunner::watch_children() { m_signals.watch_children(!(m_reaping_deferred && m_main_reaped)); }

// After a kill of a tree whose containment does not count zombies (a
// cgroup), SIGCHLD reaps only the main process: the others' zombies, up to
// the whole tree, are reaped by finish_attempt once the tree is empty, so
// that a thousand wait4 calls do not delay noticing it.
void LinuxProcessRunner::on_sigchld() {
  if (m_reaping_deferred) {
    reap_main();
  } else {
    reap_all();
  }
}

// cgroup.events changed: once it says empty, the main process's end (it
// was a member, so it has exited) and the emptiness become events.
void LinuxProcessRunner::on_empty_watch() {
  const bool empty = m_containment->empty();  // read in any case: the read re-arms POLLPRI
  if (!empty || m_main_pid == 0 || m_empty_reported) return;
  m_empty_reported = true;
  reap_main();
  core::RunnerEvent ev;
  ev.kind = core::RunnerEvent::Kind::tree_emptied;
  m_events.push_back(ev);
}

// The zombies a deferred reaping left, and the members that were still
// between leaving the cgroup and becoming zombies when it said empty (the
// kernel's exit path does one, then the other): reaped until none of our
// children is exiting, for at most `budget`.
//
// Whether a child is still exiting is asked before each reaping round, so a
// child that becomes a zombie between the two is reaped by that round, not
// left behind. Signals that arrive meanwhile are handled as in wait(): a
// cancel becomes an event that outlives the attempt (finish_attempt keeps
// those), never dropped with the SIGCHLDs.
void LinuxProcessRunner::reap_leftovers(core::Millis budget) {
  const bool wait_for_exiting = !m_containment->zombies_are_members() && m_containment->empty();
  const auto give_up = Clock::now() + budget;
  for (;;) {
    const bool exiting = wait_for_exiting && has_exiting_child();
    reap_all();
    if (!exiting || Clock::now() >= give_up) return;
    pollfd fd{m_signals.fd(), POLLIN, 0};
    (void)::poll(&fd, 1, 5);  // woken by SIGCHLD
    handle_signals();
  }
}

// The CI stopped listening (EPIPE, or its end of our stdout/stderr is gone):
// nobody will see the step's output or act on its result any more, so the
// step is cancelled as if by SIGPIPE (once); the report says so.
void LinuxProcessRunner::note_ci_gone() {
  if (m_ci_gone_reported || m_main_pid == 0 || m_main_reaped || !m_relay.destination_closed()) return;
  m_ci_gone_reported = true;
  core::RunnerEvent ev;
  ev.kind = core::RunnerEvent::Kind::cancel_requested;
  ev.cancel_signal = SIGPIPE;
  m_events.push_back(ev);
}

// ppoll failing with anything but EINTR (EINVAL when our descriptor limit was
// lowered under us, ENOMEM, EFAULT) would spin or stop supervision: an
// internal fault. The descriptor limit is raised back as far as allowed so
// that the destructor can still find (/proc) and kill the tree.
void LinuxProcessRunner::on_wait_failure(int err) {
  raise_descriptor_limit();
  throw core::InternalFault(std::string("ppoll: ") + std::strerror(err) + "; the step's tree is killed");
}

void LinuxProcessRunner::handle_signals() {
  while (const int sig = m_signals.read_one()) {
    if (sig == SIGCHLD) {
      on_sigchld();
    } else if (sig == k_parent_death_signal) {
      if (!parent_is_gone()) continue;  // a thread of the parent ended, not the parent
      core::RunnerEvent ev;
      ev.kind = core::RunnerEvent::Kind::cancel_requested;
      ev.cancel_signal = SIGHUP;  // the classic "your controlling side hung up"
      ev.parent_died = true;
      m_events.push_back(ev);
    } else {
      core::RunnerEvent ev;
      ev.kind = core::RunnerEvent::Kind::cancel_requested;
      ev.cancel_signal = sig;
      m_events.push_back(ev);
    }
  }
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
    if (sampling && now >= m_meter.next_sample()) {
      m_meter.sample(now, [&] {
        auto pids = m_containment->member_pids();
        guard_new_members(pids);
        return pids;
      });
    }
    std::optional<core::MonoTime> wake = until;
    if (sampling && (!wake || m_meter.next_sample() < *wake)) wake = m_meter.next_sample();

    const auto out = m_relay.poll_item(0);
    const auto err = m_relay.poll_item(1);
    // The CI's streams with no events asked: a reader that went away shows
    // as POLLERR (pipe) or POLLHUP (socket, terminal) without any write.
    const auto watch_out = m_relay.watch_item(0);
    const auto watch_err = m_relay.watch_item(1);
    // cgroup.events: POLLPRI when it changed (kernfs), e.g. to "populated 0".
    pollfd fds[6] = {{m_signals.fd(), POLLIN, 0}, {out.fd, out.events, 0}, {err.fd, err.events, 0},
                     {watch_out.fd, 0, 0},        {watch_err.fd, 0, 0},  {m_containment->empty_watch_fd(), POLLPRI, 0}};
    timespec timeout{};
    if (wake) timeout = to_timespec(*wake - now);
    const int n = ::ppoll(fds, 6, wake ? &timeout : nullptr, nullptr);
    if (n < 0 && errno != EINTR) on_wait_failure(errno);
    if (n < 0) continue;
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i + 1].revents != 0) (void)m_relay.service(i);
      if ((fds[i + 3].revents & (POLLERR | POLLHUP)) != 0) m_relay.mark_destination_closed(i);
    }
    if (fds[0].revents != 0) handle_signals();
    if (fds[5].revents != 0) on_empty_watch();
    note_ci_gone();
  }
}

std::vector<core::ProcessInfo> LinuxProcessRunner::signal_targets() {
  if (m_main_pid == 0 || (!m_tree_kill && m_main_reaped)) return {};
  auto targets = m_containment->members();
  if (!m_tree_kill) {
    std::erase_if(targets, [&](const core::ProcessInfo& p) { return p.pid != m_main_pid; });
  }
  return targets;
}

std::vector<core::ProcessInfo> LinuxProcessRunner::signal_tree(core::TreeSignal which) {
  // A cgroup is killed at once and named afterwards (kill_members); from
  // then on only the main process is reaped until the tree is empty.
  if (which == core::TreeSignal::kill && m_tree_kill && m_main_pid != 0 && !m_containment->zombies_are_members()) {
    m_reaping_deferred = true;
    watch_children();
    return m_containment->kill_members();
  }
  const auto targets = signal_targets();
  if (m_guard_by_processes) {
    std::vector<int> pids;
    for (const auto& p : targets) pids.push_back(p.pid);
    guard_new_members(pids);
  }
  for (const auto& p : targets) m_meter.observe(p.pid);
  m_containment->send(targets, which == core::TreeSignal::kill ? SIGKILL : SIGTERM);
  return targets;
}

std::vector<core::ProcessInfo> LinuxProcessRunner::list_tree() {
  if (m_main_pid == 0) return {};
  return m_containment->members();
}

// Does not reap: reaping produces events, and only wait() hands events out.
// Empty means no member left (Containment::empty: with a cgroup, zombies
// are no members) and the main process reaped, its exit not still waiting
// in the queue to be reported.
bool LinuxProcessRunner::tree_empty() {
  if (m_main_pid != 0 && !m_main_reaped) return false;
  for (const auto& ev : m_events) {
    if (ev.kind == core::RunnerEvent::Kind::main_exited) return false;
  }
  return m_containment->empty();
}

core::CpuSoFar LinuxProcessRunner::cpu_so_far() { return m_meter.so_far(m_containment->member_pids()); }

core::AttemptUsage LinuxProcessRunner::finish_attempt() {
  m_reaping_deferred = false;
  watch_children();
  reap_leftovers(core::Millis(k_leftover_patience_ms));
  m_empty_reported = false;
  const unsigned long long dropped = m_relay.drain_and_close(k_drain_patience_ms);
  core::AttemptUsage u;
  m_meter.finish(u, Clock::now());
  m_containment->read_evidence(u);
  u.output_bytes = m_relay.bytes();
  u.output_dropped = dropped;
  u.output_tail = m_relay.take_tail();  // also resets the byte count for the next attempt
  std::erase_if(m_events, [](const core::RunnerEvent& e) {
    return e.kind != core::RunnerEvent::Kind::cancel_requested;
  });
  m_containment->end_attempt();
  m_guardian.stop();  // exits while we decide and report; the next attempt gets its own
  m_guarded.clear();
  m_main_pid = 0;
  m_main_reaped = true;
  return u;
}

// Members in the main process's group are reached through its pidfd (the
// guardian kills that whole group); the others each bring their own, which
// also reaches the group they lead. A member that left the main's group
// since the last scan is what the guardian cannot reach (HACKING.md).
void LinuxProcessRunner::guard_new_members(const std::vector<int>& pids) {
  if (!m_guard_by_processes || !m_guardian.valid()) return;
  const std::unordered_set<int> now(pids.begin(), pids.end());
  std::erase_if(m_guarded, [&](int pid) { return pid != m_main_pid && now.count(pid) == 0; });  // a reused pid is new
  std::vector<int> fresh;
  for (int pid : pids) {
    if (!m_guarded.insert(pid).second) continue;
    const auto stat = read_proc_stat(pid);
    if (stat && stat->pgid != m_main_pid && stat->state != 'Z') fresh.push_back(pid);
  }
  m_guardian.guard_processes(fresh);
}

bool LinuxProcessRunner::kill_everything(core::Millis budget) {
  const auto give_up = Clock::now() + budget;
  m_reaping_deferred = false;
  watch_children();
  for (;;) {
    (void)m_containment->kill_members();
    reap_all();
    m_events.clear();
    if (m_containment->empty()) return true;
    if (Clock::now() >= give_up) return false;
    pollfd fd{m_signals.fd(), POLLIN, 0};
    (void)::poll(&fd, 1, 20);  // woken by SIGCHLD; the timeout catches members found next sweep
    while (m_signals.read_one() != 0) {
    }
  }
}

}  // namespace jobwarden::platform
