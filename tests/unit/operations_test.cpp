// Metrics store and exposition, secret redaction, the alert's trigger and
// payload, and the admin configuration's operations sections.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "executor/core/redactor.hpp"
#include "executor/io/alert.hpp"
#include "executor/io/metrics.hpp"
#include "policy/admin_config.hpp"
#include "policy/printable.hpp"

using namespace jobwarden;
using namespace std::chrono_literals;

namespace {

core::AttemptRecord attempt(policy::Outcome outcome, int killed = 0, bool starved = false) {
  core::AttemptRecord a;
  a.outcome = outcome;
  a.total_seconds = 2.5;
  a.signalled.resize(static_cast<std::size_t>(killed));
  a.starvation.starved = starved;
  return a;
}

// Two starved timeouts retried by rule "starved", then exhausted: system failure.
core::StepResult exhausted_result() {
  core::StepResult r;
  r.attempts = {attempt(policy::Outcome::timeout, 3, true), attempt(policy::Outcome::timeout, 2, true)};
  policy::Decision retry;
  retry.retry = true;
  retry.rule = "starved";
  policy::Decision last;
  last.rule = "starved";
  last.exhausted = true;
  last.action = policy::Action::system_failure;
  r.decisions = {retry, last};
  r.backoffs = {5000ms, 0ms};
  r.action = policy::Action::system_failure;
  r.exit_code = 75;
  r.reason = "rule 'starved': rule 'starved' matched 2/2 attempts";
  return r;
}

}  // namespace

TEST_CASE("metrics: one step's counts, rendered and read back identically") {
  const core::StepResult r = exhausted_result();
  io::MetricStore store;
  store.add_step({"gitlab", "build", &r});
  CHECK(store.counter("jobwarden_attempts_total", {"gitlab", "build", "timeout"}) == 2);
  CHECK(store.counter("jobwarden_verdicts_total", {"gitlab", "build", "system_failure"}) == 1);
  CHECK(store.counter("jobwarden_retries_total", {"build", "starved"}) == 1);
  CHECK(store.counter("jobwarden_retries_exhausted_total", {"build", "starved"}) == 1);
  CHECK(store.counter("jobwarden_starved_total") == 2);
  CHECK(store.counter("jobwarden_processes_killed_total") == 5);
  CHECK(store.duration_count("build") == 1);
  const std::string text = store.render();
  CHECK(text.find("jobwarden_step_duration_seconds_sum{step=\"build\"} 10\n") != std::string::npos);  // 2.5+2.5+5
  CHECK(text.find("jobwarden_step_duration_seconds_bucket{step=\"build\",le=\"5\"} 0\n") != std::string::npos);
  CHECK(text.find("jobwarden_step_duration_seconds_bucket{step=\"build\",le=\"10\"} 1\n") != std::string::npos);
  int skipped = -1;
  const io::MetricStore back = io::MetricStore::parse(text, skipped);
  CHECK(skipped == 0);
  CHECK(back.render() == text);
}

TEST_CASE("metrics: merging adds, and new step labels beyond the cap fold into 'other'") {
  const core::StepResult r = exhausted_result();
  io::MetricStore host;
  for (const char* step : {"a", "b", "c"}) {
    io::MetricStore one;
    one.add_step({"generic", step, &r});
    host.merge(one, 2);
  }
  CHECK(host.counter("jobwarden_attempts_total", {"generic", "a", "timeout"}) == 2);
  CHECK(host.counter("jobwarden_attempts_total", {"generic", "b", "timeout"}) == 2);
  CHECK(host.counter("jobwarden_attempts_total", {"generic", "c", "timeout"}) == 0);
  CHECK(host.counter("jobwarden_attempts_total", {"generic", "other", "timeout"}) == 2);
  CHECK(host.duration_count("other") == 1);
  CHECK(host.counter("jobwarden_starved_total") == 6);
}

