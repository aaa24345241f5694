// Metrics with the real components: node_exporter's textfile checked by
// Debian's promtool, and Debian's prometheus-pushgateway on a loopback port.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/http_receiver.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

TEST_CASE("metrics: the textfile counts attempts, retries, exhaustion, kills and escapees, and promtool accepts it") {
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {textfile_dir: " + host.metrics_dir() + "}\n");
  const auto exhausted = host.run("build", "exit 3");
  CAPTURE(exhausted.err);
  CHECK(exhausted.exit_code == 3);
  // After all-ready the main process exits 0, leaving a child in a session of its own: killed, an escapee.
  const auto leaves = host.run("build", "exec '" + tree_helper() + "' --main-exits 0 setsid");
  CAPTURE(leaves.err);
  CHECK(leaves.exit_code == 0);
  const auto unknown = host.run("deploy-42", "exit 0");  // not in the policy's steps: label "other"
  CHECK(unknown.exit_code == 0);

  const std::string text = read_file(host.textfile());
  CAPTURE(text);
  CHECK(series_value(text, R"(jobwarden_attempts_total{ci="generic",step="build",outcome="red"})") == 2);
  CHECK(series_value(text, R"(jobwarden_attempts_total{ci="generic",step="build",outcome="success"})") == 1);
  CHECK(series_value(text, R"(jobwarden_attempts_total{ci="generic",step="other",outcome="success"})") == 1);
  CHECK(series_value(text, R"(jobwarden_verdicts_total{ci="generic",step="build",action="fail"})") == 1);
  CHECK(series_value(text, R"(jobwarden_verdicts_total{ci="generic",step="build",action="pass"})") == 1);
  CHECK(series_value(text, R"(jobwarden_retries_total{step="build",rule="flaky-exit-3"})") == 1);
  CHECK(series_value(text, R"(jobwarden_retries_exhausted_total{step="build",rule="flaky-exit-3"})") == 1);
  CHECK(series_value(text, "jobwarden_processes_killed_total") == 1);
  CHECK(series_value(text, "jobwarden_escapees_total") == 1);
  CHECK(series_value(text, "jobwarden_starved_total") == 0);
  CHECK(series_value(text, "jobwarden_oom_total") == 0);
  CHECK(series_value(text, R"(jobwarden_step_duration_seconds_count{step="build"})") == 2);
  CHECK(series_value(text, R"(jobwarden_step_duration_seconds_bucket{step="build",le="+Inf"})") == 2);
  CHECK_FALSE(contains(text, "deploy-42"));

  const auto lint = promtool_check(host.textfile());
  CAPTURE(lint.out);
  CAPTURE(lint.err);
  CHECK(lint.exit_code == 0);
}

