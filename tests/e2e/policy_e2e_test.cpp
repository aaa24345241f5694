// The policy end to end: the built binary with real policy files, real
// retries and backoff, a real JSON report, and CPU pressure created here.
#include <doctest/doctest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden::testing;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();
const std::string k_helper = tree_helper();

json read_json(const std::string& path) { return json::parse(read_file(path)); }

const char* k_lock_policy = R"(version: 1
defaults:
  backoff: {initial: INITIAL, factor: 2, max: 1m, jitter: 0}
rules:
  - name: dpkg-lock
    when: {outcome: red, exit_codes: [100], output: 'Could not get lock'}
    retry: 3
    then: system_failure
flaky: FLAKY
)";

// A step that fails with a lock-busy message until it has run `fail_times` times.
std::vector<std::string> lock_step(const TempDir& dir, int fail_times) {
  return {"bash", "-c",
          "n=$(cat \"$1\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$1\"; "
          "if [ \"$n\" -lt " + std::to_string(fail_times) + " ]; then "
          "echo 'E: Could not get lock /var/lib/dpkg/lock-frontend' >&2; exit 100; fi; echo installed",
          "step", dir.file("counter")};
}

std::string lock_policy(const TempDir& dir, const std::string& flaky, const std::string& initial = "100ms") {
  std::string text = k_lock_policy;
  text.replace(text.find("FLAKY"), 5, flaky);
  text.replace(text.find("INITIAL"), 7, initial);
  return dir.write("policy.yml", text);
}

// Two busy loops pinned to CPU 0: whatever else runs there gets a third of it.
// Each hog has its own session, like the orphans of earlier jobs: with
// CONFIG_SCHED_AUTOGROUP the scheduler shares a CPU between sessions first.
struct CpuHogs {
  CpuHogs() {
    for (auto& hog : hogs) {
      hog = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/bin/taskset", "-c", "0", k_helper, "spin"},
                                           std::vector<std::string>{}, "", true);
      REQUIRE(hog->wait_for_output("ready", milliseconds(30'000)));
    }
  }
  std::unique_ptr<ChildProcess> hogs[2];  // killed (process group) by their destructors
};

const char* k_starved_policy = R"(version: 1
defaults:
  backoff: {initial: 100ms, jitter: 0}
rules:
  - name: starved
    when: {outcome: timeout, starved: true}
    retry: 2
    then: system_failure
)";

std::vector<std::string> pinned(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/usr/bin/taskset", "-c", "0"});
  return argv;
}

}  // namespace

TEST_CASE("a lock-busy failure is retried and the step ends flaky, passing, after three attempts") {
  TempDir dir;
  const auto r = run_child(jw_run({"--policy", lock_policy(dir, "pass"), "--report", dir.file("r.json")},
                                  lock_step(dir, 2)));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "decision: retry after 100ms (rule 'dpkg-lock' matched 1/3 attempts)"));
  CHECK(contains(r.err, "decision: retry after 200ms (rule 'dpkg-lock' matched 2/3 attempts)"));
  CHECK(contains(r.err, "verdict: pass: step 'default': success after 3 attempts"));
  const json report = read_json(dir.file("r.json"));
  CHECK(report["schema"] == "jobwarden.report/1");
  CHECK(report["action"] == "pass");
  CHECK(contains(report["reason"], "flaky"));
  REQUIRE(report["attempts"].size() == 3);
  CHECK(report["attempts"][0]["outcome"] == "red");
  CHECK(report["attempts"][0]["matched_rule"] == "dpkg-lock");
  CHECK(report["attempts"][0]["backoff_seconds"] == 0.1);
  CHECK(report["attempts"][1]["backoff_seconds"] == 0.2);
  CHECK(report["attempts"][2]["outcome"] == "success");
  CHECK(report["policy"]["source"] == dir.file("policy.yml"));
}

TEST_CASE("flaky: unstable turns a pass after retries into exit 79") {
  TempDir dir;
  const auto r = run_child(jw_run({"--policy", lock_policy(dir, "unstable")}, lock_step(dir, 1)));
  CHECK(r.exit_code == 79);
  CHECK(contains(r.err, "verdict: unstable"));
}

TEST_CASE("when a rule's retries run out its then action and exit code apply") {
  TempDir dir;
  const auto r = run_child(jw_run({"--policy", lock_policy(dir, "pass"), "--report", dir.file("r.json")},
                                  lock_step(dir, 99)));
  CHECK(r.exit_code == 75);
  CHECK(contains(r.err, "decision: system_failure (rule 'dpkg-lock': rule 'dpkg-lock' matched 3/3 attempts)"));
  CHECK(read_json(dir.file("r.json"))["attempts"].size() == 3);
}

