#include <doctest/doctest.h>

#include "executor/core/job_log.hpp"
#include "executor/core/step_runner.hpp"
#include "tests/unit/fakes.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using policy::Action;
using policy::Outcome;

namespace {

struct StepHarness {
  FakeClock clock;
  FakeRunner runner{clock};
  CapturingSink log_sink, marker_sink;
  PlainDialect dialect;
  core::JobLog log{log_sink, marker_sink, dialect, false};
  core::StepRequest request;
  policy::Policy policy = policy::embedded_default_policy();

  StepHarness() {
    request.step = "test";
    request.spawn.argv = {"make", "test"};
    request.settings.timeout = Millis{10'000};
    request.settings.grace = Millis{1'000};
  }
  core::StepResult run() {
    core::StepRunner step_runner(runner, clock, log, [] { return 0.0; });
    return step_runner.run(request, policy);
  }
};

AttemptScript starved_timeout() {
  AttemptScript s;
  s.main_exits_after.reset();
  s.usage.cpu_seconds = 2.0;        // 20% of one CPU
  s.usage.cpu_wait_seconds = 7.0;   // waited 70% of the wall time
  s.usage.usable_cpus = 1.0;
  return s;
}

// The main process dies of a SIGTERM jobwarden did not send, after 1 s.
AttemptScript killed_by_foreign_term() {
  AttemptScript s;
  s.main_exits_after = Millis{1'000};
  s.exit_code.reset();
  s.term_signal = 15;
  return s;
}

AttemptScript exits(int code) {
  AttemptScript s;
  s.main_exits_after = Millis{500};
  s.exit_code = code;
  return s;
}

}  // namespace

TEST_CASE("a starved timeout is retried once after the backoff and then is a system failure") {
  StepHarness h;
  h.runner.scripts = {starved_timeout(), starved_timeout()};
  const auto result = h.run();
  REQUIRE(result.attempts.size() == 2);
  CHECK(result.attempts[0].outcome == Outcome::timeout);
  CHECK(result.decisions[0].retry);
  CHECK(result.decisions[0].backoff == Millis{5000});
  CHECK(result.backoffs[0] == Millis{5000});
  CHECK(result.action == Action::system_failure);
  CHECK(result.exit_code == 75);
  // attempt 1: 10 s + 10 ms to die; backoff 5 s; attempt 2 the same.
  CHECK(h.clock.elapsed() == Millis{10'010 + 5'000 + 10'010});
  const std::string log = h.log_sink.all();
  CHECK(log.find("decision: retry after 5s (rule 'starved-timeout' matched 1/2 attempts)") != std::string::npos);
  CHECK(log.find("verdict: system_failure") != std::string::npos);
}

TEST_CASE("a timeout that was not starved fails at once with 124") {
  StepHarness h;
  auto script = starved_timeout();
  script.usage.cpu_wait_seconds = 0.1;  // a sleeping hang: it never waited for a CPU
  h.runner.scripts = {script};
  const auto result = h.run();
  CHECK(result.attempts.size() == 1);
  CHECK(result.action == Action::fail);
  CHECK(result.exit_code == 124);
}

TEST_CASE("a cancel during the backoff ends the step without another attempt") {
  StepHarness h;
  h.runner.scripts = {starved_timeout(), starved_timeout()};
  h.runner.cancels = {{Millis{10'010 + 2'000}, 15}};
  const auto result = h.run();
  CHECK(h.runner.starts == 1);
  CHECK(result.cancel_signal == 15);
  CHECK(result.action == Action::fail);
  CHECK(result.exit_code == 143);
  CHECK(result.backoffs[0] == Millis{2000});
  CHECK(h.log_sink.all().find("received SIGTERM during the backoff: no further attempt") != std::string::npos);
}

TEST_CASE("success after a retry is flaky and passes under the default policy") {
  StepHarness h;
  h.runner.scripts = {starved_timeout(), exits(0)};
  const auto result = h.run();
  CHECK(result.attempts.size() == 2);
  CHECK(result.action == Action::pass);
  CHECK(result.exit_code == 0);
  CHECK(result.reason.find("flaky") != std::string::npos);
}

TEST_CASE("with retries switched off the rule's then action applies at once") {
  StepHarness h;
  h.request.retries_enabled = false;
  h.runner.scripts = {starved_timeout()};
  const auto result = h.run();
  CHECK(h.runner.starts == 1);
  CHECK(result.action == Action::system_failure);
  CHECK(result.reason.find("retries are switched off") != std::string::npos);
}

TEST_CASE("every attempt is a section and its summary is printed after the section ends") {
  StepHarness h;
  h.runner.scripts = {starved_timeout(), exits(2)};
  const auto result = h.run();
  CHECK(result.exit_code == 2);
  REQUIRE(h.marker_sink.lines.size() == 4);
  CHECK(h.marker_sink.lines[0] == "[start jobwarden_test_a1]\n");
  CHECK(h.marker_sink.lines[1] == "[end jobwarden_test_a1]\n");
  CHECK(h.marker_sink.lines[2] == "[start jobwarden_test_a2]\n");
  const std::string log = h.log_sink.all();
  CHECK(log.find("attempt 2 of up to 2: red (exited 2, code 2)") != std::string::npos);
  CHECK(log.rfind("jobwarden: verdict: fail: step 'test': red after 2 attempts") != std::string::npos);
}

TEST_CASE("section ids keep only the characters GitLab accepts") {
  CHECK(core::section_id("build job/1", 3) == "jobwarden_build_job_1_a3");
  CHECK(core::section_id("step_script.x-1", 1) == "jobwarden_step_script.x-1_a1");
}

TEST_CASE("a job deadline refuses a retry that cannot finish before it") {
  StepHarness h;
  h.request.settings.timeout = Millis{30'000};
  h.request.deadline = MonoTime{} + Millis{45'000};
  auto starved_30s = starved_timeout();
  starved_30s.usage.cpu_seconds = 5.0;
  starved_30s.usage.cpu_wait_seconds = 20.0;
  h.runner.scripts = {starved_30s, starved_30s};
  const auto result = h.run();
  // Attempt 1 times out at 30 s; 5 s of backoff would leave 10 s, less than 30 s.
  REQUIRE(result.attempts.size() == 1);
  CHECK(h.runner.cpu_checks == 0);  // its own timeout came long before the job's deadline
  CHECK(result.action == Action::system_failure);
  CHECK(result.reason.find("no time left for attempt 2 (needs about 30.00s, 9.99s left") != std::string::npos);
}

TEST_CASE("an attempt is never cut short to pre-empt the job's deadline: the CI's own cancel ends it") {
  StepHarness h;
  h.request.deadline = MonoTime{} + Millis{4'000};
  auto busy = starved_timeout();
  busy.usage.cpu_wait_seconds = 0.1;  // not starved: it hardly waited for a CPU
  h.runner.scripts = {busy};
  h.runner.cancels = {{Millis{4'000}, 15}};  // GitLab's job timeout: SIGTERM at the deadline
  const auto result = h.run();
  REQUIRE(result.attempts.size() == 1);
  CHECK(h.runner.cpu_checks == 1);  // once, a grace (1 s) before the deadline
  CHECK(result.attempts[0].outcome == Outcome::cancelled);
  CHECK(result.attempts[0].run_seconds == doctest::Approx(4.0));
  CHECK(result.exit_code == 143);
  CHECK(h.log_sink.all().find("job deadline in 1s: not starved (hardly waited for a CPU)") != std::string::npos);
  CHECK(h.log_sink.all().find("the step keeps running, the CI's job timeout will end it") != std::string::npos);
}

TEST_CASE("an attempt starved a grace before the job's deadline is ended then, as a system failure") {
  StepHarness h;
  h.request.deadline = MonoTime{} + Millis{4'000};
  auto starved = starved_timeout();
  starved.usage.cpu_seconds = 0.2;
  starved.usage.cpu_wait_seconds = 2.5;  // of 3 s
  h.runner.scripts = {starved, starved};
  const auto result = h.run();
  REQUIRE(result.attempts.size() == 1);  // the default policy would retry a starved timeout: no time for it
  CHECK(result.attempts[0].starved_before_job_deadline);
  CHECK(result.attempts[0].run_seconds == doctest::Approx(3.0));
  CHECK(result.attempts[0].total_seconds < 4.0);  // the tree is dead before GitLab's timeout
  CHECK(result.action == Action::system_failure);
  CHECK(result.exit_code == 75);
  const std::string log = h.log_sink.all();
  CHECK(log.find("job deadline in 1s and starved: waited") != std::string::npos);
  CHECK(log.find("starved a grace before the job's deadline") != std::string::npos);
}

TEST_CASE("the attempt count in the header ignores rules limited to other steps") {
  StepHarness h;
  policy::Rule other;
  other.name = "only-deploy";
  other.when.steps = {"deploy"};
  other.retry = 5;
  h.policy.rules.push_back(other);
  h.runner.scripts = {exits(0)};
  h.run();
  CHECK(h.policy.max_attempts() == 5);
  CHECK(h.policy.max_attempts("test") == 2);  // the default policy's starved rule
  CHECK(h.log_sink.all().find("attempt 1 of up to 2: success") != std::string::npos);
}

TEST_CASE("under Jenkins, a foreign SIGTERM followed by jobwarden's own SIGTERM is the CI's abort: cancelled, no retry") {
  StepHarness h;
  h.request.settings.foreign_term_settle = Millis{6'000};
  const AttemptScript killed = killed_by_foreign_term();  // Jenkins' process-tree killer reached the step first
  policy::Rule any_signal;
  any_signal.name = "signals";
  any_signal.when.outcomes = {Outcome::signal};
  any_signal.retry = 3;
  h.policy.rules.insert(h.policy.rules.begin(), any_signal);
  h.runner.scripts = {killed, killed};
  h.runner.cancels = {{Millis{3'000}, 15}};
  const auto result = h.run();
  CHECK(h.runner.starts == 1);
  CHECK(result.attempts[0].outcome == Outcome::cancelled);
  CHECK(result.exit_code == 143);
  CHECK(h.log_sink.all().find("the CI aborted the step (its SIGTERM reached the step's processes first); no retry") !=
        std::string::npos);
}

TEST_CASE("under Jenkins, a foreign SIGTERM with no SIGTERM to jobwarden within the settle time stays a signal") {
  StepHarness h;
  h.request.settings.foreign_term_settle = Millis{6'000};
  const AttemptScript killed = killed_by_foreign_term();
  h.runner.scripts = {killed};
  const auto result = h.run();
  CHECK(result.attempts[0].outcome == Outcome::signal);
  CHECK(h.clock.elapsed() == Millis{7'000});
  CHECK(h.log_sink.all().find("no SIGTERM reached jobwarden: the step's death is its own") != std::string::npos);
}

TEST_CASE("the death of jobwarden's parent is a cancel, and the log says so") {
  StepHarness h;
  h.runner.scripts = {starved_timeout()};
  h.runner.cancels = {{Millis{2'000}, 1}};
  h.runner.parent_death_at = Millis{2'000};
  const auto result = h.run();
  CHECK(result.attempts[0].outcome == Outcome::cancelled);
  CHECK(result.attempts[0].parent_died);
  CHECK(h.runner.starts == 1);
  CHECK(h.log_sink.all().find("warning: jobwarden's parent process died (the CI agent is gone): cancelling the step") !=
        std::string::npos);
}
