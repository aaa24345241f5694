#include <doctest/doctest.h>

#include "executor/core/log_lines.hpp"

using namespace jobwarden;
using core::ProcessInfo;

TEST_CASE("processes are named by pid and command, with their state") {
  const std::vector<ProcessInfo> procs = {{10, 1, 10, 10, 'S', "bash -c x"}, {11, 10, 11, 11, 'T', "sleep 9"}};
  CHECK(core::describe_processes(procs) == "2 processes: 10 `bash -c x`, 11 `sleep 9` (stopped)");
  CHECK(core::describe_processes({procs[0]}) == "1 process: 10 `bash -c x`");
}

TEST_CASE("long process lists are counted past the named ones") {
  std::vector<ProcessInfo> procs;
  for (int i = 0; i < 30; ++i) procs.push_back({100 + i, 1, 1, 1, 'S', "w"});
  const std::string text = core::describe_processes(procs, 3);
  CHECK(text == "30 processes: 100 `w`, 101 `w`, 102 `w`, and 27 more");
}

TEST_CASE("members that were counted but not named are counted, never shown as nameless") {
  std::vector<ProcessInfo> procs;
  for (int i = 0; i < 30; ++i) procs.push_back({100 + i, 1, 1, 1, '?', i % 3 == 0 ? "w" : ""});
  CHECK(core::describe_processes(procs, 3) == "30 processes: 100 `w`, 103 `w`, 106 `w`, and 27 more");
  CHECK(core::describe_processes(procs) == "30 processes: " + [] {
          std::string named;
          for (int i = 0; i < 30; i += 3) named += (i == 0 ? "" : ", ") + std::to_string(100 + i) + " `w`";
          return named;
        }() + ", and 20 more");
  const std::vector<ProcessInfo> unnamed = {{7, 1, 1, 1, '?', ""}, {8, 1, 1, 1, '?', ""}};
  CHECK(core::describe_processes(unnamed) == "2 processes");
}

TEST_CASE("commands render like a shell would read them") {
  CHECK(core::render_command({"make", "-j2", "test"}) == "make -j2 test");
  CHECK(core::render_command({"bash", "-c", "echo 'hi' && exit 3"}) == "bash -c 'echo '\\''hi'\\'' && exit 3'");
  CHECK(core::render_command({"x", ""}) == "x ''");
  CHECK(core::render_command({std::string(200, 'a')}, 10) == "aaaaaaaaaa...");
}

TEST_CASE("a signal line names the reason, the signal and every target") {
  core::SignalSent sent;
  sent.signal = "SIGTERM";
  sent.reason = "timeout 2s reached";
  sent.targets = {{10, 1, 10, 10, 'S', "sleep 100"}};
  CHECK(core::signal_line(sent, true) == "timeout 2s reached: SIGTERM to 1 process: 10 `sleep 100`");
  CHECK(core::signal_line(sent, false) ==
        "timeout 2s reached: SIGTERM to the step's main process only (tree kill off): 1 process: 10 `sleep 100`");
  sent.targets.clear();
  CHECK(core::signal_line(sent, true) == "timeout 2s reached: SIGTERM: nothing left to signal");
}

TEST_CASE("the attempt summary carries the evidence") {
  core::AttemptRecord r;
  r.number = 1;
  r.outcome = policy::Outcome::timeout;
  r.ending.term_signal = 15;
  r.ending.signal_sent_by_us = true;
  r.signals.push_back({});
  r.step_exit_code = 124;
  r.run_seconds = 2.0;
  r.usage.cpu_seconds = 0.5;
  r.usage.peak_rss_kib = 2048;
  r.usage.cpu_wait_seconds = 0.25;
  r.usage.processes_reaped = 3;
  r.signalled = {{10, 1, 10, 10, 'S', "a"}, {11, 1, 11, 11, 'S', "b"}};
  r.escapees = {{11, 1, 11, 11, 'S', "b"}};
  r.starvation.cpu_share = 0.125;
  r.starvation.explanation = "not starved (hardly waited for a CPU)";
  const std::string line = core::attempt_summary(r, 1);
  CHECK(line ==
        "attempt 1 of 1: timeout (killed by SIGTERM (sent by jobwarden), code 124) after 2.00s; "
        "cpu 0.50s (12% of usable CPUs), peak rss 2.0 MiB, cpu wait 0.25s, 3 processes reaped, "
        "2 killed (tree empty 0.00s after the first signal); escaped the process group: 1 process: 11 `b`; not starved (hardly waited for a CPU)");
}

TEST_CASE("multi-line commands are shown on one line") {
  CHECK(core::render_command({"bash", "-c", "\n  echo a\n\techo b\n"}) == "bash -c ' echo a echo b '");
  const std::vector<ProcessInfo> procs = {{10, 1, 10, 10, 'S', "bash -c   echo a\n  sleep 1 "}};
  CHECK(core::describe_processes(procs) == "1 process: 10 `bash -c echo a sleep 1`");
}

TEST_CASE("describe_processes masks secrets before a command is squeezed and cut") {
  core::Redactor secrets;
  REQUIRE(secrets.add_secret("tab\tsecret-9"));
  const std::vector<ProcessInfo> procs = {{10, 1, 10, 10, 'S', "deploy --key tab\tsecret-9"}};
  CHECK(core::describe_processes(procs) == "1 process: 10 `deploy --key tab secret-9`");  // squeezed: unmaskable
  CHECK(core::describe_processes(procs, 25, &secrets) == "1 process: 10 `deploy --key [MASKED]`");
}