TEST_CASE("metrics: 8 concurrent jobs of 50 steps each lose no increment of the shared textfile") {
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {textfile_dir: " + host.metrics_dir() + "}\n");
  // Odd steps exit 3 (2 attempts, 1 retry, rule exhausted, verdict fail); even steps pass.
  const std::string loop = "for i in $(seq 1 50); do code=$(( i % 2 * 3 )); '" + jobwarden_binary() +
                           "' run --ci generic --admin-config '" + host.admin_path + "' --policy '" + host.policy_path +
                           "' --step build -- /bin/sh -c \"exit $code\" >/dev/null 2>>\"$0\"; done";
  std::vector<std::unique_ptr<ChildProcess>> jobs;
  for (int j = 0; j < 8; ++j) {
    jobs.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"/bin/sh", "-c", loop, host.dir.file("job" + std::to_string(j) + ".log")}));
  }
  for (auto& job : jobs) {
    const auto r = job->wait(milliseconds(600'000));
    REQUIRE_FALSE(r.hung);
    CHECK(r.exit_code == 0);
  }
  for (int j = 0; j < 8; ++j) {
    CHECK_FALSE(contains(read_file(host.dir.file("job" + std::to_string(j) + ".log")), "metrics:"));
  }
  const std::string text = read_file(host.textfile());
  CAPTURE(text);
  CHECK(series_value(text, R"(jobwarden_attempts_total{ci="generic",step="build",outcome="success"})") == 200);
  CHECK(series_value(text, R"(jobwarden_attempts_total{ci="generic",step="build",outcome="red"})") == 400);
  CHECK(series_value(text, R"(jobwarden_verdicts_total{ci="generic",step="build",action="pass"})") == 200);
  CHECK(series_value(text, R"(jobwarden_verdicts_total{ci="generic",step="build",action="fail"})") == 200);
  CHECK(series_value(text, R"(jobwarden_retries_total{step="build",rule="flaky-exit-3"})") == 200);
  CHECK(series_value(text, R"(jobwarden_retries_exhausted_total{step="build",rule="flaky-exit-3"})") == 200);
  CHECK(series_value(text, R"(jobwarden_step_duration_seconds_count{step="build"})") == 400);
  CHECK(series_value(text, R"(jobwarden_step_duration_seconds_bucket{step="build",le="+Inf"})") == 400);
  CHECK(promtool_check(host.textfile()).exit_code == 0);
}

TEST_CASE("metrics: one push per step to a real Pushgateway, grouped by host, CI job and step") {
  Pushgateway gateway;
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {pushgateway: '" + gateway.url() + "/', job: ci-runner}\n");
  const std::vector<std::string> env{"CI_JOB_ID=job-77"};
  CHECK(host.run("build", "exit 3", env).exit_code == 3);
  CHECK(host.run("default", "exit 0", env).exit_code == 0);

  const std::string text = gateway.metrics();
  CAPTURE(text);
  const std::string group = "ci_job_id=\"job-77\",instance=\"" + hostname() + "\",job=\"ci-runner\"";
  CHECK(series_value(text, "jobwarden_attempts_total{ci=\"generic\"," + group +
                               ",outcome=\"red\",step=\"build\"}") == 2);
  CHECK(series_value(text, "jobwarden_retries_exhausted_total{" + group +
                               ",rule=\"flaky-exit-3\",step=\"build\"}") == 1);
  CHECK(series_value(text, "jobwarden_verdicts_total{action=\"fail\",ci=\"generic\"," + group +
                               ",step=\"build\"}") == 1);
  // The second step's push went to a group of its own: the first one's series are still there.
  CHECK(series_value(text, "jobwarden_verdicts_total{action=\"pass\",ci=\"generic\"," + group +
                               ",step=\"default\"}") == 1);
  CHECK(series_value(text, "jobwarden_step_duration_seconds_count{" + group + ",step=\"build\"}") == 1);
  // The Pushgateway accepted both pushes (it records a failed push as push_failure_time_seconds != 0).
  CHECK(series_value(text, "push_failure_time_seconds{" + group + ",step=\"build\"}") == 0);
}

TEST_CASE("metrics: a Pushgateway that hangs costs at most the timeout and changes nothing else") {
  HttpReceiver hanging(HttpReceiver::Mode::slow);
  Host plain("");
  const auto reference = plain.run("build", "exit 3");
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {pushgateway: '" + hanging.url("/pg?token=pg-secret-token") +
                                   "', timeout: 1s, connect_timeout: 500ms}\n");
  const auto start = std::chrono::steady_clock::now();
  const auto r = host.run("build", "exit 3");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CAPTURE(r.err);
  CHECK(r.exit_code == reference.exit_code);
  CHECK(hanging.requests().size() == 1);
  CHECK(contains(r.err, "jobwarden: warning: metrics: push to the Pushgateway failed after "));
  CHECK(contains(r.err, "(timed out); the verdict is unchanged"));
  CHECK_FALSE(contains(r.err + r.out, "pg-secret-token"));
  CHECK_FALSE(contains(r.err + r.out, "127.0.0.1:" + std::to_string(hanging.port())));
  // The receiver never answers: only the 1s bound ended the push (generous margin for a loaded host).
  CHECK(seconds < 1.0 + 15.0);
}

TEST_CASE("metrics: JOBWARDEN_METRICS=0 and features.metrics false switch metrics off, announced") {
  Pushgateway gateway;
  Host host("");
  const std::string metrics = "metrics: {textfile_dir: " + host.metrics_dir() + ", pushgateway: '" + gateway.url() + "'}\n";
  host.dir.write("admin.yaml", "version: 1\n" + metrics);
  const auto by_env = host.run("build", "exit 3", {"JOBWARDEN_METRICS=0"});
  CHECK(by_env.exit_code == 3);
  CHECK(contains(by_env.err, "jobwarden: warning: metrics are OFF (JOBWARDEN_METRICS=0): no textfile update, no push"));
  host.dir.write("admin.yaml", "version: 1\nfeatures: {metrics: false}\n" + metrics);
  const auto by_admin = host.run("build", "exit 3");
  CHECK(by_admin.exit_code == 3);
  CHECK(contains(by_admin.err, "jobwarden: warning: metrics are OFF (admin configuration " + host.admin_path + ")"));
  CHECK_FALSE(std::filesystem::exists(host.textfile()));
  const std::string pushed = gateway.metrics();
  CAPTURE(pushed);
  CHECK_FALSE(contains(pushed, "jobwarden_attempts_total"));
}

TEST_CASE("metrics: a FIFO or a symlink out of the dir in place of the textfile is refused: never waited on, never read") {
  // A FIFO would block the read forever, after the verdict but before the
  // exit code (and with the lock held, every other job would wait for it).
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {textfile_dir: " + host.metrics_dir() + "}\n");
  REQUIRE(::mkfifo(host.textfile().c_str(), 0644) == 0);
  const auto r = host.run("build", "exit 0");
  CAPTURE(r.err);
  CHECK_FALSE(r.hung);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "metrics: textfile " + host.textfile() + " not updated: "));
  CHECK(contains(r.err, "not a regular file"));
  CHECK(std::filesystem::is_fifo(host.textfile()));
  // A symlink out of the directory is not read (nor written through).
  std::filesystem::remove(host.textfile());
  const std::string outside = host.dir.write("outside.txt", "jobwarden_oom_total 4242\n");
  std::filesystem::create_symlink(outside, host.textfile());
  const auto linked = host.run("build", "exit 0");
  CAPTURE(linked.err);
  CHECK(linked.exit_code == 0);
  CHECK(contains(linked.err, "metrics: textfile " + host.textfile() + " not updated: "));
  CHECK(read_file(outside) == "jobwarden_oom_total 4242\n");
  // A regular textfile again: counted as before.
  std::filesystem::remove(host.textfile());
  CHECK(host.run("build", "exit 0").exit_code == 0);
  CHECK(series_value(read_file(host.textfile()), R"(jobwarden_verdicts_total{ci="generic",step="build",action="pass"})") == 1);
}