TEST_CASE("metrics: damaged textfile lines are skipped and counted, the rest is kept") {
  int skipped = 0;
  const auto store = io::MetricStore::parse(
      "jobwarden_starved_total 4\ngarbage\njobwarden_oom_total -1\nunknown_metric 3\n"
      "jobwarden_attempts_total{ci=\"x\",step=\"s\"} 1\n",
      skipped);
  CHECK(skipped == 4);
  CHECK(store.counter("jobwarden_starved_total") == 4);
}

TEST_CASE("metrics: step labels are bounded and sanitised") {
  CHECK(io::metric_step_label("build", true) == "build");
  CHECK(io::metric_step_label("build", false) == "other");
  CHECK(io::metric_step_label("my step/\"x\"", true) == "my_step__x_");
  CHECK(io::metric_step_label(std::string(100, 'a'), true).size() == 64);
}

TEST_CASE("secrets: every occurrence, JSON- and label-escaped forms too, longest first") {
  core::Redactor r;
  CHECK_FALSE(r.add_secret("abc"));  // too short to mask
  CHECK(r.add_secret("tok\"en-1234"));
  CHECK(r.add_secret("tok\"en-1234-long"));
  CHECK(r.redact("a tok\"en-1234 b tok\"en-1234-long") == "a [MASKED] b [MASKED]");
  CHECK(r.redact(R"({"x": "tok\"en-1234"})") == R"({"x": "[MASKED]"})");
  CHECK(r.redact("abc") == "abc");
}

TEST_CASE("secrets: a prefix cut at a marked cut and a suffix starting a cut tail are masked too") {
  core::Redactor r;
  CHECK(r.add_secret("hunter2-Zq9Vx"));
  CHECK(r.add_secret("a\nb\\c-secret"));
  // printable()'s 40-byte quote and the log's squeeze end a cut with "...".
  CHECK(r.redact("key 'xxxxxxxxhunter2-Z...' unknown") == "key 'xxxxxxxx[MASKED]...' unknown");
  CHECK(r.redact("`sleep hun...`") == "`sleep [MASKED]...`");
  CHECK(r.redact("`sleep hu...`") == "`sleep hu...`");  // under k_min_cut_fragment: ordinary text
  CHECK(r.redact("loading...") == "loading...");
  // A secret escaped by printable() (a policy error quotes it that way).
  CHECK(r.redact("'a\\x0ab\\\\c-secret'") == "'[MASKED]'");
  CHECK(r.redact("'a\\x0ab\\\\c-s...'") == "'[MASKED]...'");
  // The tail of the output: its first bytes may end a secret.
  CHECK(r.redact_tail("9Vx\nnext line") == "[MASKED]\nnext line");
  CHECK(r.redact_tail("y\nnext hunter2-Zq9Vx") == "y\nnext [MASKED]");
  CHECK(r.redact("9Vx\nnext line") == "9Vx\nnext line");  // an uncut text keeps its start
}

TEST_CASE("secrets: printable's form of a secret, escaped again as the alert's JSON and a metric label carry it") {
  core::Redactor r;
  CHECK(r.add_secret("pa\\ss\x1b\"word"));
  const std::string shown = policy::printable("pa\\ss\x1b\"word");  // the text pa\\ss\x1b"word
  CHECK(r.redact(core::json_escaped(shown)) == "[MASKED]");
  CHECK(r.redact(core::label_escaped(shown)) == "[MASKED]");
}

