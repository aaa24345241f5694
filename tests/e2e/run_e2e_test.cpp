// The built jobwarden binary, driven as a CI runner drives a step: argv,
// environment, signals, exit codes, job-log text.
#include <doctest/doctest.h>

#include <csignal>
#include <regex>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();
const std::string k_helper = tree_helper();

}  // namespace

TEST_CASE("a timed-out tree is killed, each process named, and the exit code is 124") {
  const auto r = run_child(jw_run({"--timeout", "2s", "--grace", "5s"}, {k_helper, "grandchild"}));
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 124);
  REQUIRE(contains(r.out, "all-ready 2"));
  CHECK(contains(r.err, "jobwarden: timeout 2s reached: SIGTERM to 3 processes: "));
  for (int pid : ready_pids(r.out)) CHECK(contains(r.err, std::to_string(pid) + " `"));
  CHECK(contains(r.err, "jobwarden: attempt 1 of up to 2: timeout (killed by SIGTERM (sent by jobwarden), code 124)"));
  CHECK(contains(r.err, "jobwarden: verdict: fail: step 'default': timeout after 1 attempt"));
  CHECK(contains(r.err, "exit code 124\n"));
  CHECK(surviving(ready_pids(r.out)).empty());
}

TEST_CASE("SIGTERM, SIGINT or SIGHUP to jobwarden mid-step kills the tree within the grace") {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    CAPTURE(sig);
    ChildProcess jw(jw_run({"--grace", "2s"}, {k_helper, "--ignore-term", "setsid"}));
    REQUIRE(jw.wait_for_output("all-ready", milliseconds(30'000)));
    jw.send_signal(sig);
    const auto r = jw.wait();
    CAPTURE(r.err);
    REQUIRE_FALSE(r.hung);
    CHECK(r.exit_code == 128 + sig);
    CHECK(contains(r.err, ": cancelling the step: SIGTERM to 2 processes"));
    CHECK(contains(r.err, "grace 2s over: SIGKILL to 2 processes"));
    CHECK(contains(r.err, "jobwarden: attempt 1 of up to 2: cancelled"));
    CHECK(contains(r.err, "escaped the process group: 1 process"));
    CHECK(surviving(ready_pids(r.out)).empty());
  }
}

TEST_CASE("the step's exit code passes through and a signal death becomes 128+N") {
  auto r = run_child(jw_run({}, {k_helper, "exit", "42"}));
  CHECK(r.exit_code == 42);
  CHECK(contains(r.err, "red (exited 42, code 42)"));
  r = run_child(jw_run({}, {k_helper, "signal", "6"}));
  CHECK(r.exit_code == 134);
  CHECK(contains(r.err, "signal (killed by SIGABRT (not sent by jobwarden), code 134)"));
  r = run_child(jw_run({}, {"true"}));
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "jobwarden: verdict: pass"));
}

TEST_CASE("a command that cannot start is 127 or 126 with the reason in the log") {
  auto r = run_child(jw_run({}, {"jobwarden-no-such-command"}));
  CHECK(r.exit_code == 127);
  CHECK(contains(r.err, "jobwarden: warning: could not start the step: jobwarden-no-such-command: not found on PATH"));
  r = run_child(jw_run({}, {"/etc/hostname"}));
  CHECK(r.exit_code == 126);
}

TEST_CASE("output is relayed to stdout byte for byte and jobwarden's lines go to stderr") {
  const auto r = run_child(jw_run({}, {k_helper, "binary", "1000000"}));
  CHECK(r.exit_code == 0);
  REQUIRE(r.out.size() == 1'000'000);
  unsigned int x = 12345;
  bool same = true;
  for (std::size_t i = 0; i < r.out.size() && same; ++i) {
    x = x * 1103515245u + 12345u;
    same = r.out[i] == static_cast<char>(x >> 16);
  }
  CHECK(same);
  CHECK_FALSE(contains(r.out, "jobwarden:"));
  CHECK(contains(r.err, "jobwarden: "));
}

TEST_CASE("a background holder of stdout does not hang the step and is killed") {
  const auto r = run_child(jw_run({}, {k_helper, "holder"}), {}, milliseconds(30'000));
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "main process ended; cleaning up what it left behind: SIGTERM to 1 process"));
  CHECK(surviving(ready_pids(r.out)).empty());
}

TEST_CASE("--quiet keeps only warnings and the verdict") {
  const auto r = run_child(jw_run({"--quiet"}, {k_helper, "exit", "3"}));
  CHECK(r.exit_code == 3);
  CHECK_FALSE(contains(r.err, "attempt 1"));
  CHECK(contains(r.err, "jobwarden: verdict: fail"));
}

TEST_CASE("usage errors exit 64 and name the problem") {
  auto r = run_child({k_jw, "run"});
  CHECK(r.exit_code == 64);
  CHECK(contains(r.err, "jobwarden: usage error"));
  r = run_child({k_jw, "run", "--timeout", "30", "--", "true"});
  CHECK(r.exit_code == 64);
  CHECK(contains(r.err, "invalid duration '30'"));
  r = run_child({k_jw, "run", "--ci", "travis", "--", "true"});
  CHECK(r.exit_code == 64);
  r = run_child({k_jw, "--version"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "jobwarden "));
}

