#include <doctest/doctest.h>

#include "executor/core/attempt.hpp"
#include "executor/core/job_log.hpp"
#include "tests/unit/fakes.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using core::TreeSignal;
using policy::Outcome;

namespace {

struct Harness {
  FakeClock clock;
  FakeRunner runner{clock};
  CapturingSink log_sink, marker_sink;
  PlainDialect dialect;
  core::JobLog log{log_sink, marker_sink, dialect, false};
  core::AttemptSettings settings;
  core::SpawnRequest request{{"make", "test"}, true, {}, {}};

  Harness() {
    settings.timeout = Millis{60'000};
    settings.grace = Millis{5'000};
    settings.kill_wait = Millis{3'000};
  }
  core::AttemptRecord run(AttemptScript script) {
    runner.scripts.push_back(std::move(script));
    core::AttemptSupervisor supervisor(runner, clock, log);
    return supervisor.run(request, settings, 1);
  }
};

AttemptScript exits_after(Millis after, int code) {
  AttemptScript s;
  s.main_exits_after = after;
  s.exit_code = code;
  return s;
}

AttemptScript hangs() {
  AttemptScript s;
  s.main_exits_after.reset();
  return s;
}

}  // namespace

TEST_CASE("a step that exits 0 with nothing left behind passes without any signal") {
  Harness h;
  const auto rec = h.run(exits_after(Millis{1500}, 0));
  CHECK(rec.outcome == Outcome::success);
  CHECK(rec.step_exit_code == 0);
  CHECK(h.runner.signals_sent.empty());
  CHECK(rec.run_seconds == doctest::Approx(1.5));
}

TEST_CASE("a red step keeps its own exit code") {
  Harness h;
  const auto rec = h.run(exits_after(Millis{200}, 3));
  CHECK(rec.outcome == Outcome::red);
  CHECK(rec.step_exit_code == 3);
}

TEST_CASE("a tree that empties without being reaped (a cgroup) ends the attempt at once, with the main's own exit status") {
  Harness h;
  auto script = exits_after(Millis{1000}, 3);
  script.leftovers = {{2001, 0, true}, {2002, 2002, true, Millis{10}, "setsid sleeper"}};
  script.empties_without_reaping = true;
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::red);
  CHECK(rec.step_exit_code == 3);
  REQUIRE(h.runner.signals_sent.size() == 2);
  CHECK(h.runner.signals_sent[1].first == TreeSignal::kill);
  CHECK(rec.signals[1].at_seconds == doctest::Approx(6.0));
  // Empty 1 ms after the SIGKILL, on the runner's word: not at the next
  // 50 ms sweep, and with no member's reaping reported.
  CHECK(rec.total_seconds == doctest::Approx(6.001));
  CHECK(rec.signalled.size() == 2);
}

TEST_CASE("a timeout terminates the whole tree, then kills what ignored SIGTERM after the grace") {
  Harness h;
  auto script = hangs();
  script.leftovers = {{2001, 0, false}, {2002, 2002, true, Millis{10}, "setsid sleeper"}};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::timeout);
  CHECK(rec.step_exit_code == 124);
  REQUIRE(h.runner.signals_sent.size() == 2);
  CHECK(h.runner.signals_sent[0].first == TreeSignal::terminate);
  CHECK(h.runner.signals_sent[0].second == std::vector<int>{1000, 2001, 2002});
  CHECK(h.runner.signals_sent[1].first == TreeSignal::kill);
  CHECK(h.runner.signals_sent[1].second == std::vector<int>{2002});
  CHECK(rec.signals[0].at_seconds == doctest::Approx(60.0));
  CHECK(rec.signals[1].at_seconds == doctest::Approx(65.0));
  CHECK(rec.run_seconds == doctest::Approx(60.0));
  CHECK(rec.signalled.size() == 3);
  CHECK(rec.kill_seconds == doctest::Approx(5.001));
  REQUIRE(rec.escapees.size() == 1);  // left the step's process group
  CHECK(rec.escapees[0].pid == 2002);
  CHECK(h.log_sink.all().find("timeout 1m reached: SIGTERM to 3 processes") != std::string::npos);
  CHECK(h.log_sink.all().find("grace 5s over: SIGKILL to 1 process: 2002 `setsid sleeper`") !=
        std::string::npos);
}

// A job log whose reader is slow: each line takes 300 ms of the fake clock
// to write (a CI agent that reads its pipe late, a 1000-target line).
class SlowSink final : public core::LineSink {
 public:
  explicit SlowSink(FakeClock& clock) : m_clock(clock) {}
  void write(std::string_view) override { m_clock.advance_to(m_clock.now() + Millis{300}); }

