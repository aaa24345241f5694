#include <doctest/doctest.h>

#include <vector>

#include "policy/classify.hpp"

using namespace jobwarden::policy;

TEST_CASE("classification from evidence, table-driven") {
  struct Row {
    const char* name;
    Ending ending;
    Outcome expected;
  };
  Ending start_failed;
  start_failed.start_failed = true;
  Ending exit0;
  exit0.exit_code = 0;
  Ending exit1;
  exit1.exit_code = 1;
  Ending segv;
  segv.term_signal = 11;
  Ending timed_out = segv;
  timed_out.term_signal = 15;
  timed_out.signal_sent_by_us = true;
  timed_out.deadline_expired = true;
  Ending cancelled = timed_out;
  cancelled.deadline_expired = false;
  cancelled.cancel_requested = true;
  Ending oom;
  oom.term_signal = 9;
  oom.oom_killed = true;
  Ending segv_in_grace = segv;  // our SIGTERM after the deadline, then a crash in its handler
  segv_in_grace.deadline_expired = true;
  Ending segv_in_cancel = segv_in_grace;
  segv_in_cancel.deadline_expired = false;
  segv_in_cancel.cancel_requested = true;
  Ending success_then_cancel = exit0;  // exit 0 but the deadline fired first
  success_then_cancel.deadline_expired = true;
  const std::vector<Row> rows = {
      {"exec failure is error", start_failed, Outcome::error},
      {"exit 0 is success", exit0, Outcome::success},
      {"exit 1 is red", exit1, Outcome::red},
      {"SIGSEGV we did not send is signal", segv, Outcome::signal},
      {"death after our deadline is timeout", timed_out, Outcome::timeout},
      {"death after a cancel is cancelled", cancelled, Outcome::cancelled},
      {"OOM kill beats the signal", oom, Outcome::oom},
      {"a SIGSEGV we did not send during the grace after a timeout is signal", segv_in_grace, Outcome::signal},
      {"a SIGSEGV we did not send during a cancel is signal", segv_in_cancel, Outcome::signal},
      {"a deadline that fired first wins over a late exit 0", success_then_cancel, Outcome::timeout},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(classify(row.ending) == row.expected);
  }
}

TEST_CASE("starvation needs both: waiting for a CPU and getting little of it") {
  const StarvationThresholds th;
  struct Row {
    const char* name;
    CpuEvidence ev;
    bool measured;
    bool starved;
  };
  const std::vector<Row> rows = {
      // A busy loop sharing one CPU with two hogs: 1/3 of the CPU, waiting 2/3 of the time.
      {"starved busy loop", {60.0, 20.0, 40.0, 1.0}, true, true},
      // A hang on a lock: no CPU, no wait, however loaded the host.
      {"sleeping hang", {60.0, 0.1, 0.0, 2.0}, true, false},
      // make -j8 on 2 CPUs: waits a lot, but keeps both CPUs busy itself.
      {"self-saturating build", {60.0, 118.0, 300.0, 2.0}, true, false},
      {"cpu wait unavailable", {60.0, 20.0, std::nullopt, 1.0}, false, false},
      {"usable cpus unknown", {60.0, 20.0, 40.0, std::nullopt}, false, false},
      {"no running time", {0.0, 0.0, 0.0, 1.0}, false, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const auto a = assess_starvation(row.ev, th);
    CHECK(a.measured == row.measured);
    CHECK(a.starved == row.starved);
    CHECK_FALSE(a.explanation.empty());
  }
}

TEST_CASE("the starvation explanation gives the measured fractions and thresholds") {
  const auto a = assess_starvation({60.0, 20.0, 40.0, 1.0}, StarvationThresholds{});
  CHECK(a.explanation == "starved: waited 67% of wall (threshold 25%), got 33% of usable CPUs (threshold 50%)");
}

TEST_CASE("the step's own exit code follows the outcome, as a shell would report it") {
  Ending e;
  e.exit_code = 3;
  CHECK(step_exit_code(Outcome::red, e, 0, 0) == 3);
  CHECK(step_exit_code(Outcome::red, Ending{}, 0, 0) == 1);
  CHECK(step_exit_code(Outcome::success, e, 0, 0) == 0);
  CHECK(step_exit_code(Outcome::timeout, e, 0, 0) == 124);
  CHECK(step_exit_code(Outcome::cancelled, e, 0, 2) == 130);
  CHECK(step_exit_code(Outcome::oom, e, 0, 0) == 137);
  CHECK(step_exit_code(Outcome::error, Ending{}, 126, 0) == 126);
  Ending segv;
  segv.term_signal = 11;
  CHECK(step_exit_code(Outcome::signal, segv, 0, 0) == 139);
}

TEST_CASE("deprivation: a window loses min(the step's wait, others' CPU)") {
  CHECK(lost_in_window({0.2, 0.0, 0.2, 0.0}) == 0.0);          // waited behind its own tasks: nothing lost
  CHECK(lost_in_window({0.2, 0.05, 0.2, 0.3}) == doctest::Approx(0.2));
  CHECK(lost_in_window({0.2, 0.1, 0.05, 0.3}) == doctest::Approx(0.05));
  CHECK(lost_in_window({0.2, 0.2, 0.0, 0.2}) == 0.0);          // never waited
}

TEST_CASE("deprivation decides over the plain wait and names who had the CPUs") {
  CpuEvidence burst{2.0, 0.1, 5.0, 2.0};  // waited 250% of wall, behind its own children
  burst.lost_cpu_seconds = 0.02;
  burst.others_cpus_while_waiting = 0.01;
  const auto not_starved = assess_starvation(burst, StarvationThresholds{});
  CHECK_FALSE(not_starved.starved);
  CHECK(not_starved.explanation.rfind("not starved (hardly waited for a CPU others used): lost 0.02 CPU-s", 0) == 0);
  CpuEvidence beside_hogs{2.0, 0.4, 1.6, 2.0};
  beside_hogs.lost_cpu_seconds = 1.5;
  beside_hogs.others_cpus_while_waiting = 1.7;
  const auto starved = assess_starvation(beside_hogs, StarvationThresholds{});
  CHECK(starved.starved);
  CHECK(starved.explanation ==
        "starved: lost 1.50 CPU-s to others (75% of wall, threshold 25%; others used 1.7 of 2.0 CPUs while the step "
        "waited), got 10% of usable CPUs (threshold 50%)");
}
