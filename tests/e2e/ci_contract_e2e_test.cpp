// Each CI's own contract, end to end: colours, the parent's death, the log
// dialects and the files each CI reads.
#include <doctest/doctest.h>

#include <csignal>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();
const std::string k_helper = tree_helper();

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> jw_run(const std::string& ci, std::vector<std::string> options,
                                std::vector<std::string> command) {
  std::vector<std::string> argv{k_jw, "run", "--ci", ci};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

const std::string k_green = "jobwarden: \x1b[32;1mverdict: pass";

}  // namespace

TEST_CASE("--color auto colours the verdict in GitLab, always and never are obeyed, and NO_COLOR turns auto off") {
  CHECK(contains(run_child(jw_run("gitlab", {}, {"true"})).err, k_green));
  CHECK_FALSE(contains(run_child(jw_run("generic", {}, {"true"})).err, "\x1b["));  // stderr is a pipe
  CHECK_FALSE(contains(run_child(jw_run("gitlab", {}, {"true"}), {"NO_COLOR=1"}).err, "\x1b[32"));
  CHECK(contains(run_child(jw_run("gitlab", {}, {"true"}), {"NO_COLOR="}).err, "\x1b[32;1m"));  // empty: not set
  CHECK(contains(run_child(jw_run("jenkins", {"--color", "always"}, {"true"}), {"NO_COLOR=1"}).err, "\x1b[32;1m"));
  CHECK_FALSE(contains(run_child(jw_run("github", {}, {"true"})).err, "\x1b["));
  CHECK(contains(run_child(jw_run("buildkite", {"--color", "always"}, {"true"})).err, k_green));
  CHECK_FALSE(contains(run_child(jw_run("gitlab", {"--color", "never"}, {"true"})).err, "\x1b["));
  const auto red = run_child(jw_run("gitlab", {}, {"false"}));
  CHECK(contains(red.err, "jobwarden: \x1b[31;1mverdict: fail"));
  const auto bad = run_child(jw_run("gitlab", {"--color", "sometimes"}, {"true"}));
  CHECK(bad.exit_code == 64);
}

TEST_CASE("an invalid policy is an error, named by its absolute path, with a coloured not-started verdict") {
  TempDir dir;
  dir.write("bad.yml", "version: 1\nrules: 3\n");
  const auto r = run_child(jw_run("gitlab", {"--policy", "bad.yml"}, {"true"}), {}, milliseconds(30'000), dir.path());
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
  ChildProcess jw(jw_run("generic", {}, {"/bin/bash", "-c", "echo all-ready; sleep 1"}));
  REQUIRE(jw.wait_for_output("all-ready", milliseconds(30'000)));
  jw.send_signal(SIGUSR2);
  const auto r = jw.wait();
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(contains(r.err, "parent process died"));
}
