// Each CI's own contract, end to end: colours, the parent's death, the log
// dialects and the files each CI reads.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();
const std::string k_helper = tree_helper();

const std::string k_green = "jobwarden: \x1b[32;1mverdict: pass";

}  // namespace

TEST_CASE("--color auto colours the verdict in GitLab, always and never are obeyed, and NO_COLOR turns auto off") {
  CHECK(contains(run_child(jw_run_ci("gitlab", {}, {"true"})).err, k_green));
  CHECK_FALSE(contains(run_child(jw_run_ci("generic", {}, {"true"})).err, "\x1b["));  // stderr is a pipe
  CHECK_FALSE(contains(run_child(jw_run_ci("gitlab", {}, {"true"}), {"NO_COLOR=1"}).err, "\x1b[32"));
  CHECK(contains(run_child(jw_run_ci("gitlab", {}, {"true"}), {"NO_COLOR="}).err, "\x1b[32;1m"));  // empty: not set
  CHECK(contains(run_child(jw_run_ci("jenkins", {"--color", "always"}, {"true"}), {"NO_COLOR=1"}).err, "\x1b[32;1m"));
  CHECK_FALSE(contains(run_child(jw_run_ci("github", {}, {"true"})).err, "\x1b["));
  CHECK(contains(run_child(jw_run_ci("buildkite", {"--color", "always"}, {"true"})).err, k_green));
  CHECK_FALSE(contains(run_child(jw_run_ci("gitlab", {"--color", "never"}, {"true"})).err, "\x1b["));
  const auto red = run_child(jw_run_ci("gitlab", {}, {"false"}));
  CHECK(contains(red.err, "jobwarden: \x1b[31;1mverdict: fail"));
  const auto bad = run_child(jw_run_ci("gitlab", {"--color", "sometimes"}, {"true"}));
  CHECK(bad.exit_code == 64);
}

TEST_CASE("an invalid policy is an error, named by its absolute path, with a coloured not-started verdict") {
  TempDir dir;
  dir.write("bad.yml", "version: 1\nrules: 3\n");
  const auto r = run_child(jw_run_ci("gitlab", {"--policy", "bad.yml"}, {"true"}), {}, milliseconds(30'000), dir.path());
  CAPTURE(r.err);
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, "jobwarden: error: policy: " + dir.path() + "/bad.yml:2:"));
  CHECK_FALSE(contains(r.err, "warning:"));
  CHECK(contains(r.err, "jobwarden: \x1b[31;1mverdict: not started: the policy " + dir.path() + "/bad.yml is invalid"));
}

