#include <doctest/doctest.h>

#include <map>

#include "adapters/dialects.hpp"

using namespace jobwarden;
using adapters::CiKind;
using policy::Action;

namespace {
adapters::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}
}  // namespace

TEST_CASE("the generic exit codes of README's exit-code table") {
  CHECK(adapters::generic_exit_code(Action::pass, 3) == 0);
  CHECK(adapters::generic_exit_code(Action::fail, 3) == 3);
  CHECK(adapters::generic_exit_code(Action::fail, 124) == 124);
  CHECK(adapters::generic_exit_code(Action::fail, 137) == 137);
  CHECK(adapters::generic_exit_code(Action::fail, 0) == 1);  // a failure is never reported as 0
  CHECK(adapters::generic_exit_code(Action::unstable, 3) == 79);
  CHECK(adapters::generic_exit_code(Action::system_failure, 3) == 75);
}

TEST_CASE("the github dialect passes unstable steps with a warning and fails with an error") {
  const auto github = adapters::make_dialect(CiKind::github);
  CHECK(github->exit_code(Action::unstable, 3) == 0);
  CHECK(github->exit_code(Action::fail, 3) == 3);
  CHECK(github->annotation(Action::unstable, "flaky\nstep 100%") == "::warning::flaky%0Astep 100%25\n");
  CHECK(github->annotation(Action::fail, "x") == "::error::x\n");
  CHECK(github->annotation(Action::pass, "x").empty());
  CHECK(github->section_start("id", "title", {}) == "::group::title\n");
  CHECK(github->section_end("id", {}) == "::endgroup::\n");
}

TEST_CASE("the gitlab dialect writes collapsible section markers GitLab parses") {
  const auto gitlab = adapters::make_dialect(CiKind::gitlab);
  const core::WallTime at{std::chrono::seconds(1700000000)};
  CHECK(gitlab->section_start("jobwarden_build_a1", "jobwarden: attempt 1", at) ==
        "\x1b[0Ksection_start:1700000000:jobwarden_build_a1[collapsed=true]\r\x1b[0Kjobwarden: attempt 1\n");
  CHECK(gitlab->section_end("jobwarden_build_a1", at) ==
        "\x1b[0Ksection_end:1700000000:jobwarden_build_a1\r\x1b[0K\n");
  CHECK(gitlab->exit_code(Action::system_failure, 1) == 75);
}

TEST_CASE("the buildkite dialect groups attempts and re-opens a failing one") {
  const auto bk = adapters::make_dialect(CiKind::buildkite);
  CHECK(bk->section_start("id", "jobwarden: attempt 1", {}) == "--- jobwarden: attempt 1\n");
  CHECK(bk->annotation(Action::fail, "x") == "^^^ +++\n");
  CHECK(bk->annotation(Action::pass, "x").empty());
}

TEST_CASE("--ci auto detects the CI from its most specific variables") {
  CHECK(adapters::detect_ci(env_of({{"GITLAB_CI", "true"}, {"CI", "true"}})) == CiKind::gitlab);
  CHECK(adapters::detect_ci(env_of({{"BUILDKITE", "true"}})) == CiKind::buildkite);
  CHECK(adapters::detect_ci(env_of({{"GITHUB_ACTIONS", "true"}})) == CiKind::github);
  CHECK(adapters::detect_ci(env_of({{"JENKINS_URL", "http://j"}, {"BUILD_ID", "7"}})) == CiKind::jenkins);
  CHECK(adapters::detect_ci(env_of({{"BUILD_TAG", "jenkins-x-7"}})) == CiKind::jenkins);
  CHECK(adapters::detect_ci(env_of({{"JENKINS_SERVER_COOKIE", "durable-abc"}})) == CiKind::jenkins);
  CHECK(adapters::detect_ci(env_of({{"CI", "true"}})) == CiKind::generic);
  CHECK(adapters::detect_ci(env_of({{"JENKINS_URL", "http://j"}})) == CiKind::generic);
}

TEST_CASE("ci kinds parse and print") {
  for (const char* name : {"generic", "gitlab", "jenkins", "github", "buildkite"}) {
    const auto kind = adapters::parse_ci_kind(name);
    REQUIRE(kind.has_value());
    CHECK(adapters::to_string(*kind) == name);
  }
  CHECK_FALSE(adapters::parse_ci_kind("travis").has_value());
}
