#include <doctest/doctest.h>

#include "adapters/gitlab/custom_executor.hpp"

using namespace jobwarden;
using namespace jobwarden::adapters::gitlab;
using policy::Action;

TEST_CASE("every stage name of the runner is known, and user stages get the repository's policy") {
  for (const char* s : {"build_script", "after_script", "step_script", "step_release", "step_anything"}) {
    CAPTURE(s);
    CHECK(classify_stage(s).kind == StageKind::user);
    CHECK(classify_stage(s).known);
  }
  for (const char* s : {"prepare_script", "get_sources", "clear_worktree", "restore_cache", "download_artifacts",
                        "archive_cache", "archive_cache_on_failure", "upload_artifacts_on_success",
                        "upload_artifacts_on_failure", "cleanup_file_variables"}) {
    CAPTURE(s);
    CHECK(classify_stage(s).kind == StageKind::runner);
    CHECK(classify_stage(s).known);
  }
  CHECK(classify_stage("future_stage").kind == StageKind::runner);
  CHECK_FALSE(classify_stage("future_stage").known);
}

TEST_CASE("the driver's exit: 0, 1 with the real code, 1 with 79, 2 without a file") {
  CHECK(driver_exit(Action::pass, 0).exit_code == 0);
  CHECK_FALSE(driver_exit(Action::pass, 0).build_exit_code);
  CHECK(driver_exit(Action::fail, 42).exit_code == 1);
  CHECK(driver_exit(Action::fail, 42).build_exit_code == 42);
  CHECK(driver_exit(Action::fail, 0).build_exit_code == 1);  // a failure never reads as code 0
  CHECK(driver_exit(Action::unstable, 3).build_exit_code == 79);
  CHECK(driver_exit(Action::system_failure, 3).exit_code == 2);
  CHECK_FALSE(driver_exit(Action::system_failure, 3).build_exit_code);
  CHECK(driver_exit_bad_policy().exit_code == 1);
  CHECK(driver_exit_bad_policy().build_exit_code == 78);
  CHECK(driver_exit_internal().exit_code == 2);
}

TEST_CASE("CI_JOB_TIMEOUT parses as positive seconds only") {
  CHECK(parse_job_timeout("3600") == std::chrono::seconds(3600));
  CHECK_FALSE(parse_job_timeout(""));
  CHECK_FALSE(parse_job_timeout("0"));
  CHECK_FALSE(parse_job_timeout("-5"));
  CHECK_FALSE(parse_job_timeout("1h"));
  CHECK_FALSE(parse_job_timeout("12 "));
}

TEST_CASE("each runner slot builds in its own directory, whatever the variables hold") {
  CHECK(slot_builds_dir("/b", "abc", "3") == "/b/abc/3");
  CHECK(slot_builds_dir("/b", "", "") == "/b/runner/0");
  CHECK(slot_builds_dir("/b", "../x", "1/2") == "/b/.._x/1_2");
  CHECK(slot_builds_dir("/b", "..", "..") == "/b/runner/0");
}

TEST_CASE("the stage script runs through its #! interpreter, so noexec mounts cannot stop it") {
  CHECK(script_command("/t/s", "#!/usr/bin/env bash") == std::vector<std::string>{"/usr/bin/env", "bash", "/t/s"});
  CHECK(script_command("/t/s", "#! /bin/sh -e\r") == std::vector<std::string>{"/bin/sh", "-e", "/t/s"});
  CHECK(script_command("/t/s", "echo hi") == std::vector<std::string>{"/t/s"});
  CHECK(script_command("/t/s", "#!relative/sh") == std::vector<std::string>{"/t/s"});
  CHECK(script_command("/t/s", "#!") == std::vector<std::string>{"/t/s"});
}
