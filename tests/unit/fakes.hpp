#pragma once
// A fake clock and a scripted fake ProcessRunner: the supervisor runs
// against them without forking or sleeping. Time only moves when the
// supervisor waits, jumping straight to the next scripted happening.

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "executor/core/ci_dialect.hpp"
#include "executor/core/job_log.hpp"
#include "executor/core/process_runner.hpp"

namespace jobwarden::testing {

using core::Millis;
using core::MonoTime;

class FakeClock final : public core::Clock {
 public:
  MonoTime now() const override { return m_now; }
  core::WallTime wall_now() const override {
    return core::WallTime(std::chrono::duration_cast<core::WallTime::duration>(m_now.time_since_epoch()));
  }
  void advance_to(MonoTime t) { m_now = std::max(m_now, t); }
  Millis elapsed() const { return std::chrono::duration_cast<Millis>(m_now.time_since_epoch()); }

 private:
  MonoTime m_now{};
};

struct FakeMember {
  int pid = 0;
  int pgid = 0;               // 0: the step's group (main pid)
  bool ignores_term = false;
  Millis dies_after_term{10};
  std::string command = "member";
  bool unkillable = false;    // like a task stuck in uninterruptible sleep
};

// What one attempt does, scripted.
struct AttemptScript {
  bool start_fails = false;
  int start_exit_code = 127;
  std::optional<Millis> main_exits_after;   // absent: runs until signalled
  std::optional<int> exit_code = 0;         // status when it exits on its own
  std::optional<int> term_signal;
  bool main_ignores_term = false;
  std::vector<FakeMember> leftovers;        // other members of the tree
  core::AttemptUsage usage;
  // Members that die at the same instant are reaped together, as by one
  // waitid() sweep of the real runner, and their events queue up; by default
  // in the order they were signalled. true: the main process's exit is queued
  // behind the others (the order that once lost its exit status).
  bool main_reaped_last = false;
  // As the real runner with a cgroup: a member's death is no event (its
  // zombie is reaped after the attempt); when the last member dies, the
  // main process's exit (when due) and then tree_emptied.
  bool empties_without_reaping = false;
};

class FakeRunner final : public core::ProcessRunner {
 public:
  explicit FakeRunner(FakeClock& clock) : m_clock(clock) {}

  std::deque<AttemptScript> scripts;
  std::vector<std::pair<Millis, int>> cancels;  // (absolute time, signal)
  std::vector<std::pair<core::TreeSignal, std::vector<int>>> signals_sent;
  int starts = 0;
  int cpu_checks = 0;
  std::optional<Millis> parent_death_at;  // the cancel at this time is the parent dying
  // As ProcessRunner::tree_empty promises: not empty while the main process's
  // exit is queued but not yet handed out by wait(). false: a runner that
  // breaks that promise (as the real one once did), to show that the
  // supervisor still waits for the main process's status.
  bool tree_empty_counts_queued_main_exit = true;

  core::StartResult start(const core::SpawnRequest&) override {
    REQUIRE_MESSAGE(!scripts.empty(), "the supervisor started more attempts than scripted");
    m_script = scripts.front();
    scripts.pop_front();
    ++starts;
    core::StartResult r;
    if (m_script.start_fails) {
      r.exit_code = m_script.start_exit_code;
      r.error = "scripted start failure";
      return r;
    }
    const int main_pid = 1000 * starts;
    r.started = true;
    r.pid = main_pid;
    m_alive.clear();
    m_deaths.clear();
    m_reaped.clear();
    m_alive.push_back({main_pid, main_pid, m_script.main_ignores_term, Millis{10}, "main", false});
    for (auto m : m_script.leftovers) {
      if (m.pgid == 0) m.pgid = main_pid;
      m_alive.push_back(m);
    }
    if (m_script.main_exits_after) {
      m_deaths.push_back({m_clock.now() + *m_script.main_exits_after, main_pid, m_script.exit_code,
                          m_script.term_signal});
    }
    m_main_pid = main_pid;
    return r;
  }

  core::RunnerEvent wait(std::optional<MonoTime> until) override {
    if (!m_reaped.empty()) {  // reaped already: handed out without time passing
      const core::RunnerEvent ev = m_reaped.front();
      m_reaped.pop_front();
      return ev;
    }
    std::optional<MonoTime> next;
    for (const auto& d : m_deaths) next = next ? std::min(*next, d.at) : d.at;
    for (const auto& c : cancels) {
      const MonoTime at{c.first};
      if (at >= m_clock.now() && !delivered(c)) next = next ? std::min(*next, at) : at;
    }
    if (next && (!until || *next <= *until)) {
      m_clock.advance_to(*next);
      return happen(*next);
    }
    REQUIRE_MESSAGE(until.has_value(), "the supervisor would wait forever");
    m_clock.advance_to(*until);
    return core::RunnerEvent{};
  }