TEST_CASE("JOBWARDEN_RETRY=0 applies the rule's then action at once") {
  TempDir dir;
  const auto r = run_child(jw_run({"--policy", lock_policy(dir, "pass")}, lock_step(dir, 99)), {"JOBWARDEN_RETRY=0"});
  CHECK(r.exit_code == 75);
  CHECK(contains(r.err, "retries are OFF (JOBWARDEN_RETRY=0)"));
  CHECK(contains(r.err, "retries are switched off"));
  CHECK(read_file(dir.file("counter")) == "1\n");
}

TEST_CASE("a cancel during the backoff ends the step at once without another attempt") {
  TempDir dir;
  const std::string policy = lock_policy(dir, "pass", "60s");
  ChildProcess jw(jw_run({"--policy", policy, "--report", dir.file("r.json")}, lock_step(dir, 99)));
  REQUIRE(jw.wait_for_output("decision: retry after", milliseconds(30'000)));
  jw.send_signal(SIGTERM);
  const auto r = jw.wait(milliseconds(20'000));
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 143);
  CHECK(contains(r.err, "received SIGTERM during the backoff: no further attempt"));
  CHECK(read_file(dir.file("counter")) == "1\n");
  const json report = read_json(dir.file("r.json"));
  CHECK(report["attempts"].size() == 1);
  CHECK(report["cancel_signal"] == "SIGTERM");
}

TEST_CASE("a timeout under CPU pressure is starved and follows the starved rule") {
  TempDir dir;
  const std::string policy = dir.write("p.yml", k_starved_policy);
  CpuHogs hogs;
  const auto r = run_child(pinned(jw_run({"--policy", policy, "--timeout", "2s", "--report", dir.file("r.json")},
                                         {k_helper, "spin"})));
  CAPTURE(r.err);
  CHECK(r.exit_code == 75);
  const json report = read_json(dir.file("r.json"));
  REQUIRE(report["attempts"].size() == 2);
  for (const auto& a : report["attempts"]) {
    CHECK(a["outcome"] == "timeout");
    CHECK(a["starved"] == true);
    // Pinned to one CPU; a cgroup cpu.max may allow less than that one.
    CHECK(a["usable_cpus"].get<double>() > 0.0);
    CHECK(a["usable_cpus"].get<double>() <= 1.0);
    CHECK(a["cpu_share"].get<double>() < 0.5);
    CHECK(a["cpu_wait_fraction"].get<double>() >= 0.25);
    CHECK(a["matched_rule"] == "starved");
  }
  CHECK(contains(r.err, "; starved: lost "));
}

TEST_CASE("a step that sleeps beside the same CPU load is not starved") {
  TempDir dir;
  const std::string policy = dir.write("p.yml", k_starved_policy);
  CpuHogs hogs;
  const auto r = run_child(pinned(jw_run({"--policy", policy, "--timeout", "1s", "--report", dir.file("r.json")},
                                         {k_helper, "sleep"})));
  CAPTURE(r.err);
  CHECK(r.exit_code == 124);
  const json report = read_json(dir.file("r.json"));
  REQUIRE(report["attempts"].size() == 1);
  CHECK(report["attempts"][0]["starved"] == false);
  CHECK(contains(report["attempts"][0]["starvation"], "hardly waited for a CPU"));
}

TEST_CASE("a hang on an idle machine is not starved") {
  TempDir dir;
  const std::string policy = dir.write("p.yml", k_starved_policy);
  const auto r = run_child(jw_run({"--policy", policy, "--timeout", "1s"}, {k_helper, "sleep"}));
  CHECK(r.exit_code == 124);
  CHECK(contains(r.err, "not starved (hardly waited for a CPU"));
}

TEST_CASE("JOBWARDEN_STARVATION=0 never calls a timeout starved") {
  TempDir dir;
  const std::string policy = dir.write("p.yml", k_starved_policy);
  CpuHogs hogs;
  const auto r = run_child(pinned(jw_run({"--policy", policy, "--timeout", "1s"}, {k_helper, "spin"})),
                           {"JOBWARDEN_STARVATION=0"});
  CHECK(r.exit_code == 124);
  CHECK(contains(r.err, "starvation detection is OFF (JOBWARDEN_STARVATION=0)"));
}

TEST_CASE("a bad policy is exit 78 with file:line:col, before anything is started") {
  TempDir dir;
  const std::string policy = dir.write("bad.yml", "version: 1\nrules:\n  - name: x\n    retires: 2\n");
  const auto r = run_child(jw_run({"--policy", policy}, {"touch", dir.file("started")}));
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, policy + ":4:5: unknown key 'retires'"));
  CHECK(contains(r.err, "did you mean 'retry'?"));
  CHECK_FALSE(std::filesystem::exists(dir.file("started")));
}

TEST_CASE(".jobwarden.yml in the working directory is the policy when none is given") {
  TempDir dir;
  dir.write(".jobwarden.yml", "version: 1\nfallback: {red: unstable}\n");
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--", "false"}, {}, milliseconds(30'000), dir.path());
  CHECK(r.exit_code == 79);
  CHECK(contains(r.err, "policy: " + dir.path() + "/.jobwarden.yml"));  // absolute: the CI log's reader can find it
}

TEST_CASE("policy check accepts every shipped example and rejects invalid files with 78") {
  for (const char* name : {"flaky-lock-tests", "infra-heavy-build", "never-retry"}) {
    const auto r = run_child({k_jw, "policy", "check", std::string(JOBWARDEN_SOURCE_DIR) + "/examples/" + name + ".jobwarden.yml"});
    CAPTURE(name);
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, ": valid ("));
  }
  const std::string bad = std::string(JOBWARDEN_SOURCE_DIR) + "/tests/fixtures/policies/invalid/many-errors.yml";
  const auto r = run_child({k_jw, "policy", "check", bad});
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, bad + ":3:12: "));
  CHECK(contains(r.err, "10 errors"));
}

