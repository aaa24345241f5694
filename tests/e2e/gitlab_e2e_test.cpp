// `jobwarden gitlab ...` driven as gitlab-runner's custom executor drives it.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/support/guardian_check.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_helper = tree_helper();

// Two CPU hogs on CPU 0, each in its own session (see HACKING.md on autogroups).
std::vector<std::unique_ptr<ChildProcess>> cpu0_hogs() {
  std::vector<std::unique_ptr<ChildProcess>> hogs;
  for (int i = 0; i < 2; ++i) {
    hogs.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/taskset", "-c", "0", k_helper, "spin"}, std::vector<std::string>{}, "", true));
    REQUIRE(hogs.back()->wait_for_output("ready", milliseconds(30'000)));
  }
  return hogs;
}

const char* k_lock_policy = R"(version: 1
defaults:
  backoff: {initial: 100ms, jitter: 0}
rules:
  - name: lock
    when: {outcome: red, exit_codes: [100], output: 'Could not get lock'}
    retry: 5
    then: system_failure
)";

// Fails with a lock message until it has run `fails` times (counter in the project dir).
std::string flaky_lock_body(int fails) {
  return "n=$(cat counter 2>/dev/null || echo 0); echo $((n + 1)) > counter; "
         "if [ \"$n\" -lt " + std::to_string(fails) + " ]; then echo 'Could not get lock' >&2; exit 100; fi; echo done";
}

std::string in_project(const GitlabRunnerEmulator& gl, const std::string& body) {
  return "cd '" + gl.project_dir() + "'; " + body;
}

}  // namespace

TEST_CASE("a successful job: config prints only JSON, every stage exits 0 and no exit file is left") {
  GitlabRunnerEmulator gl;
  const auto config = gl.config();
  CAPTURE(config.err);
  REQUIRE(config.exit_code == 0);
  const auto j = nlohmann::json::parse(config.out);  // the whole of stdout: one JSON object, nothing else
  CHECK(j["builds_dir"] == gl.builds_base() + "/tok/1");
  CHECK(j["cache_dir"].get<std::string>().find("/cache") != std::string::npos);
  CHECK(j["builds_dir_is_shared"] == false);
  CHECK(j["driver"]["name"] == "jobwarden");
  CHECK(gl.prepare().exit_code == 0);
  for (const char* stage : {"prepare_script", "get_sources", "build_script", "step_release", "after_script",
                            "archive_cache", "upload_artifacts_on_success", "cleanup_file_variables"}) {
    CAPTURE(stage);
    const auto o = gl.run_stage(stage, "echo stage-ran");
    CAPTURE(o.driver.err);
    CHECK(o.kind() == "success");
    CHECK(contains(o.driver.out, "stage-ran"));
    CHECK(contains(o.driver.out, "section_start:"));
    CHECK_FALSE(std::filesystem::exists(gl.exit_code_file()));
  }
  CHECK(gl.cleanup().exit_code == 0);
}

TEST_CASE("a script failing with 42 ends the stage with exit 1 and 42 in BUILD_EXIT_CODE_FILE") {
  GitlabRunnerEmulator gl;
  gl.config();
  const auto o = gl.run_stage("build_script", "echo about to fail; exit 42");
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 42);
  CHECK(read_file(gl.exit_code_file()) == "42");  // strict: no whitespace, no newline
  CHECK(contains(o.driver.err, "exit code 1 (build failure; 42 in BUILD_EXIT_CODE_FILE)"));
}

TEST_CASE("a stale exit code from an earlier stage is never re-read") {
  GitlabRunnerEmulator gl;
  gl.config();
  std::ofstream(gl.exit_code_file()) << "42";
  auto o = gl.run_stage("get_sources", "exit 3");
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 3);
  std::ofstream(gl.exit_code_file()) << "42";
  o = gl.run_stage("build_script", "true");
  CHECK(o.kind() == "success");
  CHECK_FALSE(std::filesystem::exists(gl.exit_code_file()));
}

