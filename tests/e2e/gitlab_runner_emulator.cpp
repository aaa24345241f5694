#include "tests/e2e/gitlab_runner_emulator.hpp"

#include <filesystem>
#include <fstream>
#include <csignal>
#include <regex>

#include "tests/support/proc_check.hpp"

namespace jobwarden::testing {
namespace {

// The runner's skeleton for a bash stage script (shells/bash.go).
std::string runner_script(const std::string& body) {
  std::string quoted;
  for (char c : body) quoted += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  return "#!/usr/bin/env bash\n"
         "trap 'exit 1' TERM\n"
         "set -o pipefail\n"
         "set -o errexit\n"
         "( trap 'exit 1' TERM\n"
         "eval '" + quoted + "'\n"
         ") < /dev/null\n"
         "exit 0\n";
}

}  // namespace

std::string StageOutcome::kind() const {
  if (driver.exit_code == 0) return "success";
  if (driver.exit_code == 1) return malformed ? "unknown_failure" : "build_failure";
  if (driver.exit_code == 2) return "system_failure";
  return "unknown_failure";
}

GitlabRunnerEmulator::GitlabRunnerEmulator(int job_timeout_seconds)
    : m_job_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(job_timeout_seconds)) {
  m_base.write("admin.yml", "version: 1\ngitlab:\n  builds_dir: " + builds_base() + "\n  cache_dir: " +
                                m_base.file("cache") + "\n");
  m_job_timeout_seconds = job_timeout_seconds;
  write_response();
  m_variables = {{"CI_JOB_ID", "4242"},         {"CI_JOB_TIMEOUT", std::to_string(job_timeout_seconds)},
                 {"CI_RUNNER_SHORT_TOKEN", "tok"}, {"CI_CONCURRENT_ID", "1"},
                 {"CI_CONCURRENT_PROJECT_ID", "0"}, {"CI_SERVER", "yes"},
                 {"CI_JOB_STATUS", "running"},   {"CI_BUILDS_DIR", ""}, {"CI_PROJECT_DIR", ""},
                 {"CI_JOB_SERVICES", ""}};
}

void GitlabRunnerEmulator::write_response() const {
  std::string variables;
  for (const auto& [name, value] : m_masked) {
    variables += std::string(variables.empty() ? "" : ", ") + R"({"key": ")" + name + R"(", "value": ")" + value +
                 R"(", "public": false, "masked": true})";
  }
  m_tmp.write("response.json", "{\"id\": 4242, \"token\": \"secret\", \"runner_info\": {\"timeout\": " +
                                   std::to_string(m_job_timeout_seconds) + "}, \"variables\": [" + variables +
                                   "], \"steps\": []}\n");
}

void GitlabRunnerEmulator::set_masked_variable(const std::string& name, const std::string& value) {
  m_masked[name] = value;  // plain text: the tests use no quotes or backslashes
  m_variables[name] = value;
  write_response();
}

void GitlabRunnerEmulator::append_admin(const std::string& yaml) const {
  std::ofstream(admin_path(), std::ios::app) << yaml;
}

std::string GitlabRunnerEmulator::project_dir() const {
  const std::string dir = builds_base() + "/tok/1/group/project";
  std::filesystem::create_directories(dir);
  return dir;
}

void GitlabRunnerEmulator::write_repo_policy(const std::string& yaml) const {
  std::ofstream(project_dir() + "/.jobwarden.yml") << yaml;
}

void GitlabRunnerEmulator::append_admin_config(const std::string& yaml) const {
  std::ofstream(m_base.file("admin.yml"), std::ios::app) << yaml;
}

std::vector<std::string> GitlabRunnerEmulator::argv(const std::vector<std::string>& driver_args) const {
  std::vector<std::string> out = command_prefix;
  out.push_back(jobwarden_binary());
  out.insert(out.end(), {"gitlab", "--admin-config", m_base.file("admin.yml")});
  out.insert(out.end(), driver_args.begin(), driver_args.end());
  return out;
}

