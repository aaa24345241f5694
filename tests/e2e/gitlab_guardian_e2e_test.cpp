// `gitlab run` SIGKILLed mid-stage (the runner's force kill of its process
// group): the guardian kills the job's tree; when the guardian died too,
// `gitlab cleanup` removes what is left by the cgroup paths recorded in the
// job's state, and refuses paths that are not jobwarden's (docs/gitlab.md,
// "Cleanup").
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/support/guardian_check.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_helper = tree_helper();
// The step's members scrub their environment (env -i): the job cookie
// cannot find them, only the cgroup can.
const std::string k_scrubbed_tree = "env -i " + k_helper + " setsid & env -i " + k_helper + " double-fork & " +
                                    "env -i " + k_helper + " grandchild & wait";

// A `gitlab run` stage of the scrubbed tree, once its three helpers are set up.
std::unique_ptr<ChildProcess> start_scrubbed_stage(GitlabRunnerEmulator& gl) {
  auto driver = gl.start_stage("build_script", k_scrubbed_tree);
  REQUIRE(all_helpers_ready(*driver, 3, milliseconds(30'000)));
  return driver;
}

// The runner's force kill of the driver's process group (the step's own
// sessions are not in that group); the pids the tree announced.
std::vector<int> force_kill_stage(GitlabRunnerEmulator& gl, ChildProcess& driver) {
  driver.send_group_signal(SIGKILL);
  const auto killed = gl.finish_stage(driver, milliseconds(30'000));
  const auto pids = ready_pids(killed.driver.out);
  REQUIRE(pids.size() == 4);
  return pids;
}

}  // namespace

TEST_CASE("gitlab run SIGKILLed mid-stage: its guardian kills the job's tree, no cleanup needed") {
  REQUIRE_CGROUP(parent);
  GitlabRunnerEmulator gl;
  gl.config();
  auto driver = start_scrubbed_stage(gl);
  const int jw_pid = driver->pid();
  CHECK(leaves_of(parent, jw_pid).size() == 1);
  const auto pids = force_kill_stage(gl, *driver);
  CHECK(eventually([&] { return surviving(pids).empty(); }, milliseconds(2000)));
  CHECK(eventually([&] { return leaves_of(parent, jw_pid).empty(); }, milliseconds(10'000)));
  kill_leftovers(pids);
}

TEST_CASE("gitlab cleanup after a SIGKILLed run and guardian removes the leaf and its processes by the recorded path") {
  REQUIRE_CGROUP(parent);
  GitlabRunnerEmulator gl;
  gl.config();
  auto driver = start_scrubbed_stage(gl);
  const int jw_pid = driver->pid();
  REQUIRE(kill_guardian_of(jw_pid));  // it dies too (a kill of the runner's whole cgroup)
  const auto pids = force_kill_stage(gl, *driver);
  CHECK(surviving(pids).size() == 4);  // nobody else killed them
  const std::string state = read_file(gl.tmpdir() + "/jobwarden/state.json");
  CHECK(contains(state, "\"v2_parent\":\"" + parent + "\""));
  CHECK(contains(state, "\"pid\":" + std::to_string(jw_pid)));
  const auto leaves = leaves_of(parent, jw_pid);
  REQUIRE(leaves.size() == 1);

  const auto cleanup = gl.cleanup();
  CAPTURE(cleanup.err);
  CHECK(cleanup.exit_code == 0);
  CHECK(cleanup.out.empty());
  for (int pid : pids) CHECK(contains(cleanup.err, "jobwarden: cleanup: killed " + std::to_string(pid) + " `"));
  CHECK(contains(cleanup.err, "jobwarden: cleanup: removed cgroup " + leaves[0] + "\n"));
  CHECK(eventually([&] { return surviving(pids).empty(); }, milliseconds(10'000)));
  CHECK(leaves_of(parent, jw_pid).empty());
  CHECK(gl.cleanup().exit_code == 0);  // idempotent
  kill_leftovers(pids);
}

TEST_CASE("gitlab cleanup refuses cgroup paths in the state file that are not jobwarden's, and kills nothing there") {
  REQUIRE_CGROUP(parent);
  GitlabRunnerEmulator gl;
  gl.config();
  // A cgroup beside ours, holding a jobwarden-shaped leaf with a live process:
  // a job that can write the state file points cleanup at it.
  const std::string decoy = parent + "/jobwarden-test-decoy-" + std::to_string(::getpid());
  const std::string leaf = decoy + "/jobwarden-4194000-1";
  REQUIRE(::mkdir(decoy.c_str(), 0755) == 0);
  REQUIRE(::mkdir(leaf.c_str(), 0755) == 0);
  ChildProcess victim({"/bin/sh", "-c", "echo $$ > " + leaf + "/cgroup.procs && echo joined && exec sleep 300"});
  REQUIRE(victim.wait_for_output("joined", milliseconds(30'000)));
  std::filesystem::create_directories(gl.tmpdir() + "/jobwarden");
  {
    const std::string forged = "{\"started_unix\":1,\"cookie\":\"jobwarden-job-0123456789abcdef\",\"cgroups\":["
                               "{\"pid\":4194000,\"v2_parent\":\"" + decoy + "\",\"v1_memory_parent\":\"\"},"
                               "{\"pid\":4194000,\"v2_parent\":\"" + parent + "/../..\",\"v1_memory_parent\":\"\"}]}\n";
    std::ofstream(gl.tmpdir() + "/jobwarden/state.json") << forged;
  }
  const auto cleanup = gl.cleanup();
  CAPTURE(cleanup.err);
  CHECK(cleanup.exit_code == 0);
  CHECK(count(cleanup.err, "jobwarden: warning: cleanup: refused the recorded cgroups of pid 4194000") == 2);
  CHECK(contains(cleanup.err, "not where jobwarden makes its cgroups here (" + parent + ")"));
  CHECK_FALSE(contains(cleanup.err, "killed"));
  CHECK(::kill(victim.pid(), 0) == 0);
  CHECK(std::filesystem::exists(leaf));
  ::kill(victim.pid(), SIGKILL);
  (void)victim.wait(milliseconds(10'000));
  CHECK(eventually([&] { return ::rmdir(leaf.c_str()) == 0; }, milliseconds(10'000)));
  ::rmdir(decoy.c_str());
}