TEST_CASE("build_script is retried as the repository's .jobwarden.yml says") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.write_repo_policy(k_lock_policy);
  const auto o = gl.run_stage("build_script", in_project(gl, flaky_lock_body(2)));
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "success");
  CHECK(count(o.driver.out, "section_start:") == 3);
  CHECK(contains(o.driver.err, "policy: " + gl.project_dir() + "/.jobwarden.yml"));
  CHECK(contains(o.driver.err, "decision: retry after 200ms (rule 'lock' matched 2/5 attempts)"));
  CHECK(std::filesystem::exists(gl.tmpdir() + "/jobwarden-report-build_script.json"));
}

TEST_CASE("a bad repository policy is a build failure with code 78, explained in the log") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.write_repo_policy("version: 1\nrules:\n  - name: x\n    retires: 2\n");
  const auto o = gl.run_stage("build_script", "touch started");
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 78);
  CHECK(contains(o.driver.err, ".jobwarden.yml:4:5: unknown key 'retires'"));
}

TEST_CASE("a real timeout is a build failure with 124") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.write_repo_policy("version: 1\nsteps:\n  build_script: {timeout: 1s, grace: 1s}\n");
  const auto o = gl.run_stage("build_script", "exec " + k_helper + " sleep");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 124);
  CHECK(contains(o.driver.err, "timeout 1s reached"));
}

TEST_CASE("a starved timeout is a system failure: exit 2, no exit file") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.write_repo_policy(R"(version: 1
defaults: {backoff: {initial: 100ms, jitter: 0}}
steps:
  build_script: {timeout: 2s, grace: 1s}
rules:
  - name: starved
    when: {outcome: timeout, starved: true}
    retry: 2
    then: system_failure
)");
  const auto hogs = cpu0_hogs();
  gl.command_prefix = {"/usr/bin/taskset", "-c", "0"};
  const auto o = gl.run_stage("build_script", "exec " + k_helper + " spin");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "system_failure");
  CHECK_FALSE(std::filesystem::exists(gl.exit_code_file()));
  CHECK(count(o.driver.err, "; starved: lost ") == 2);
}

