#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "executor/io/report.hpp"

using namespace jobwarden;

namespace {

core::StepResult sample_result() {
  core::StepResult res;
  core::AttemptRecord a;
  a.number = 1;
  a.outcome = policy::Outcome::timeout;
  a.ending.deadline_expired = true;
  a.ending.term_signal = 15;
  a.ending.signal_sent_by_us = true;
  a.step_exit_code = 124;
  a.run_seconds = 2.0;
  a.usage.cpu_seconds = 0.5;
  a.usage.cpu_wait_seconds = 1.5;
  a.usage.usable_cpus = 1.0;
  a.starvation.starved = true;
  a.starvation.cpu_share = 0.25;
  a.signals.push_back({"SIGTERM", "timeout 2s reached", 2.0, {{10, 1, 10, 10, 'S', "sleep 9"}}});
  a.signalled = {{10, 1, 10, 10, 'S', "sleep 9"}, {11, 10, 11, 11, '?', ""}};
  res.attempts = {a};
  policy::Decision d;
  d.retry = true;
  d.rule = "starved";
  d.reason = "rule 'starved' matched 1/2 attempts";
  d.backoff = core::Millis{5000};
  res.decisions = {d};
  res.backoffs = {core::Millis{5000}};
  res.action = policy::Action::system_failure;
  res.exit_code = 75;
  res.step_exit_code = 124;
  return res;
}

}  // namespace

TEST_CASE("the report carries the schema, the verdict and every attempt's evidence") {
  const core::StepResult res = sample_result();
  const io::ReportInput in{"build", {"make", "-j2"}, "generic", "p.yml", "version: 1\n", &res};
  const auto j = nlohmann::json::parse(io::render_report(in));
  CHECK(j["schema"] == "jobwarden.report/1");
  CHECK(j["step"] == "build");
  CHECK(j["policy"]["source"] == "p.yml");
  CHECK(j["policy"]["hash"] == "fnv1a64:" + io::policy_hash("version: 1\n"));
  CHECK(j["action"] == "system_failure");
  CHECK(j["exit_code"] == 75);
  REQUIRE(j["attempts"].size() == 1);
  const auto& a = j["attempts"][0];
  CHECK(a["outcome"] == "timeout");
  CHECK(a["signal"] == "SIGTERM");
  CHECK(a["signal_sent_by"] == "jobwarden");
  CHECK(a["exit_code"].is_null());
  CHECK(a["starved"] == true);
  CHECK(a["cpu_wait_seconds"] == 1.5);
  CHECK(a["matched_rule"] == "starved");
  CHECK(a["decision"] == "retry");
  CHECK(a["backoff_seconds"] == 5.0);
  CHECK(a["signals_sent"][0]["targets"] == 1);
  CHECK(a["processes_killed"][0]["command"] == "sleep 9");
  CHECK(a["processes_killed"][1]["pgid"] == 11);  // counted, not named: no command read
  CHECK(a["processes_killed"][1]["state"] == "?");
  CHECK(a["processes_killed"][1]["command"].is_null());
}

TEST_CASE("policy hashes are stable and differ for different text") {
  CHECK(io::policy_hash("") == "cbf29ce484222325");
  CHECK(io::policy_hash("a") != io::policy_hash("b"));
}