TEST_CASE("metrics: temporary files that killed writers left beside the textfile are removed, only those") {
  // A writer SIGKILLed between creating its temporary file and renaming it
  // leaves `.jobwarden.prom.jw-<16 hex>`; over months they would fill the
  // directory. Under the textfile's lock, ours that are old regular files go.
  Host host("");
  host.dir.write("admin.yaml", "version: 1\nmetrics: {textfile_dir: " + host.metrics_dir() + "}\n");
  std::filesystem::create_directories(host.metrics_dir());
  const auto age = [](const std::string& path, long seconds_ago) {
    const timespec when[2] = {{::time(nullptr) - seconds_ago, 0}, {::time(nullptr) - seconds_ago, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), when, AT_SYMLINK_NOFOLLOW) == 0);
  };
  const std::string dir = host.metrics_dir() + "/";
  const std::string stale = host.dir.write("metrics/.jobwarden.prom.jw-0123456789abcdef", "jobwarden_oom_total 1\n");
  age(stale, 3600);
  const std::string young = host.dir.write("metrics/.jobwarden.prom.jw-fedcba9876543210", "being written\n");
  const std::string other_target = host.dir.write("metrics/.other.prom.jw-0123456789abcdef", "not ours\n");
  age(other_target, 3600);
  const std::string odd_suffix = host.dir.write("metrics/.jobwarden.prom.jw-0123456789abcdeg", "not ours\n");
  age(odd_suffix, 3600);
  const std::string outside = host.dir.write("outside.txt", "keep me\n");
  const std::string link = dir + ".jobwarden.prom.jw-1111111111111111";
  std::filesystem::create_symlink(outside, link);
  age(link, 3600);
  const std::string subdir = dir + ".jobwarden.prom.jw-2222222222222222";
  std::filesystem::create_directory(subdir);
  age(subdir, 3600);

  const auto r = host.run("build", "exit 0");
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(stale));
  for (const std::string& kept : {young, other_target, odd_suffix, subdir}) {
    CAPTURE(kept);
    CHECK(std::filesystem::exists(kept));
  }
  CHECK(std::filesystem::is_symlink(link));
  CHECK(read_file(outside) == "keep me\n");
  CHECK(series_value(read_file(host.textfile()), R"(jobwarden_verdicts_total{ci="generic",step="build",action="pass"})") == 1);
}