TEST_CASE("the shipped admin configuration example is valid") {
  const auto r = run_child(jw_run({"--admin-config", std::string(JOBWARDEN_SOURCE_DIR) + "/packaging/gitlab/config.yaml"},
                                  {"true"}));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("policy default prints a policy that policy check accepts") {
  TempDir dir;
  const auto printed = run_child({k_jw, "policy", "default"});
  REQUIRE(printed.exit_code == 0);
  CHECK(contains(printed.out, "version: 1"));
  const auto r = run_child({k_jw, "policy", "check", dir.write("default.yml", printed.out)});
  CHECK(r.exit_code == 0);
}

TEST_CASE("policy explain shows the matching rule, the others' reasons and the outcome's action") {
  TempDir dir;
  const std::string policy = lock_policy(dir, "pass");
  const std::string output = dir.write("out.txt", "E: Could not get lock /var/lib/dpkg/lock\n");
  auto r = run_child({k_jw, "policy", "explain", policy, "--outcome", "red", "--exit-code", "100",
                      "--output-file", output, "--attempt", "3"});
  CAPTURE(r.out);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "MATCH   rule 'dpkg-lock'"));
  CHECK(contains(r.out, "=> system_failure (rule 'dpkg-lock': rule 'dpkg-lock' matched 3/3 attempts); exit code 75"));
  r = run_child({k_jw, "policy", "explain", policy, "--outcome", "red", "--exit-code", "1"});
  CHECK(contains(r.out, "no      rule 'dpkg-lock': exit code 1 not in [100]"));
  CHECK(contains(r.out, "=> fail (no rule matched; fallback for red); exit code 1"));
}

TEST_CASE("the admin configuration's ceilings clamp the command line and the policy, and say so") {
  TempDir dir;
  const std::string admin = dir.write("admin.yml", "version: 1\nceilings: {max_timeout: 1s, max_attempts: 2}\n");
  const auto r = run_child(jw_run({"--admin-config", admin, "--policy", lock_policy(dir, "pass"), "--timeout", "1h",
                                   "--report", dir.file("r.json")},
                                  lock_step(dir, 99)));
  CAPTURE(r.err);
  CHECK(r.exit_code == 75);
  CHECK(contains(r.err, "--timeout 1h exceeds the admin ceiling 1s: clamped to 1s"));
  CHECK(contains(r.err, "exceeds the admin ceiling 2: clamped to 2"));
  CHECK(read_json(dir.file("r.json"))["attempts"].size() == 2);
}

TEST_CASE("an admin configuration can switch retries off, and an invalid one stops the run with 78") {
  TempDir dir;
  const std::string admin = dir.write("admin.yml", "version: 1\nfeatures: {retry: false}\n");
  auto r = run_child(jw_run({"--admin-config", admin, "--policy", lock_policy(dir, "pass")}, lock_step(dir, 99)));
  CHECK(r.exit_code == 75);
  CHECK(contains(r.err, "retries are OFF (admin configuration " + admin + ")"));
  const std::string bad = dir.write("bad.yml", "version: 1\nceilings: {max_timeut: 1s}\n");
  r = run_child(jw_run({"--admin-config", bad}, {"true"}));
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, bad + ":2:12: "));
}
