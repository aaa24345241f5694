// Text from a repository's policy file (rule names, step names, patterns)
// carrying terminal controls, through the built binary: every line that
// quotes it to a terminal or a log (policy explain, policy check, the job
// log's decision and verdict lines, GitHub's step summary, the metrics'
// labels, the alert) shows it escaped by policy::printable; the JSON report
// keeps it exactly, JSON-escaped.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_receiver.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;

namespace {

const std::string k_jw = jobwarden_binary();

// YAML double-quoted escapes make real control bytes from plain ASCII text
// (the loader refuses raw control bytes in the file itself): \e is ESC, \a
// BEL, \u009b the C1 CSI, \u202e the right-to-left override. The first rule
// never matches step 'unit'; the second matches an exit code 3.
const char* k_hostile_policy = R"(version: 1
rules:
  - name: "other"
    when: {outcome: red, step: ["unit\e]0;x\a"], output: "boom\u202e\\d"}
    then: fail
  - name: "lock\e[8m\e[2J\e]0;owned\a\njobwarden: verdict: pass\u009b1A\u202e"
    when: {outcome: red, exit_codes: [3]}
    then: unstable
)";

// The rule name as it was decoded from the file.
const std::string k_raw_name = "lock\x1b[8m\x1b[2J\x1b]0;owned\x07\njobwarden: verdict: pass\xc2\x9b" "1A\xe2\x80\xae";
// ... and as policy::printable shows it.
const std::string k_shown_name =
    "lock\\x1b[8m\\x1b[2J\\x1b]0;owned\\x07\\x0ajobwarden: verdict: pass\\xc2\\x9b1A\\xe2\\x80\\xae";

// None of the bytes a terminal would act on, and no forged line of ours.
void check_no_controls(const std::string& text) {
  CHECK_FALSE(contains(text, "\x1b[8m"));
  CHECK_FALSE(contains(text, "\x1b[2J"));
  CHECK_FALSE(contains(text, "\x1b]"));
  CHECK_FALSE(contains(text, "\x07"));
  CHECK_FALSE(contains(text, "\xc2\x9b"));
  CHECK_FALSE(contains(text, "\xe2\x80\xae"));
  CHECK_FALSE(contains(text, "\njobwarden: verdict: pass"));
}

}  // namespace

TEST_CASE("policy explain quotes rule names, step names and patterns from the policy file escaped") {
  TempDir dir;
  const std::string policy = dir.write("hostile.yml", k_hostile_policy);
  const auto r = run_child({k_jw, "policy", "explain", policy, "--step", "unit", "--outcome", "red", "--exit-code", "3"});
  CAPTURE(r.out);
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  check_no_controls(r.out + r.err);
  CHECK(contains(r.out, "no      rule 'other': step 'unit' not in ['unit\\x1b]0;x\\x07']"));
  CHECK(contains(r.out, "output does not match /boom\\xe2\\x80\\xae\\\\d/"));  // a backslash is shown doubled
  CHECK(contains(r.out, "MATCH   rule '" + k_shown_name + "'\n"));
  CHECK(contains(r.out, "=> unstable (rule '" + k_shown_name + "': no retry)"));
}

TEST_CASE("policy check quotes an invalid pattern's text escaped, whoever wrote the message") {
  TempDir dir;
  // RE2's own message repeats the part of the pattern it could not parse.
  const std::string policy = dir.write(
      "bad.yml", "version: 1\nrules:\n  - name: x\n    when: {output: \"(\\e[2J\\e]0;owned\\a\\u009b1A\"}\n    then: fail\n");
  const auto r = run_child({k_jw, "policy", "check", policy});
  CAPTURE(r.err);
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, "invalid RE2 pattern"));
  check_no_controls(r.out + r.err);
  CHECK(contains(r.err, "\\x1b[2J"));
}