 private:
  FakeClock& m_clock;
};

TEST_CASE("the grace runs from the SIGTERM's sending, not from the writing of its log line") {
  FakeClock clock;
  FakeRunner runner{clock};
  SlowSink slow{clock};
  CapturingSink markers;
  PlainDialect dialect;
  core::JobLog log{slow, markers, dialect, false};
  core::AttemptSettings settings;
  settings.timeout = Millis{60'000};
  settings.grace = Millis{5'000};
  settings.kill_wait = Millis{3'000};
  auto script = hangs();
  script.main_ignores_term = true;
  runner.scripts.push_back(script);
  core::AttemptSupervisor supervisor(runner, clock, log);
  const auto rec = supervisor.run({{"make", "test"}, true, {}, {}}, settings, 1);
  REQUIRE(rec.signals.size() == 2);
  CHECK(rec.signals[0].signal == "SIGTERM");
  CHECK(rec.signals[1].signal == "SIGKILL");
  // The report's promise: the SIGKILL is due at the SIGTERM's at_seconds + grace.
  CHECK(rec.signals[1].at_seconds == doctest::Approx(rec.signals[0].at_seconds + 5.0));
}

TEST_CASE("a tree that obeys SIGTERM is never sent SIGKILL") {
  Harness h;
  auto script = hangs();
  script.leftovers = {{2001}};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::timeout);
  REQUIRE(h.runner.signals_sent.size() == 1);
  CHECK(h.runner.signals_sent[0].first == TreeSignal::terminate);
  CHECK(rec.total_seconds == doctest::Approx(60.01));
}

// The bug once fixed: the main process and the last other member die in one
// reap, the main's exit queued behind the other's. The attempt must not end
// before that exit is handed out, or the summary has no exit status.
TEST_CASE("the main process's exit queued behind another member's in one reap is not lost") {
  for (const bool runner_counts_queued_exit : {true, false}) {
    CAPTURE(runner_counts_queued_exit);
    Harness h;
    h.runner.tree_empty_counts_queued_main_exit = runner_counts_queued_exit;
    auto script = hangs();
    script.leftovers = {{2001}};  // dies 10 ms after SIGTERM, as the main does
    script.main_reaped_last = true;
    const auto rec = h.run(script);
    CHECK(rec.outcome == Outcome::timeout);
    REQUIRE(rec.ending.term_signal.has_value());
    CHECK(*rec.ending.term_signal == 15);
    CHECK(rec.ending.signal_sent_by_us);
    CHECK(h.runner.signals_sent.size() == 1);
    CHECK(rec.total_seconds == doctest::Approx(60.01));
  }
}

TEST_CASE("what a successful main process leaves behind is killed and the outcome stays success") {
  Harness h;
  auto script = exits_after(Millis{100}, 0);
  script.leftovers = {{2001, 0, true}};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::success);
  REQUIRE(h.runner.signals_sent.size() == 2);
  CHECK(h.runner.signals_sent[0].second == std::vector<int>{2001});
  CHECK(rec.run_seconds == doctest::Approx(0.1));
  CHECK(rec.total_seconds == doctest::Approx(5.101));
  CHECK(h.log_sink.all().find("main process ended; cleaning up what it left behind") != std::string::npos);
}

TEST_CASE("a cancel mid-step terminates the tree and is classified cancelled with 128+N") {
  Harness h;
  h.runner.cancels = {{Millis{2000}, 15}};
  const auto rec = h.run(hangs());
  CHECK(rec.outcome == Outcome::cancelled);
  CHECK(rec.cancel_signal == 15);
  CHECK(rec.step_exit_code == 143);
  CHECK(rec.run_seconds == doctest::Approx(2.0));
  CHECK(h.log_sink.all().find("received SIGTERM: cancelling the step") != std::string::npos);
}

TEST_CASE("a second cancel does not wait for the rest of the grace period") {
  Harness h;
  h.runner.cancels = {{Millis{2000}, 2}, {Millis{2500}, 2}};
  auto script = hangs();
  script.main_ignores_term = true;
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::cancelled);
  REQUIRE(h.runner.signals_sent.size() == 2);
  CHECK(h.runner.signals_sent[1].first == TreeSignal::kill);
  CHECK(rec.signals[1].at_seconds == doctest::Approx(2.5));
}

TEST_CASE("a step that cannot start is an error and nothing is signalled") {
  Harness h;
  AttemptScript script;
  script.start_fails = true;
  script.start_exit_code = 126;
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::error);
  CHECK(rec.step_exit_code == 126);
  CHECK(h.runner.signals_sent.empty());
}

