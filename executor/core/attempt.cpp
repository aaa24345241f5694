#include "executor/core/attempt.hpp"

#include <algorithm>
#include <unordered_set>

#include "executor/core/job_log.hpp"
#include "executor/core/log_lines.hpp"
#include "policy/duration.hpp"
#include "policy/signal_names.hpp"

namespace jobwarden::core {

namespace {
std::string signal_label(TreeSignal sig) { return sig == TreeSignal::kill ? "SIGKILL" : "SIGTERM"; }
}  // namespace

struct AttemptSupervisor::State {
  const AttemptSettings& settings;
  AttemptRecord& rec;
  MonoTime t0{};
  MonoTime deadline{};
  MonoTime grace_end{};
  MonoTime give_up{};
  MonoTime run_end{};
  std::optional<MonoTime> starvation_check{};  // a grace before the job's deadline
  bool run_ended = false;
  bool main_done = false;
  bool signalled_before_main_ended = false;
  Phase phase = Phase::running;
  std::unordered_set<int> signalled_pids{};  // rec.signalled's pids: one lookup per target

  std::optional<MonoTime> next_wakeup(MonoTime now) const {
    switch (phase) {
      case Phase::running: return starvation_check ? std::min(deadline, *starvation_check) : deadline;
      case Phase::terminating: return grace_end;
      case Phase::killing: return std::min(give_up, now + settings.kill_sweep);
      case Phase::done: break;
    }
    return now;
  }
  void end_run(MonoTime now) {
    if (!run_ended) {
      run_end = now;
      run_ended = true;
    }
  }
};

AttemptRecord AttemptSupervisor::run(const SpawnRequest& request, const AttemptSettings& settings,
                                     int number) {
  AttemptRecord rec;
  rec.number = number;
  rec.started_at = m_clock.wall_now();
  State s{settings, rec};
  s.t0 = m_clock.now();
  s.deadline = s.t0 + settings.timeout;
  // Starvation is not judged on less than a second of running.
  if (settings.job_deadline && settings.starvation_enabled && *settings.job_deadline - settings.grace >= s.t0 + Millis{1000}) {
    s.starvation_check = *settings.job_deadline - settings.grace;
  }
  SpawnRequest spawn = request;
  spawn.tree_kill = settings.tree_kill;
  rec.start = m_runner.start(spawn);
  if (!rec.start.started) {
    rec.ending.start_failed = true;
    m_log.warn("could not start the step: " + rec.start.error);
    s.phase = Phase::done;
  }
  while (s.phase != Phase::done) {
    const RunnerEvent ev = m_runner.wait(s.next_wakeup(m_clock.now()));
    switch (ev.kind) {
      case RunnerEvent::Kind::main_exited: on_main_exited(s, ev); break;
      case RunnerEvent::Kind::cancel_requested:
        if (ev.parent_died && s.rec.cancel_signal == 0) {
          s.rec.parent_died = true;
          m_log.warn("jobwarden's parent process died (the CI agent is gone): cancelling the step");
        }
        on_cancel(s, ev.cancel_signal);
        break;
      case RunnerEvent::Kind::deadline: on_timer(s); break;
      case RunnerEvent::Kind::child_reaped:
      case RunnerEvent::Kind::tree_emptied: break;  // the check below decides
    }
    // Done once the main process's end has been seen and nothing else is left.
    if (s.phase != Phase::running && s.phase != Phase::done && s.main_done &&
        m_runner.tree_empty()) {
      s.phase = Phase::done;
    }
  }
  if (died_of_foreign_term(s)) await_ci_abort(s);
  finish(s);
  return rec;
}

// SIGTERM that jobwarden did not send, as a signal death or as the 143 a
// shell exits with when its command died of it.
bool AttemptSupervisor::died_of_foreign_term(const State& s) const {
  static const int k_sigterm = *policy::parse_signal("SIGTERM");
  const policy::Ending& e = s.rec.ending;
  const bool term = (e.term_signal && *e.term_signal == k_sigterm) || (e.exit_code && *e.exit_code == 128 + k_sigterm);
  return s.settings.foreign_term_settle > Millis{0} && s.rec.cancel_signal == 0 && s.main_done &&
         !s.signalled_before_main_ended && term;
}

// Jenkins' process-tree killer SIGTERMs the step's processes before
// jobwarden's own: a cancel that arrives within the settle time is that abort.
void AttemptSupervisor::await_ci_abort(State& s) {
  m_log.info("the step died of a SIGTERM jobwarden did not send: waiting up to " +
             policy::format_duration(s.settings.foreign_term_settle) +
             " for the CI's SIGTERM to jobwarden (Jenkins' abort signals the step's processes first)");
  const MonoTime until = m_clock.now() + s.settings.foreign_term_settle;
  while (m_clock.now() < until) {
    const RunnerEvent ev = m_runner.wait(until);
    if (ev.kind != RunnerEvent::Kind::cancel_requested) continue;
    s.rec.cancel_signal = ev.cancel_signal;
    s.rec.parent_died = ev.parent_died;
    s.rec.ending.cancel_requested = true;
    s.rec.ending.ci_abort = true;
    m_log.warn("received " + policy::signal_name(ev.cancel_signal) +
               ": the CI aborted the step (its SIGTERM reached the step's processes first); no retry");
    return;
  }
  m_log.info("no SIGTERM reached jobwarden: the step's death is its own");
}

// Whether jobwarden sent `sig` to the main process: a SIGSEGV during the
// grace after our SIGTERM, or a SIGKILL from the OOM killer, is not ours.
static bool sent_to_main(const AttemptRecord& rec, int sig) {
  const std::string name = policy::signal_name(sig);
  return std::any_of(rec.signals.begin(), rec.signals.end(), [&](const SignalSent& sent) {
    return sent.signal == name && std::any_of(sent.targets.begin(), sent.targets.end(), [&](const ProcessInfo& p) {
             return p.pid == rec.start.pid;
           });
  });
}

void AttemptSupervisor::on_main_exited(State& s, const RunnerEvent& ev) {
  s.main_done = true;
  s.signalled_before_main_ended = !s.rec.signals.empty();
  s.rec.ending.exit_code = ev.exit_code;
  s.rec.ending.term_signal = ev.term_signal;
  s.rec.ending.signal_sent_by_us = ev.term_signal.has_value() && sent_to_main(s.rec, *ev.term_signal);
  if (s.phase != Phase::running) return;
  s.end_run(m_clock.now());
  if (!s.settings.tree_kill || m_runner.tree_empty()) {
    s.phase = Phase::done;
    return;
  }
  if (m_runner.list_tree().empty()) {  // only exits not yet reaped: nothing to signal
    s.phase = Phase::terminating;
    s.grace_end = m_clock.now() + s.settings.grace;
    return;
  }
  begin_termination(s, "main process ended; cleaning up what it left behind");
}

void AttemptSupervisor::on_cancel(State& s, int sig) {
  const std::string name = policy::signal_name(sig);
  const bool repeated = s.rec.cancel_signal != 0;
  if (!repeated) s.rec.cancel_signal = sig;
  if (s.phase == Phase::running) {
    s.rec.ending.cancel_requested = true;
    s.end_run(m_clock.now());
    // SIGPIPE is never received (ignored): the runner reports it when the CI's end of our stdout/stderr is gone.
    const std::string why = name == "SIGPIPE" ? "the CI stopped reading jobwarden's output (EPIPE)" : "received " + name;
    begin_termination(s, why + ": cancelling the step");
  } else if (s.phase == Phase::terminating && repeated) {
    kill_sweep(s, "received " + name + " again: not waiting for the grace period");
  } else if (s.phase == Phase::terminating) {
    m_log.info("received " + name + " while cleaning up: the grace period goes on (a second signal ends it)");
  }
}

void AttemptSupervisor::on_timer(State& s) {
  const MonoTime now = m_clock.now();
  if (s.phase == Phase::running && s.starvation_check && now >= *s.starvation_check && now < s.deadline) {
    check_starvation_before_job_deadline(s);
  } else if (s.phase == Phase::running && now >= s.deadline) {
    s.rec.ending.deadline_expired = true;
    s.end_run(now);
    begin_termination(s, "timeout " + policy::format_duration(s.settings.timeout) + " reached");
  } else if (s.phase == Phase::terminating && now >= s.grace_end) {
    kill_sweep(s, "grace " + policy::format_duration(s.settings.grace) + " over");
  } else if (s.phase == Phase::killing) {
    if (now >= s.give_up) {
      s.rec.survivors = m_runner.list_tree();
      m_log.warn("gave up after " + policy::format_duration(s.settings.kill_wait) +
                 ": SIGKILL did not end " + describe_processes(s.rec.survivors, 25, m_log.redactor()) +
                 " (uninterruptible sleep?)");
      s.phase = Phase::done;
    } else {
      kill_sweep(s, "");
    }
  }
}

// Once, a grace before the CI job's deadline: a starved attempt is ended
// now (the tree is dead by the deadline); any other keeps running into the
// CI's own timeout, which is the CI's verdict to give.
void AttemptSupervisor::check_starvation_before_job_deadline(State& s) {
  s.starvation_check.reset();
  const CpuSoFar cpu = m_runner.cpu_so_far();
  policy::CpuEvidence ev;
  ev.wall_seconds = seconds_between(s.t0, m_clock.now());
  ev.cpu_seconds = cpu.cpu_seconds;
  ev.cpu_wait_seconds = cpu.cpu_wait_seconds;
  ev.usable_cpus = cpu.usable_cpus;
  ev.lost_cpu_seconds = cpu.lost_cpu_seconds;
  ev.others_cpus_while_waiting = cpu.others_cpus_while_waiting;
  const policy::StarvationAssessment a = policy::assess_starvation(ev, s.settings.starvation);
  if (!a.starved) {
    m_log.info("job deadline in " + policy::format_duration(s.settings.grace) + ": " + a.explanation +
               "; the step keeps running, the CI's job timeout will end it");
    return;
  }
  s.rec.starved_before_job_deadline = true;
  s.rec.ending.deadline_expired = true;
  s.end_run(m_clock.now());
  begin_termination(s, "job deadline in " + policy::format_duration(s.settings.grace) + " and " +
                           a.explanation + ": ending the attempt now");
}

void AttemptSupervisor::begin_termination(State& s, const std::string& reason) {
  s.phase = Phase::terminating;
  // The grace starts once every member has been sent SIGTERM (a large tree
  // takes a while), not once the log line naming them is written: the
  // report's at_seconds + grace is when the SIGKILL is due.
  const MonoTime sent = record_signal(s, TreeSignal::terminate, reason, m_runner.signal_tree(TreeSignal::terminate));
  s.grace_end = sent + s.settings.grace;
}

// One SIGKILL sweep. The first one of an attempt is always logged; later
// sweeps only when they found members the earlier ones had not seen.
void AttemptSupervisor::kill_sweep(State& s, const std::string& reason) {
  const bool first = s.phase != Phase::killing;
  if (first) {
    s.phase = Phase::killing;
    s.give_up = m_clock.now() + s.settings.kill_wait;
  }
  auto targets = m_runner.signal_tree(TreeSignal::kill);
  if (first) {
    record_signal(s, TreeSignal::kill, reason, std::move(targets));
    return;
  }
  std::erase_if(targets, [&](const ProcessInfo& p) { return s.signalled_pids.count(p.pid) != 0; });
  if (!targets.empty()) {
    record_signal(s, TreeSignal::kill, "members that appeared during the kill", std::move(targets));
  }
}

MonoTime AttemptSupervisor::record_signal(State& s, TreeSignal sig, const std::string& reason,
                                          std::vector<ProcessInfo> targets) {
  const MonoTime now = m_clock.now();
  SignalSent sent;
  sent.signal = signal_label(sig);
  sent.reason = reason;
  sent.at_seconds = seconds_between(s.t0, now);
  for (const auto& p : targets) {
    if (s.signalled_pids.insert(p.pid).second) s.rec.signalled.push_back(p);
  }
  sent.targets = std::move(targets);
  m_log.info(signal_line(sent, s.settings.tree_kill, m_log.redactor()));
  s.rec.signals.push_back(std::move(sent));
  return now;
}

void AttemptSupervisor::finish(State& s) {
  AttemptRecord& rec = s.rec;
  const MonoTime now = m_clock.now();
  s.end_run(now);
  rec.run_seconds = seconds_between(s.t0, s.run_end);
  rec.total_seconds = seconds_between(s.t0, now);
  if (!rec.signals.empty()) rec.kill_seconds = rec.total_seconds - rec.signals.front().at_seconds;
  if (!s.settings.tree_kill && rec.start.started) {
    rec.survivors = m_runner.list_tree();
    if (!rec.survivors.empty()) {
      m_log.warn("tree kill is off (JOBWARDEN_TREE_KILL=0): leaving " +
                 describe_processes(rec.survivors, 25, m_log.redactor()) + " running");
    }
  }
  rec.usage = m_runner.finish_attempt();
  rec.ending.oom_killed = rec.usage.oom_kills.value_or(0) > 0;  // the kernel's count for the step's cgroup
  rec.outcome = policy::classify(rec.ending);
  rec.step_exit_code = policy::step_exit_code(rec.outcome, rec.ending, rec.start.exit_code, rec.cancel_signal);
  const int step_pgid = rec.start.pid;  // the step leads its own session and group
  for (const auto& p : rec.signalled) {
    if (p.pgid != step_pgid) rec.escapees.push_back(p);
  }
  if (s.settings.starvation_enabled) {
    policy::CpuEvidence ev;
    ev.wall_seconds = rec.run_seconds;
    ev.cpu_seconds = rec.usage.cpu_seconds;
    ev.cpu_wait_seconds = rec.usage.cpu_wait_seconds;
    ev.usable_cpus = rec.usage.usable_cpus;
    ev.lost_cpu_seconds = rec.usage.lost_cpu_seconds;
    ev.others_cpus_while_waiting = rec.usage.others_cpus_while_waiting;
    rec.starvation = policy::assess_starvation(ev, s.settings.starvation);
  } else {
    rec.starvation.explanation = "starvation detection is off (JOBWARDEN_STARVATION=0)";
  }
  rec.ended_at = m_clock.wall_now();
}

}  // namespace jobwarden::core
