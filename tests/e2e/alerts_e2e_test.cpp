// The job's one alert, against a real HTTP receiver on a loopback port that
// is up, down, slow, failing or redirecting.
#include <doctest/doctest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/http_receiver.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

constexpr const char* k_token = "hook-token-5f2a9c";

std::string alerts_admin(const std::string& url, const std::string& extra = "") {
  return "version: 1\nalerts: {webhook: '" + url + "', timeout: 1s" + extra + "}\n";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("alerts: an exhausted retry rule sends exactly one alert with text and structured fields, a pass none") {
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", alerts_admin(receiver.url(std::string("/hooks/") + k_token)));
  const std::vector<std::string> env{"CI_JOB_ID=991", "CI_PROJECT_PATH=group/app",
                                     "CI_JOB_URL=https://gitlab.example/group/app/-/jobs/991"};
  const auto passed = host.run("build", "exit 0", env);
  CHECK(passed.exit_code == 0);
  CHECK(receiver.requests().empty());

  const auto r = host.run("build", "echo trying; exit 3", env);
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  REQUIRE(receiver.wait_for_requests(1, milliseconds(10'000)));
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == std::string("/hooks/") + k_token);
  const auto alert = nlohmann::json::parse(requests[0].body);
  CHECK(alert["event"] == "exhausted");
  CHECK(alert["step"] == "build");
  CHECK(alert["rule"] == "flaky-exit-3");
  CHECK(alert["project"] == "group/app");
  CHECK(alert["job_url"] == "https://gitlab.example/group/app/-/jobs/991");
  CHECK(alert["verdict"]["action"] == "fail");
  CHECK(alert["verdict"]["exit_code"] == 3);
  REQUIRE(alert["attempts"].size() == 2);
  CHECK(alert["attempts"][1]["outcome"] == "red");
  CHECK(alert["attempts"][1]["exit_code"] == 3);
  const std::string text = alert["text"];
  CAPTURE(text);
  CHECK(contains(text, "retries of rule 'flaky-exit-3' exhausted after 2 attempts (red, red)"));
  CHECK(contains(text, "group/app"));
  CHECK(contains(r.err, "jobwarden: alert: exhausted: sent to the webhook (HTTP 200"));
  CHECK_FALSE(contains(r.err + r.out, k_token));
}

TEST_CASE("alerts: a system failure without a retry rule sends one alert, on: [exhausted] does not") {
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", alerts_admin(receiver.url("/hook")));
  const auto r = host.run("build", "exit 5");  // fallback red: system_failure
  CHECK(r.exit_code == 75);
  REQUIRE(receiver.wait_for_requests(1, milliseconds(10'000)));
  CHECK(nlohmann::json::parse(receiver.requests()[0].body)["event"] == "system_failure");
  host.dir.write("admin.yaml", alerts_admin(receiver.url("/hook"), ", on: [exhausted]"));
  CHECK(host.run("build", "exit 5").exit_code == 75);
  CHECK(receiver.requests().size() == 1);
}

TEST_CASE("alerts: a dead, slow, failing or looping webhook changes neither verdict nor exit code, within the bound") {
  Host reference_host("");
  const auto reference = reference_host.run("build", "exit 3");
  REQUIRE(reference.exit_code == 3);
  const auto verdict = [](const std::string& err) {
    const auto at = err.find("jobwarden: verdict: ");
    return at == std::string::npos ? std::string() : err.substr(at, err.find('\n', at) - at);
  };
  const std::string expected_verdict = verdict(reference.err);
  REQUIRE_FALSE(expected_verdict.empty());

  DeadEndpoint dead;
  HttpReceiver slow(HttpReceiver::Mode::slow);
  HttpReceiver failing(HttpReceiver::Mode::server_error);
  HttpReceiver looping(HttpReceiver::Mode::redirect_loop);
  const std::vector<std::pair<std::string, std::string>> cases{
      {dead.url("/x?token=") + k_token, "(connection refused or unreachable)"},
      {slow.url("/x?token=") + k_token, "(timed out)"},
      {failing.url("/x?token=") + k_token, "(HTTP 500)"},
      {looping.url("/x?token=") + k_token, "(too many redirects)"},
  };
  for (const auto& [url, why] : cases) {
    CAPTURE(why);
    Host host("");
    host.dir.write("admin.yaml", alerts_admin(url));
    const auto start = std::chrono::steady_clock::now();
    const auto r = host.run("build", "exit 3");
    const double seconds = seconds_since(start);
    CAPTURE(r.err);
    CHECK(r.exit_code == reference.exit_code);
    CHECK(verdict(r.err) == expected_verdict);
    CHECK(contains(r.err, "jobwarden: warning: alert: exhausted: the webhook failed after "));
    CHECK(contains(r.err, why + "; the verdict is unchanged"));
    CHECK_FALSE(contains(r.err + r.out, k_token));
    CHECK(seconds < 1.0 + 15.0);  // the 1s bound, with a generous margin for a loaded host
  }
  CHECK(slow.requests().size() == 1);
  CHECK(failing.requests().size() == 1);
  CHECK(looping.requests().size() == 4);  // the request and 3 redirects, then libcurl stops
}

TEST_CASE("alerts: a redirect is followed and the POST arrives once, body intact") {
  HttpReceiver receiver(HttpReceiver::Mode::redirect);
  Host host("");
  host.dir.write("admin.yaml", alerts_admin(receiver.url("/moved")));
  CHECK(host.run("build", "exit 3").exit_code == 3);
  REQUIRE(receiver.wait_for_requests(2, milliseconds(10'000)));
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].path == "/final");
  CHECK(requests[1].method == "POST");
  CHECK(requests[1].body == requests[0].body);
  CHECK(nlohmann::json::parse(requests[1].body)["event"] == "exhausted");
}

TEST_CASE("alerts: JOBWARDEN_ALERTS=0 and features.webhooks false send nothing, announced, verdict unchanged") {
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", alerts_admin(receiver.url("/hook")));
  const auto by_env = host.run("build", "exit 3", {"JOBWARDEN_ALERTS=0"});
  CHECK(by_env.exit_code == 3);
  CHECK(contains(by_env.err, "jobwarden: warning: alerts are OFF (JOBWARDEN_ALERTS=0): no webhook is called"));
  host.dir.write("admin.yaml", "version: 1\nfeatures: {webhooks: false}\n" +
                                   alerts_admin(receiver.url("/hook")).substr(std::string("version: 1\n").size()));
  const auto by_admin = host.run("build", "exit 3");
  CHECK(by_admin.exit_code == 3);
  CHECK(contains(by_admin.err, "jobwarden: warning: alerts are OFF (admin configuration " + host.admin_path + ")"));
  CHECK(receiver.requests().empty());
}

TEST_CASE("alerts: a GitLab job whose stages both exhaust their retries alerts once, through the job's state") {
  HttpReceiver receiver(HttpReceiver::Mode::up);
  GitlabRunnerEmulator gl;
  gl.append_admin("alerts: {webhook: '" + receiver.url("/hook") + "', timeout: 1s}\n");
  gl.write_repo_policy(k_retry_policy);
  gl.config();
  const auto build = gl.run_stage("build_script", "exit 3");
  CAPTURE(build.driver.err);
  CHECK(build.kind() == "build_failure");
  const auto after = gl.run_stage("after_script", "exit 3");
  CAPTURE(after.driver.err);
  CHECK(after.kind() == "build_failure");
  CHECK(contains(after.driver.err, "already sent for this job by an earlier stage: not sent again"));
  REQUIRE(receiver.wait_for_requests(1, milliseconds(10'000)));
  CHECK(receiver.requests().size() == 1);
  const auto alert = nlohmann::json::parse(receiver.requests()[0].body);
  CHECK(alert["step"] == "build_script");
  CHECK(alert["ci"] == "gitlab");
  CHECK(alert["job_id"] == "4242");
}

TEST_CASE("alerts: HTTPS verifies the server against the system CA store, a self-signed certificate is refused") {
  TempDir tls;
  const auto made = run_child({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                               tls.file("key.pem"), "-out", tls.file("cert.pem")});
  REQUIRE(made.exit_code == 0);
  std::unique_ptr<ChildProcess> server;
  int port = 0;
  for (int tries = 0; tries < 5 && !server; ++tries) {  // the free port may be taken before openssl binds it
    port = free_loopback_port();
    server = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
        tls.file("cert.pem"), "-key", tls.file("key.pem"), "-www"});
    if (!server->wait_for_output("ACCEPT", milliseconds(20'000))) server.reset();
  }
  REQUIRE(server);
  Host host("");
  host.dir.write("admin.yaml", alerts_admin("https://127.0.0.1:" + std::to_string(port) + "/hook?token=" + k_token));
  // The job's SSLKEYLOGFILE is the step's, never jobwarden's: libcurl would
  // write the session keys of the webhook's connection (its URL holds a token) there.
  const std::string key_log = tls.file("keys.log");
  const auto r = host.run("build", "printf 'keylog:%s\\n' \"$SSLKEYLOGFILE\"; exit 3", {"SSLKEYLOGFILE=" + key_log});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "jobwarden: warning: alert: exhausted: the webhook failed after "));
  CHECK(contains(r.err, "(TLS certificate not trusted); the verdict is unchanged"));
  CHECK_FALSE(contains(r.err + r.out, k_token));
  CHECK(contains(r.out, "keylog:" + key_log + "\n"));
  CHECK_FALSE(std::filesystem::exists(key_log));
}

TEST_CASE("proxies: a job's http_proxy and co. get neither the push nor the alert, the admin's proxy gets both") {
  // `jobwarden run` inside a job has the job's environment: a proxy named
  // there would receive the webhook's token and the metrics.
  HttpReceiver hook(HttpReceiver::Mode::up);
  HttpReceiver job_proxy(HttpReceiver::Mode::up);
  Pushgateway gateway;
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(job_proxy.port());
  std::vector<std::string> env{"CI_JOB_ID=job-88"};
  for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    env.push_back(std::string(name) + "=" + proxy_url);
  }
  Host host("");
  const std::string metrics = "metrics: {pushgateway: '" + gateway.url() + "'";
  const std::string alerts = "alerts: {webhook: '" + hook.url(std::string("/hooks/") + k_token) + "', timeout: 2s";
  host.dir.write("admin.yaml", "version: 1\n" + metrics + "}\n" + alerts + "}\n");
  const auto r = host.run("build", "exit 3", env);
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  REQUIRE(hook.wait_for_requests(1, milliseconds(10'000)));
  CHECK(hook.requests()[0].path == std::string("/hooks/") + k_token);
  CHECK(contains(gateway.metrics(), "jobwarden_verdicts_total{action=\"fail\",ci=\"generic\",ci_job_id=\"job-88\""));
  CHECK(job_proxy.requests().empty());

  // The admin's proxy is used for both, and the job's no_proxy cannot bypass it.
  HttpReceiver admin_proxy(HttpReceiver::Mode::up);
  const std::string admin_proxy_url = "http://127.0.0.1:" + std::to_string(admin_proxy.port());
  const std::string proxy = ", proxy: '" + admin_proxy_url + "'}\n";
  host.dir.write("admin.yaml", "version: 1\n" + metrics + proxy + alerts + proxy);
  env.push_back("no_proxy=*");
  env.push_back("NO_PROXY=*");
  const auto via = host.run("build", "exit 3", env);
  CAPTURE(via.err);
  CHECK(via.exit_code == 3);
  REQUIRE(admin_proxy.wait_for_requests(2, milliseconds(10'000)));
  std::string paths;
  for (const auto& request : admin_proxy.requests()) paths += request.method + " " + request.path + "\n";
  CAPTURE(paths);
  CHECK(contains(paths, "PUT " + gateway.url() + "/metrics/job@base64/"));
  CHECK(contains(paths, "POST " + hook.url(std::string("/hooks/") + k_token)));
  CHECK(hook.requests().size() == 1);  // the second alert went to the admin's proxy, not straight to the hook
  CHECK(job_proxy.requests().empty());
}