TEST_CASE("a death by a signal jobwarden did not send is classified signal") {
  Harness h;
  auto script = exits_after(Millis{300}, 0);
  script.exit_code.reset();
  script.term_signal = 11;
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::signal);
  CHECK(rec.step_exit_code == 139);
}

TEST_CASE("the kill gives up and names survivors when SIGKILL cannot end a member") {
  Harness h;
  auto script = hangs();
  FakeMember stuck{2001};
  stuck.unkillable = true;
  stuck.command = "cat /nfs/hung";
  script.leftovers = {stuck};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::timeout);
  REQUIRE(rec.survivors.size() == 1);
  CHECK(rec.survivors[0].pid == 2001);
  CHECK(rec.total_seconds == doctest::Approx(60 + 5 + 3).epsilon(0.01));
  CHECK(h.log_sink.all().find("SIGKILL did not end 1 process: 2001 `cat /nfs/hung`") != std::string::npos);
}

TEST_CASE("with tree kill off only the main process is signalled and leftovers are reported") {
  Harness h;
  h.settings.tree_kill = false;
  h.request.tree_kill = false;
  auto script = exits_after(Millis{100}, 0);
  script.leftovers = {{2001}};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::success);
  CHECK(h.runner.signals_sent.empty());
  REQUIRE(rec.survivors.size() == 1);
  CHECK(h.log_sink.all().find("tree kill is off") != std::string::npos);
}

TEST_CASE("a timeout with starvation evidence is assessed starved") {
  Harness h;
  auto script = hangs();
  script.usage.cpu_seconds = 10.0;       // 1/6 of one CPU over 60 s
  script.usage.cpu_wait_seconds = 40.0;  // waited 2/3 of the time
  script.usage.usable_cpus = 1.0;
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::timeout);
  CHECK(rec.starvation.measured);
  CHECK(rec.starvation.starved);
}

TEST_CASE("starvation is not assessed when switched off") {
  Harness h;
  h.settings.starvation_enabled = false;
  auto script = hangs();
  script.usage.cpu_seconds = 1.0;
  script.usage.cpu_wait_seconds = 40.0;
  script.usage.usable_cpus = 1.0;
  const auto rec = h.run(script);
  CHECK_FALSE(rec.starvation.starved);
  CHECK(rec.starvation.explanation.find("JOBWARDEN_STARVATION=0") != std::string::npos);
}

TEST_CASE("a first cancel during the cleanup after the main process ended keeps the grace period") {
  Harness h;
  auto script = exits_after(Millis{100}, 0);
  script.leftovers = {{2001, 0, true}};
  h.runner.cancels = {{Millis{1000}, 15}};
  const auto rec = h.run(script);
  CHECK(rec.outcome == Outcome::success);
  REQUIRE(h.runner.signals_sent.size() == 2);
  CHECK(rec.signals[1].at_seconds == doctest::Approx(5.1));  // SIGKILL only when the grace is over
  CHECK(rec.cancel_signal == 15);
  CHECK(h.log_sink.all().find("while cleaning up: the grace period goes on") != std::string::npos);
}

TEST_CASE("the kernel's OOM count for the attempt's cgroup decides oom, and a SIGKILL with the count at 0 stays signal") {
  for (const unsigned long long kills : {1ULL, 0ULL}) {
    CAPTURE(kills);
    Harness h;
    AttemptScript s = exits_after(Millis{800}, 0);
    s.exit_code.reset();
    s.term_signal = 9;  // SIGKILL, not sent by jobwarden
    s.usage.oom_kills = kills;
    const auto rec = h.run(s);
    CHECK(rec.ending.oom_killed == (kills > 0));
    CHECK(rec.outcome == (kills > 0 ? Outcome::oom : Outcome::signal));
  }
  Harness h;  // no memory controller: no count at all, no oom
  AttemptScript s = exits_after(Millis{800}, 0);
  s.exit_code.reset();
  s.term_signal = 9;
  CHECK(h.run(s).outcome == Outcome::signal);
}