TEST_CASE("the decision and the coloured verdict show a hostile rule name escaped, the report keeps it exact") {
  TempDir dir;
  const std::string policy = dir.write("hostile.yml", k_hostile_policy);
  const std::string summary = dir.write("summary.md", "");
  const std::string report = dir.file("report.json");
  const auto r = run_child({k_jw, "run", "--ci", "github", "--color", "always", "--policy", policy, "--step", "unit",
                            "--report", report, "--", "sh", "-c", "exit 3"},
                           {"GITHUB_STEP_SUMMARY=" + summary});
  CAPTURE(r.err);
  check_no_controls(r.out + r.err);
  CHECK(contains(r.err, "jobwarden: decision: unstable (rule '" + k_shown_name + "': no retry)"));
  CHECK(contains(r.err, "jobwarden: \x1b[33;1mverdict: unstable: step 'unit': red after 1 attempt (rule '" +
                            k_shown_name + "': no retry)"));
  const std::string md = read_file(summary);
  CAPTURE(md);
  check_no_controls(md);
  CHECK(contains(md, "lock\\\\x1b\\[8m"));  // printable's text, then Markdown's escapes
  // The report is data: the name exactly as the policy has it, JSON-escaped.
  const auto json = nlohmann::json::parse(read_file(report));
  CHECK(json["attempts"][0]["matched_rule"] == k_raw_name);
  CHECK_FALSE(contains(read_file(report), "\x1b"));
}

namespace {

// The hostile name (YAML-quoted as in k_hostile_policy) on the fixture's
// retry rule, which runs out on exit 3 after 2 attempts.
std::string hostile_retry_policy() {
  std::string policy = k_retry_policy;
  const std::string plain = "flaky-exit-3";
  return policy.replace(policy.find(plain), plain.size(),
                        R"("lock\e[8m\e[2J\e]0;owned\a\njobwarden: verdict: pass\u009b1A\u202e")");
}

// A CI_JOB_ID (the job's to set) with the same kinds of bytes, and how it is shown.
const std::string k_raw_job_id = "job\x1b[2J\xc2\x9b\xe2\x80\xae-7";
const std::string k_shown_job_id = "job\\x1b[2J\\xc2\\x9b\\xe2\\x80\\xae-7";

// `text` as a Prometheus label value carries it (\\ and \" escaped).
std::string as_label(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

TEST_CASE("a hostile rule name and CI_JOB_ID reach the textfile, the Pushgateway and the alert escaped, promtool accepts the textfile") {
  Pushgateway gateway;
  HttpReceiver hook(HttpReceiver::Mode::up);
  Host host("", hostile_retry_policy());
  host.dir.write("admin.yaml", "version: 1\nmetrics: {textfile_dir: " + host.metrics_dir() + ", pushgateway: '" +
                                   gateway.url() + "'}\nalerts: {webhook: '" + hook.url("/hooks/t") + "'}\n");
  const auto r = host.run("build", "exit 3", {"CI_JOB_ID=" + k_raw_job_id});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  check_no_controls(r.out + r.err);

  // The textfile: what a `cat` of it shows, and what node_exporter reads.
  const std::string text = read_file(host.textfile());
  CAPTURE(text);
  check_no_controls(text);
  CHECK(series_value(text, "jobwarden_retries_total{step=\"build\",rule=\"" + as_label(k_shown_name) + "\"}") == 1);
  CHECK(series_value(text, "jobwarden_retries_exhausted_total{step=\"build\",rule=\"" + as_label(k_shown_name) +
                               "\"}") == 1);
  const auto lint = promtool_check(host.textfile());
  CAPTURE(lint.out);
  CAPTURE(lint.err);
  CHECK(lint.exit_code == 0);

  // The Pushgateway: the rule label, and CI_JOB_ID in the grouping key.
  const std::string pushed = gateway.metrics();
  CAPTURE(pushed);
  check_no_controls(pushed);
  CHECK(contains(pushed, "ci_job_id=\"" + as_label(k_shown_job_id) + "\""));
  CHECK(contains(pushed, "rule=\"" + as_label(k_shown_name) + "\""));
  CHECK_FALSE(contains(pushed, "\x1b"));

  // The alert: JSON-escaping alone would deliver the bytes to the chat app.
  REQUIRE(hook.wait_for_requests(1, std::chrono::milliseconds(10'000)));
  const std::string body = hook.requests()[0].body;
  CAPTURE(body);
  const auto alert = nlohmann::json::parse(body);
  for (const char* field : {"text", "rule", "job_id", "step"}) {
    CAPTURE(field);
    check_no_controls(alert[field].get<std::string>());
  }
  check_no_controls(alert["verdict"]["reason"].get<std::string>());
  CHECK(contains(alert["text"].get<std::string>(), "retries of rule '" + k_shown_name + "' exhausted"));
  CHECK(alert["rule"] == k_shown_name);
  CHECK(alert["job_id"] == k_shown_job_id);
  CHECK(contains(alert["verdict"]["reason"].get<std::string>(), "rule '" + k_shown_name + "' matched 2/2"));
}