TEST_CASE("a cancel mid-step kills the tree within the grace, and after_script still runs") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.write_repo_policy("version: 1\ndefaults: {grace: 1s}\n");
  auto driver = gl.start_stage("build_script", "exec " + k_helper + " --ignore-term grandchild");
  REQUIRE(driver->wait_for_output("all-ready", milliseconds(30'000)));
  // The runner's kill sequence, with a graceful timeout far above the policy's
  // 1 s grace: jobwarden must be done before the runner would SIGKILL it.
  const auto cancelled = gl.cancel_stage(*driver, milliseconds(30'000), milliseconds(10'000));
  const StageOutcome& o = cancelled.outcome;
  CAPTURE(o.driver.err);
  CHECK_FALSE(cancelled.needed_sigkill);
  CHECK_FALSE(cancelled.kill_failed);
  CHECK(contains(o.driver.err, "received SIGTERM: cancelling the step"));
  // The runner's bash waits for its foreground child before its TERM trap runs: 4 processes.
  CHECK(contains(o.driver.err, "grace 1s over: SIGKILL to 4 processes"));
  CHECK(surviving(ready_pids(o.driver.out)).empty());
  gl.set_variable("CI_JOB_STATUS", "canceled");
  const auto after = gl.run_stage("after_script", "echo after_script sees $CUSTOM_ENV_CI_JOB_STATUS");
  CHECK(after.kind() == "success");
  CHECK(contains(after.driver.out, "after_script sees canceled"));
}

TEST_CASE("a setsid grandchild left behind by build_script is dead when the stage ends") {
  GitlabRunnerEmulator gl;
  gl.config();
  const auto o = gl.run_stage("build_script", k_helper + " --main-exits 0 setsid; echo main-done");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "success");
  const auto pids = ready_pids(o.driver.out);
  REQUIRE(pids.size() == 1);
  CHECK(surviving(pids).empty());
  CHECK(contains(o.driver.err, "escaped the process group: 1 process"));
}

TEST_CASE("after the driver is SIGKILLed mid-stage, cleanup leaves nothing of the job alive") {
  GitlabRunnerEmulator gl;
  gl.config();
  auto driver = gl.start_stage("build_script",
                               k_helper + " --main-exits 0 setsid; exec " + k_helper + " grandchild");
  REQUIRE(driver->wait_for_output("all-ready 2", milliseconds(30'000)));
  REQUIRE(kill_guardian_of(driver->pid()));  // it dies too (a kill of the runner's whole cgroup): cleanup's case
  driver->send_group_signal(SIGKILL);  // the runner's force kill of the driver's group
  const auto killed = gl.finish_stage(*driver, milliseconds(30'000));
  const auto pids = ready_pids(killed.driver.out);
  REQUIRE(pids.size() == 3);
  const auto cleanup = gl.cleanup();
  CAPTURE(cleanup.err);
  CHECK(cleanup.exit_code == 0);
  CHECK(eventually([&] { return surviving(pids).empty(); }, milliseconds(10'000)));
  CHECK(contains(cleanup.err, "left behind by the job"));
  CHECK(gl.cleanup().exit_code == 0);  // idempotent
}

TEST_CASE("with a job deadline shorter than timeout x attempts, no retry starts that cannot finish") {
  GitlabRunnerEmulator gl(10);  // 10 s job timeout: after two 4 s attempts, too little is left for a third
  gl.config();
  gl.write_repo_policy(k_lock_policy);
  const auto o = gl.run_stage("build_script", "sleep 4; echo 'Could not get lock' >&2; exit 100");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "system_failure");
  CHECK(count(o.driver.out, "section_start:") == 2);
  CHECK(contains(o.driver.err, "no time left for attempt 3"));
}

TEST_CASE("a job that reaches its GitLab timeout fails as job_execution_timeout, with the tree dead") {
  GitlabRunnerEmulator gl(4);
  gl.config();
  gl.write_repo_policy("version: 1\ndefaults: {grace: 1s}\n");  // the attempt's own timeout: 30m
  const auto run = gl.run_stage_under_job_timeout("build_script", "exec " + k_helper + " --ignore-term grandchild",
                                                  milliseconds(30'000), milliseconds(10'000));
  const StageOutcome& o = run.stage.outcome;
  CAPTURE(o.driver.err);
  CHECK(run.timed_out);  // jobwarden did not end the job before GitLab did
  CHECK(run.kind() == "job_execution_timeout");
  CHECK_FALSE(run.stage.needed_sigkill);
  CHECK(contains(o.driver.err, "job deadline in 1s: not starved"));
  CHECK(contains(o.driver.err, "received SIGTERM: cancelling the step"));
  CHECK_FALSE(contains(o.driver.err, "reached"));
  CHECK(surviving(ready_pids(o.driver.out)).empty());
}

TEST_CASE("an attempt starved a grace before the job's deadline ends as a system failure before GitLab's timeout") {
  GitlabRunnerEmulator gl(6);
  gl.config();
  gl.write_repo_policy("version: 1\ndefaults: {grace: 1s}\n");
  const auto hogs = cpu0_hogs();
  gl.command_prefix = {"/usr/bin/taskset", "-c", "0"};
  const auto run = gl.run_stage_under_job_timeout("build_script", "exec " + k_helper + " spin",
                                                  milliseconds(30'000), milliseconds(10'000));
  const StageOutcome& o = run.stage.outcome;
  CAPTURE(o.driver.err);
  CHECK_FALSE(run.timed_out);
  CHECK(run.kind() == "system_failure");  // retry: when: runner_system_failure moves it to another runner
  CHECK(contains(o.driver.err, "job deadline in 1s and starved: lost "));
  CHECK(contains(o.driver.err, "starved a grace before the job's deadline"));
  CHECK(surviving(ready_pids(o.driver.out)).empty());
}

TEST_CASE("a stage script that cannot be executed directly still runs through its interpreter") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.executable_scripts = false;
  const auto o = gl.run_stage("get_sources", "echo fetched");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "success");
  CHECK(contains(o.driver.out, "fetched"));
}

TEST_CASE("a hostile CI_PROJECT_DIR is ignored, never a crash") {
  GitlabRunnerEmulator gl;
  gl.config();
  gl.set_variable("CI_PROJECT_DIR", "/tmp/" + std::string(5000, 'a'));
  const auto o = gl.run_stage("build_script", "echo still-runs");
  CHECK(o.kind() == "success");
  CHECK(contains(o.driver.err, "is not a directory inside the builds directory"));
  gl.set_variable("CI_PROJECT_DIR", "/etc");
  CHECK(gl.run_stage("build_script", "true").kind() == "success");
}