TEST_CASE("when jobwarden's parent dies, the step is cancelled, its tree killed, and the log says why") {
  // bash starts jobwarden in the background and waits; then only bash is killed.
  ChildProcess shell({"/bin/bash", "-c", "\"$0\" run --ci generic --grace 1s -- \"$1\" --ignore-term grandchild & wait",
                      k_jw, k_helper});
  REQUIRE(shell.wait_for_output("all-ready", milliseconds(30'000)));
  shell.send_signal(SIGKILL);
  REQUIRE(shell.wait_for_output("verdict:", milliseconds(30'000)));
  const ChildResult& r = shell.so_far();
  CAPTURE(r.err);
  CHECK(contains(r.err, "jobwarden: warning: jobwarden's parent process died (the CI agent is gone): cancelling the step"));
  CHECK(contains(r.err, "grace 1s over: SIGKILL"));
  CHECK(contains(r.err, "jobwarden: attempt 1 of up to 2: cancelled"));
  const auto pids = ready_pids(r.out);
  REQUIRE(pids.size() == 2);
  CHECK(eventually([&] { return surviving(pids).empty(); }, milliseconds(10'000)));
}

TEST_CASE("a thread of the parent ending is not the parent's death") {
  // The kernel sends the parent-death signal when the forking *thread* ends;
  // SIGUSR2 from anyone while the parent lives must not cancel anything.
  ChildProcess jw(jw_run_ci("generic", {}, {"/bin/bash", "-c", "echo all-ready; sleep 1"}));
  REQUIRE(jw.wait_for_output("all-ready", milliseconds(30'000)));
  jw.send_signal(SIGUSR2);
  const auto r = jw.wait();
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.err, "parent process died"));
}

namespace {

const char* k_retry_three = R"(version: 1
defaults: {backoff: {initial: 100ms, jitter: 0}}
rules:
  - name: three
    when: {outcome: red, exit_codes: [3]}
    retry: 2
    then: fail
  - name: signals
    when: {outcome: signal}
    retry: 3
    then: fail
)";

// The report as an XML parser reads it: suite counts, the testcase's name
// and its child elements in order.
std::string parse_junit(const std::string& path) {
  const auto r = run_child({"/usr/bin/env", "python3", "-c",
                            "import sys, xml.etree.ElementTree as ET\n"
                            "root = ET.parse(sys.argv[1]).getroot()\n"
                            "s = root.find('testsuite'); c = s.find('testcase')\n"
                            "print(s.get('tests'), s.get('failures'), s.get('errors'), c.get('name'),\n"
                            "      ' '.join(e.tag for e in c), '|', c.find('*/system-out').text if c.find('*/system-out') is not None else '')\n",
                            path});
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("--junit writes Surefire's flakyFailure for a flaky pass and failure + rerunFailure for a failed step") {
  TempDir dir;
  dir.write("policy.yml", k_retry_three);
  // Fails once with bytes XML cannot hold, then passes.
  const std::string flaky = "n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; "
                            "if [ $n -lt 1 ]; then printf 'bad \\377 <byte> \\033[31m&\\n'; exit 3; fi";
  auto r = run_child(jw_run_ci("jenkins", {"--policy", "policy.yml", "--step", "unit <tests>", "--junit", "out.xml"},
                            {"/bin/bash", "-c", flaky}),
                     {}, milliseconds(30'000), dir.path());
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(parse_junit(dir.file("out.xml")) == "1 0 0 unit <tests> flakyFailure system-out | bad \xef\xbf\xbd <byte> \xef\xbf\xbd[31m&\n\n");
  r = run_child(jw_run_ci("generic", {"--policy", "policy.yml", "--junit", dir.file("fail.xml")}, {"/bin/sh", "-c", "exit 3"}),
                {}, milliseconds(30'000), dir.path());
  CHECK(r.exit_code == 3);
  CHECK(parse_junit(dir.file("fail.xml")) == "1 1 0 default failure rerunFailure system-out | None\n");
}

TEST_CASE("--ci github appends a table of attempts to GITHUB_STEP_SUMMARY within its 1 MiB and fits the grace") {
  TempDir dir;
  const std::string summary = dir.write("summary.md", "earlier step\n");
  auto r = run_child(jw_run_ci("github", {"--grace", "30s"}, {"/bin/sh", "-c", "exit 4"}), {"GITHUB_STEP_SUMMARY=" + summary});
  CAPTURE(r.err);
  CHECK(r.exit_code == 4);
  CHECK(contains(r.err, "jobwarden: warning: grace 30s clamped to 5s: the GitHub runner sends SIGTERM 7.5s and SIGKILL 10s after its SIGINT"));
  const std::string md = read_file(summary);
  CHECK(md.rfind("earlier step\n### jobwarden: step default: fail\n", 0) == 0);
  CHECK(contains(md, "| 1 | red | exited 4, code 4 |"));
  CHECK(contains(md, "**Verdict:** fail"));
  dir.write("full.md", std::string(1024 * 1024 - 100, 'x'));
  r = run_child(jw_run_ci("github", {}, {"true"}), {"GITHUB_STEP_SUMMARY=" + dir.file("full.md")});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "could not add to the step summary: " + dir.file("full.md") + " would exceed 1048576 bytes"));
  CHECK(read_file(dir.file("full.md")).size() == 1024 * 1024 - 100);
}

TEST_CASE("--ci buildkite fits the grace to the agent's, never exits 125, and annotates through buildkite-agent") {
  TempDir dir;
  dir.write("buildkite-agent", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\ncat > \"$(dirname \"$0\")/body\"\n");
  std::filesystem::permissions(dir.file("buildkite-agent"), std::filesystem::perms::owner_all);
  const std::string path = "PATH=" + dir.path() + ":" + std::string(std::getenv("PATH"));
  const auto r = run_child(jw_run_ci("buildkite", {"--grace", "10s"}, {"/bin/sh", "-c", "exit 125"}),
                           {path, "BUILDKITE_CANCEL_SIGNAL_TIMEOUT=4s"});
  CAPTURE(r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "grace 10s clamped to 3s: the Buildkite agent SIGKILLs the job 4s after its cancel signal"));
  CHECK(contains(r.err, "exit code 1 (the step's 125 would read as -1, agent lost, in Buildkite)"));
  CHECK(read_file(dir.file("args")) == "annotate\n--style\nerror\n--context\njobwarden-default\n");
  CHECK(contains(read_file(dir.file("body")), "| 1 | red | exited 125, code 125 |"));
}

TEST_CASE("--ci jenkins clamps the grace, and a SIGTERM to the step then to jobwarden is Jenkins' abort: cancelled, no retry") {
  TempDir dir;
  dir.write("policy.yml", k_retry_three);
  ChildProcess jw(jw_run_ci("jenkins", {"--policy", "policy.yml", "--grace", "1m"}, {k_helper, "sleep"}), {}, dir.path());
  REQUIRE(jw.wait_for_output("ready ", milliseconds(30'000)));
  const auto pids = ready_pids(jw.so_far().out);
  REQUIRE(pids.size() == 1);
  ::kill(pids[0], SIGTERM);  // the process-tree killer reaches the step first...
  REQUIRE(jw.wait_for_output("waiting up to 6s for the CI's SIGTERM", milliseconds(30'000)));
  jw.send_signal(SIGTERM);  // ...and jobwarden after it
  const auto r = jw.wait();
  CAPTURE(r.err);
  CHECK(r.exit_code == 143);
  CHECK(contains(r.err, "grace 1m clamped to 15s: Jenkins' sh step gives up 20s after it stops the step"));
  CHECK(contains(r.err, "received SIGTERM: the CI aborted the step"));
  CHECK(contains(r.err, "attempt 1 of up to 3: cancelled"));
  CHECK_FALSE(contains(r.err, "attempt 2"));
}

TEST_CASE("with stdout and stderr one pipe, the step gets one pipe: 300 interleaved runs, each identical to the bare command") {
  const std::vector<std::string> cmd{"/bin/bash", "-c", "echo A; echo B >&2; echo C; echo D >&2; echo E"};
  const auto bare = run_child(cmd, {}, milliseconds(30'000), "", true);
  REQUIRE(bare.out == "A\nB\nC\nD\nE\n");
  int identical = 0;
  for (int run = 0; run < 300; ++run) {
    const auto r = run_child(jw_run_ci("generic", {"--quiet"}, cmd), {}, milliseconds(30'000), "", true);
    std::string step_output;
    for (std::size_t at = 0; at < r.out.size();) {
      const std::size_t end = std::min(r.out.find('\n', at), r.out.size() - 1) + 1;
      if (r.out.compare(at, 11, "jobwarden: ") != 0) step_output += r.out.substr(at, end - at);
      at = end;
    }
    if (step_output != bare.out) {
      CAPTURE(run);
      CHECK(step_output == bare.out);
      break;
    }
    ++identical;
  }
  CHECK(identical == 300);
}

TEST_CASE("with stdout and stderr one pipe, jobwarden's own lines keep their place among the step's") {
  const auto r = run_child(jw_run_ci("generic", {}, {"/bin/bash", "-c", "echo one; echo two >&2; echo three; exit 3"}), {},
                           milliseconds(30'000), "", true);
  CAPTURE(r.out);
  CHECK(r.exit_code == 3);
  const auto header = r.out.find("jobwarden: step 'default' attempt 1");
  const auto step = r.out.find("one\ntwo\nthree\n");
  const auto summary = r.out.find("jobwarden: attempt 1 of up to 2: red");
  REQUIRE(header != std::string::npos);
  REQUIRE(step != std::string::npos);
  REQUIRE(summary != std::string::npos);
  CHECK(header < step);
  CHECK(step < summary);
}

TEST_CASE("with stdout and stderr one pipe, the policy's output patterns see what the step wrote to either") {
  TempDir dir;
  dir.write("policy.yml", "version: 1\ndefaults: {backoff: {initial: 100ms, jitter: 0}}\nrules:\n"
                          "  - name: order\n    when: {outcome: red, output: 'out-1\\nerr-2\\nout-3'}\n    retry: 2\n    then: unstable\n");
  const auto r = run_child(jw_run_ci("generic", {"--policy", dir.file("policy.yml")},
                                  {"/bin/bash", "-c", "echo out-1; echo err-2 >&2; echo out-3; exit 1"}),
                           {}, milliseconds(30'000), "", true);
  CAPTURE(r.out);
  CHECK(r.exit_code == 79);  // matched twice: the tail holds both streams in the order written
  CHECK(contains(r.out, "decision: retry after 100ms (rule 'order' matched 1/2 attempts)"));
}