  std::vector<core::ProcessInfo> signal_tree(core::TreeSignal sig) override {
    std::vector<core::ProcessInfo> targets;
    std::vector<int> pids;
    for (const auto& m : m_alive) {
      targets.push_back(info(m));
      pids.push_back(m.pid);
      const bool dies = !m.unkillable && (sig == core::TreeSignal::kill || !m.ignores_term);
      if (!dies) continue;
      const MonoTime at = m_clock.now() + (sig == core::TreeSignal::kill ? Millis{1} : m.dies_after_term);
      schedule_death(m.pid, at, sig == core::TreeSignal::kill ? 9 : 15);
    }
    signals_sent.emplace_back(sig, pids);
    return targets;
  }

  std::vector<core::ProcessInfo> list_tree() override {
    std::vector<core::ProcessInfo> out;
    for (const auto& m : m_alive) out.push_back(info(m));
    return out;
  }
  bool tree_empty() override {
    const bool main_exit_queued = std::any_of(m_reaped.begin(), m_reaped.end(), [](const core::RunnerEvent& ev) {
      return ev.kind == core::RunnerEvent::Kind::main_exited;
    });
    return m_alive.empty() && !(tree_empty_counts_queued_main_exit && main_exit_queued);
  }
  core::CpuSoFar cpu_so_far() override {
    ++cpu_checks;
    return {m_script.usage.cpu_seconds, m_script.usage.cpu_wait_seconds, m_script.usage.usable_cpus,
            m_script.usage.lost_cpu_seconds, m_script.usage.others_cpus_while_waiting};
  }
  core::AttemptUsage finish_attempt() override { return m_script.usage; }

 private:
  struct Death {
    MonoTime at;
    int pid;
    std::optional<int> exit_code;
    std::optional<int> term_signal;
  };

  static core::ProcessInfo info(const FakeMember& m) {
    return {m.pid, 1, m.pgid, m.pgid, 'S', m.command};
  }

  bool delivered(const std::pair<Millis, int>& c) const {
    return std::find(m_delivered.begin(), m_delivered.end(), c.first) != m_delivered.end();
  }

  void schedule_death(int pid, MonoTime at, int sig) {
    auto it = std::find_if(m_deaths.begin(), m_deaths.end(), [&](const Death& d) { return d.pid == pid; });
    if (it != m_deaths.end() && it->at <= at) return;
    if (it != m_deaths.end()) m_deaths.erase(it);
    m_deaths.push_back({at, pid, std::nullopt, sig});
  }

  core::RunnerEvent happen(MonoTime at) {
    for (const auto& c : cancels) {
      if (MonoTime{c.first} == at && !delivered(c)) {
        m_delivered.push_back(c.first);
        core::RunnerEvent ev;
        ev.kind = core::RunnerEvent::Kind::cancel_requested;
        ev.cancel_signal = c.second;
        ev.parent_died = parent_death_at == c.first;
        return ev;
      }
    }
    // Every member that dies now is reaped in one sweep; the events queue up.
    std::vector<Death> now;
    for (const auto& d : m_deaths) {
      if (d.at == at) now.push_back(d);
    }
    std::erase_if(m_deaths, [&](const Death& d) { return d.at == at; });
    if (m_script.main_reaped_last) {
      std::stable_partition(now.begin(), now.end(), [&](const Death& d) { return d.pid != m_main_pid; });
    }
    for (const Death& d : now) {
      std::erase_if(m_alive, [&](const FakeMember& m) { return m.pid == d.pid; });
      if (m_script.empties_without_reaping && d.pid != m_main_pid) continue;
      core::RunnerEvent ev;
      ev.kind = d.pid == m_main_pid ? core::RunnerEvent::Kind::main_exited
                                    : core::RunnerEvent::Kind::child_reaped;
      ev.exit_code = d.exit_code;
      ev.term_signal = d.term_signal;
      m_reaped.push_back(ev);
    }
    if (m_script.empties_without_reaping && m_alive.empty()) {
      core::RunnerEvent ev;
      ev.kind = core::RunnerEvent::Kind::tree_emptied;
      m_reaped.push_back(ev);
    }
    if (m_reaped.empty()) return core::RunnerEvent{};  // deaths that are no event: a wake-up
    const core::RunnerEvent ev = m_reaped.front();
    m_reaped.pop_front();
    return ev;
  }

  FakeClock& m_clock;
  AttemptScript m_script;
  std::vector<FakeMember> m_alive;
  std::vector<Death> m_deaths;
  std::deque<core::RunnerEvent> m_reaped;  // reaped, not yet handed out by wait()
  std::vector<Millis> m_delivered;
  int m_main_pid = 0;
};

// Collects every line written, in order.
class CapturingSink final : public core::LineSink {
 public:
  void write(std::string_view text) override { lines.emplace_back(text); }
  std::string all() const {
    std::string s;
    for (const auto& l : lines) s += l;
    return s;
  }
  std::vector<std::string> lines;
};

class PlainDialect final : public core::CiDialect {
 public:
  std::string name() const override { return "test"; }
  std::string section_start(const std::string& id, const std::string&, core::WallTime) const override {
    return "[start " + id + "]\n";
  }
  std::string section_end(const std::string& id, core::WallTime) const override { return "[end " + id + "]\n"; }
  std::string annotation(policy::Action, const std::string&) const override { return ""; }
  int exit_code(policy::Action a, int step_code) const override {
    return a == policy::Action::pass ? 0 : a == policy::Action::fail ? step_code : 75;
  }
};

}  // namespace jobwarden::testing