std::vector<std::string> GitlabRunnerEmulator::environment() const {
  std::vector<std::string> env = {
      "TMPDIR=" + m_tmp.path(),           "BUILD_FAILURE_EXIT_CODE=1",
      "SYSTEM_FAILURE_EXIT_CODE=2",       "BUILD_EXIT_CODE_FILE=" + exit_code_file(),
      "JOB_RESPONSE_FILE=" + m_tmp.file("response.json")};
  for (const auto& [k, v] : m_variables) env.push_back("CUSTOM_ENV_" + k + "=" + v);
  return env;
}

ChildResult GitlabRunnerEmulator::config() {
  auto r = run_child(argv({"config"}), environment(), std::chrono::milliseconds(30'000), m_tmp.path());
  // After config_exec the runner knows the dirs (docs/gitlab.md, "The calls of one job").
  m_variables["CI_BUILDS_DIR"] = builds_base() + "/tok/1";
  m_variables["CI_PROJECT_DIR"] = project_dir();
  return r;
}

ChildResult GitlabRunnerEmulator::prepare() {
  return run_child(argv({"prepare"}), environment(), std::chrono::milliseconds(30'000), m_tmp.path());
}

ChildResult GitlabRunnerEmulator::cleanup() {
  return run_child(argv({"cleanup"}), environment(), std::chrono::milliseconds(30'000), m_tmp.path());
}

std::string GitlabRunnerEmulator::write_script(const std::string& body) {
  const std::string dir = m_tmp.file("script" + std::to_string(++m_scripts));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/script";
  std::ofstream(path) << runner_script(body);
  std::filesystem::permissions(path, executable_scripts
                                        ? std::filesystem::perms::owner_all
                                        : std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

std::unique_ptr<ChildProcess> GitlabRunnerEmulator::start_stage(const std::string& stage, const std::string& body) {
  return std::make_unique<ChildProcess>(argv({"run", write_script(body), stage}), environment(), m_tmp.path());
}

StageOutcome GitlabRunnerEmulator::finish_stage(ChildProcess& driver, std::chrono::milliseconds limit) {
  StageOutcome o;
  o.driver = driver.wait(limit);
  if (o.driver.exit_code != 1 || !std::filesystem::exists(exit_code_file())) return o;
  std::string line = read_file(exit_code_file());
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!std::regex_match(line, std::regex("[+-]?[0-9]{1,18}"))) {
    o.malformed = true;
  } else {
    o.build_exit_code = std::stoll(line);
  }
  return o;
}

GitlabRunnerEmulator::Cancelled GitlabRunnerEmulator::cancel_stage(ChildProcess& driver,
                                                                   std::chrono::milliseconds graceful,
                                                                   std::chrono::milliseconds force) {
  Cancelled c;
  driver.send_group_signal(SIGTERM);
  if (!driver.wait_for_exit(graceful)) {
    c.needed_sigkill = true;
    driver.send_group_signal(SIGKILL);
    c.kill_failed = !driver.wait_for_exit(force);
  }
  c.outcome = finish_stage(driver, force);
  return c;
}

GitlabRunnerEmulator::UnderJobTimeout GitlabRunnerEmulator::run_stage_under_job_timeout(
    const std::string& stage, const std::string& body, std::chrono::milliseconds graceful,
    std::chrono::milliseconds force) {
  UnderJobTimeout r;
  auto driver = start_stage(stage, body);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_job_deadline - std::chrono::steady_clock::now());
  if (driver->wait_for_exit(std::max(left, std::chrono::milliseconds(0)))) {
    r.stage.outcome = finish_stage(*driver, force);
    return r;
  }
  r.timed_out = true;
  r.stage = cancel_stage(*driver, graceful, force);
  return r;
}

StageOutcome GitlabRunnerEmulator::run_stage(const std::string& stage, const std::string& body,
                                             std::chrono::milliseconds limit) {
  auto driver = start_stage(stage, body);
  return finish_stage(*driver, limit);
}

}  // namespace jobwarden::testing