// `jobwarden run ...` builds only the run subcommand (cli.cpp): it must accept
// and describe exactly what the whole command tree says run accepts.
TEST_CASE("jobwarden run knows every option the whole command tree lists for it") {
  const auto reference = run_child({k_jw, "--markdown-reference"});
  REQUIRE(reference.exit_code == 0);
  const std::size_t from = reference.out.find("## jobwarden run\n");
  REQUIRE(from != std::string::npos);
  std::string section = reference.out.substr(from, reference.out.find("\n## ", from + 1) - from);
  section = std::regex_replace(section, std::regex("\\\\(.)"), "$1");  // markdown escapes
  const auto help = run_child({k_jw, "run", "--help"});
  REQUIRE(help.exit_code == 0);
  std::size_t options = 0;
  const std::regex option("\\*\\*(--[a-z-]+)\\*\\*|\\*\\*(JOBWARDEN_[A-Z_]+)\\*\\*");
  for (std::sregex_iterator it(section.begin(), section.end(), option), end; it != end; ++it) {
    const std::string name = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
    CAPTURE(name);
    CHECK(contains(help.out, name));
    ++options;
  }
  CHECK(options >= 20);  // ten options and their variables, --help
  const auto unknown = run_child({k_jw, "run", "--bogus", "--", "true"});
  CHECK(unknown.exit_code == 64);
  CHECK(contains(unknown.err, "jobwarden: usage error: The following arguments were not expected: -- --bogus\n"));
}

TEST_CASE("options can come from JOBWARDEN_ environment variables") {
  const auto r = run_child({k_jw, "run", "--", k_helper, "sleep"},
                           {"JOBWARDEN_TIMEOUT=500ms", "JOBWARDEN_GRACE=1s", "JOBWARDEN_CI=generic"});
  CHECK(r.exit_code == 124);
  CHECK(contains(r.err, "timeout 500ms reached"));
}

TEST_CASE("--ci github groups each attempt and annotates the failure") {
  const auto r = run_child({k_jw, "run", "--ci", "github", "--", k_helper, "exit", "5"});
  CHECK(r.exit_code == 5);
  CHECK(contains(r.out, "::group::jobwarden: step 'default' attempt 1"));
  CHECK(contains(r.out, "::endgroup::\n"));
  CHECK(contains(r.out, "::error::jobwarden: step 'default': red after 1 attempt"));
}

TEST_CASE("--ci gitlab writes a collapsed section per attempt") {
  const auto r = run_child({k_jw, "run", "--ci", "gitlab", "--step", "unit tests", "--", "true"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, ":jobwarden_unit_tests_a1[collapsed=true]\r\x1b[0Kjobwarden: step 'unit tests' attempt 1"));
  CHECK(contains(r.out, "\x1b[0Ksection_end:"));
}

TEST_CASE("--ci auto picks the dialect from the CI's environment") {
  const auto r = run_child({k_jw, "run", "--", "true"}, {"GITHUB_ACTIONS=true", "GITLAB_CI=", "BUILDKITE="});
  CHECK(contains(r.out, "::group::"));
}

TEST_CASE("JOBWARDEN_TREE_KILL=0 signals only the direct child and says so") {
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--", k_helper, "--main-exits", "0", "grandchild"},
                           {"JOBWARDEN_TREE_KILL=0"}, milliseconds(30'000));
  const auto pids = ready_pids(r.out);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "tree kill is OFF (JOBWARDEN_TREE_KILL=0)"));
  CHECK(contains(r.err, "leaving 2 processes"));
  CHECK(surviving(pids).size() == 2);
  for (int pid : pids) kill(pid, SIGKILL);
}

TEST_CASE("the step inherits no descriptor beyond stdin, stdout and stderr") {
  // jobwarden's parent (a CI agent) leaves fds 3-50 open without close-on-exec;
  // without close_range in the child they would all reach the step. The step
  // looks with a shell builtin (`[ -e ]` opens nothing; a pipeline or a glob
  // would show descriptors of its own).
  const std::string step = "for n in $(seq 3 60); do [ -e /proc/$$/fd/$n ] && printf '%s ' $n; done; echo end";
  const std::string parent = "for n in $(seq 3 50); do eval \"exec $n</dev/null\"; done; "
                             "[ -e /proc/$$/fd/50 ] || exit 99; exec " + k_jw + " run --ci generic -- sh -c \"$0\"";
  const auto r = run_child({"/bin/bash", "-c", parent, step});
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "end\n");
}

TEST_CASE("children jobwarden already had when it started are not the step's and are left alone") {
  const auto r = run_child({"/bin/sh", "-c", k_helper + " sleep & exec " + k_jw + " run --ci generic --grace 5s -- true"},
                           {}, milliseconds(30'000));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.err, "cleaning up what it left behind"));
  const auto pids = ready_pids(r.out);
  REQUIRE(pids.size() == 1);
  CHECK(helper_alive(pids[0]));
  kill(pids[0], SIGKILL);
}

TEST_CASE("a log reader that stops reading cannot stop the timeout, and dropped output is counted") {
  // jobwarden's stdout is a pipe to `sleep`, which never reads it.
  ChildProcess sh({"/bin/sh", "-c",
                   "{ " + k_jw + " run --ci generic --timeout 2s --grace 1s -- yes; echo \"jw-exit=$?\" >&2; } | sleep 60"});
  REQUIRE(sh.wait_for_output("jw-exit=124", milliseconds(40'000)));  // not after the 60 s of sleep
  sh.send_group_signal(SIGKILL);
  const auto r = sh.wait(milliseconds(10'000));
  CHECK(contains(r.err, "timeout 2s reached"));
  CHECK(contains(r.err, "bytes of output dropped (the log's reader stopped reading)"));
}