TEST_CASE("alerts: due on an exhausted rule or a system failure, as configured, with text and fields") {
  const core::StepResult r = exhausted_result();
  policy::AlertsConfig config;
  CHECK(io::alert_event(r, config) == "exhausted");
  config.on_exhausted = false;
  CHECK(io::alert_event(r, config) == "system_failure");
  config.on_system_failure = false;
  CHECK_FALSE(io::alert_event(r, config));
  core::StepResult pass;
  pass.attempts = {attempt(policy::Outcome::success)};
  pass.decisions = {policy::Decision{}};
  CHECK_FALSE(io::alert_event(pass, policy::AlertsConfig{}));

  io::AlertInput in{"exhausted", "runner-3", "gitlab", {"g/p", "17", "https://x/jobs/17", "https://x/p/1"}, "build", &r};
  const auto j = nlohmann::json::parse(io::render_alert(in));
  CHECK(j["text"] ==
        "jobwarden: system_failure of step 'build' in g/p on runner-3: retries of rule 'starved' exhausted after "
        "2 attempts (timeout (starved), timeout (starved)): rule 'starved': rule 'starved' matched 2/2 attempts"
        " — https://x/jobs/17");
  CHECK(j["rule"] == "starved");
  CHECK(j["attempts"][0]["starved"] == true);
  CHECK(j["attempts"][0]["processes_killed"] == 3);
  CHECK(j["verdict"]["exit_code"] == 75);
}

TEST_CASE("admin configuration: metrics, alerts and secrets sections") {
  const auto ok = policy::load_admin_config(R"(version: 1
features: {metrics: false}
metrics: {textfile_dir: /var/lib/node_exporter, pushgateway: 'http://pg:9091', job: ci, timeout: 1500ms,
          connect_timeout: 500ms, max_label_values: 20, proxy: 'http://proxy.example:3128'}
alerts: {webhook: 'https://hooks.example/T/123', timeout: 3s, on: [system_failure], proxy: 'http://u:pw@px:8080'}
secrets: {variables: [DEPLOY_TOKEN, _X1]}
)",
                                            "admin.yaml");
  REQUIRE(ok.ok());
  const policy::AdminConfig& c = *ok.config;
  CHECK_FALSE(c.metrics);
  CHECK(c.metrics_config.textfile_dir == "/var/lib/node_exporter");
  CHECK(c.metrics_config.pushgateway == "http://pg:9091");
  CHECK(c.metrics_config.timeout == 1500ms);
  CHECK(c.metrics_config.max_label_values == 20);
  CHECK(c.metrics_config.proxy == "http://proxy.example:3128");
  CHECK(c.alerts.proxy == "http://u:pw@px:8080");
  CHECK(c.alerts.webhook == "https://hooks.example/T/123");
  CHECK_FALSE(c.alerts.on_exhausted);
  CHECK(c.alerts.on_system_failure);
  CHECK(c.secret_variables == std::vector<std::string>{"DEPLOY_TOKEN", "_X1"});

  const auto bad = policy::load_admin_config(R"(version: 1
alerts: {webhook: 'ftp://secret-token-in-url', timeout: 5m, on: [exhausted, sometimes]}
metrics: {textfile_dir: relative, pushgateway: 'http://a b', proxy: 'socks4://proxy-password-in-url'}
secrets: {variables: [1BAD]}
)",
                                             "admin.yaml");
  REQUIRE_FALSE(bad.ok());
  std::string all;
  for (const auto& e : bad.errors) all += e.to_string() + "\n";
  CAPTURE(all);
  CHECK(bad.errors.size() == 7);
  CHECK(all.find("admin.yaml:2:19: 'webhook' in 'alerts': expected an http:// or https:// URL") != std::string::npos);
  CHECK(all.find("secret-token-in-url") == std::string::npos);  // a URL is never echoed
  CHECK(all.find("admin.yaml:3:69: 'proxy' in 'metrics': expected an http:// or https:// URL") != std::string::npos);
  CHECK(all.find("proxy-password-in-url") == std::string::npos);
  CHECK(all.find("expected a duration from 100ms to 1m") != std::string::npos);
  CHECK(all.find("expected one of exhausted, system_failure, got 'sometimes'") != std::string::npos);
  CHECK(all.find("expected an absolute path") != std::string::npos);
  CHECK(all.find("expected a variable name") != std::string::npos);
}
