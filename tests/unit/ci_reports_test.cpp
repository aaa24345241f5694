// JUnit XML, GitHub step summary and Buildkite annotation rendering, the
// grace each CI leaves, and Buildkite's exit-code rule.
#include <doctest/doctest.h>

#include <map>

#include "adapters/ci_reports.hpp"
#include "executor/io/junit.hpp"

using namespace jobwarden;
using policy::Action;
using policy::Outcome;

namespace {

core::AttemptRecord attempt(int number, Outcome outcome, int code, std::string tail = "") {
  core::AttemptRecord a;
  a.number = number;
  a.outcome = outcome;
  a.step_exit_code = code;
  if (outcome == Outcome::success || outcome == Outcome::red) a.ending.exit_code = code;
  a.run_seconds = 1.5;
  a.total_seconds = 1.5;
  a.usage.output_tail = std::move(tail);
  return a;
}

core::StepResult result_of(std::vector<core::AttemptRecord> attempts, Action action, int exit_code) {
  core::StepResult r;
  r.attempts = std::move(attempts);
  for (std::size_t i = 0; i < r.attempts.size(); ++i) {
    policy::Decision d;
    d.retry = i + 1 < r.attempts.size();
    d.action = action;
    d.reason = d.retry ? "rule 'lock' matched" : "the end";
    d.backoff = core::Millis{d.retry ? 500 : 0};
    r.decisions.push_back(d);
    r.backoffs.push_back(core::Millis{d.retry ? 500 : 0});
  }
  r.action = action;
  r.reason = "the end";
  r.exit_code = exit_code;
  return r;
}

std::size_t count(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

adapters::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

}  // namespace

TEST_CASE("junit: a pass after failed attempts is a passing testcase with a flakyFailure per failed attempt") {
  const auto r = result_of({attempt(1, Outcome::red, 100, "Could not get lock\n"), attempt(2, Outcome::timeout, 124),
                            attempt(3, Outcome::success, 0, "ok\n")},
                           Action::unstable, 79);
  const std::string xml = io::render_junit({"unit tests", &r});
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) == 0);
  CHECK(xml.find("<testcase classname=\"jobwarden\" name=\"unit tests\" time=\"5.500\">") != std::string::npos);
  CHECK(count(xml, "<flakyFailure ") == 2);
  CHECK(xml.find("<flakyFailure message=\"attempt 1: red (exited 100, code 100)\" type=\"red\">") != std::string::npos);
  CHECK(xml.find("<system-out>Could not get lock\n</system-out>") != std::string::npos);
  CHECK(count(xml, "<failure") == 0);
  CHECK(xml.find("failures=\"0\" errors=\"0\"") != std::string::npos);
}

TEST_CASE("junit: a failed step has its first failed attempt as failure and the later ones as rerunFailure") {
  const auto r = result_of({attempt(1, Outcome::red, 1), attempt(2, Outcome::red, 2)}, Action::fail, 2);
  const std::string xml = io::render_junit({"build", &r});
  CHECK(count(xml, "<failure ") == 1);
  CHECK(count(xml, "<rerunFailure ") == 1);
  CHECK(xml.find("<failure message=\"attempt 1: red") < xml.find("<rerunFailure message=\"attempt 2: red"));
  CHECK(xml.find("tests=\"1\" failures=\"1\" errors=\"0\"") != std::string::npos);
  CHECK(count(xml, "flaky") == 0);
}

TEST_CASE("junit: a system failure is an error (the host's fault), its reruns rerunErrors") {
  const auto r = result_of({attempt(1, Outcome::timeout, 124), attempt(2, Outcome::timeout, 124)},
                           Action::system_failure, 75);
  const std::string xml = io::render_junit({"build", &r});
  CHECK(count(xml, "<error ") == 1);
  CHECK(count(xml, "<rerunError ") == 1);
  CHECK(xml.find("failures=\"0\" errors=\"1\"") != std::string::npos);
  CHECK(xml.find("<property name=\"jobwarden.action\" value=\"system_failure\"/>") != std::string::npos);
}

TEST_CASE("junit: text is valid XML 1.0 whatever the step printed or was called") {
  CHECK(io::xml_escape("a<b>&\"c\"", true) == "a&lt;b&gt;&amp;&quot;c&quot;");
  CHECK(io::xml_escape("line\nnext", true) == "line&#10;next");
  CHECK(io::xml_escape("line\nnext", false) == "line\nnext");
  CHECK(io::xml_escape(std::string("nul\0esc\x1b[31m", 12), false) == "nul\xef\xbf\xbd" "esc\xef\xbf\xbd[31m");
  CHECK(io::xml_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", false) == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(io::xml_escape("bad \xc3 \xff \xed\xa0\x80 \xc0\xaf", false) ==
        "bad \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
  CHECK(io::xml_escape("\xef\xbf\xbe", false) == "\xef\xbf\xbd");  // U+FFFE is no XML character
}

TEST_CASE("the grace each CI leaves: Jenkins 15 s, GitHub 5 s, Buildkite the agent's cancel grace less 1 s") {
  std::string warning;
  const auto none = env_of({});
  CHECK(adapters::grace_ceiling(adapters::CiKind::jenkins, none, warning)->max == core::Millis{15'000});
  CHECK(adapters::grace_ceiling(adapters::CiKind::github, none, warning)->max == core::Millis{5'000});
  CHECK_FALSE(adapters::grace_ceiling(adapters::CiKind::gitlab, none, warning));
  CHECK_FALSE(adapters::grace_ceiling(adapters::CiKind::generic, none, warning));
  CHECK(adapters::grace_ceiling(adapters::CiKind::buildkite, none, warning)->max == core::Millis{9'000});
  const auto v4 = adapters::grace_ceiling(adapters::CiKind::buildkite, env_of({{"BUILDKITE_CANCEL_SIGNAL_TIMEOUT", "30s"}}), warning);
  CHECK(v4->max == core::Millis{29'000});
  CHECK(v4->why.find("BUILDKITE_CANCEL_SIGNAL_TIMEOUT=30s") != std::string::npos);
  CHECK(adapters::grace_ceiling(adapters::CiKind::buildkite, env_of({{"BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS", "4"}}), warning)
            ->max == core::Millis{3'000});
  CHECK(warning.empty());
  const auto bad = adapters::grace_ceiling(adapters::CiKind::buildkite,
                                           env_of({{"BUILDKITE_CANCEL_SIGNAL_TIMEOUT", "soon"}}), warning);
  CHECK(bad->max == core::Millis{9'000});
  CHECK(warning.find("is not a duration") != std::string::npos);
  CHECK(adapters::foreign_term_settle(adapters::CiKind::jenkins) == core::Millis{6'000});
  CHECK(adapters::foreign_term_settle(adapters::CiKind::github) == core::Millis{0});
}

TEST_CASE("the attempts table escapes what could break it, and the annotation's style follows the action") {
  auto r = result_of({attempt(1, Outcome::red, 1), attempt(2, Outcome::success, 0)}, Action::unstable, 79);
  r.decisions[0].reason = "rule 'a|b <script>' matched";
  const std::string md = adapters::attempts_markdown("x|y", r);
  CAPTURE(md);
  CHECK(md.find("### jobwarden: step x\\|y: unstable") == 0);
  CHECK(md.find("| 1 | red | exited 1, code 1 | 1.50s | retry after 500ms (rule 'a\\|b &lt;script&gt;' matched) |") !=
        std::string::npos);
  CHECK(md.find("**Verdict:** unstable (the end); exit code 79") != std::string::npos);
  CHECK(adapters::buildkite_annotation("s", r).style == "warning");
  r.action = Action::pass;
  CHECK(adapters::buildkite_annotation("s", r).style == "success");
  r.action = Action::fail;
  CHECK(adapters::buildkite_annotation("s", r).style == "error");
  CHECK(adapters::buildkite_annotation("s", r).context == "jobwarden-s");
}

TEST_CASE("buildkite never exits 125: the agent would report -1, agent lost") {
  const auto bk = adapters::make_dialect(adapters::CiKind::buildkite);
  CHECK(bk->exit_code(Action::fail, 125) == 1);
  CHECK(bk->describe_exit(Action::fail, 125).find("125 would read as -1") != std::string::npos);
  CHECK(bk->exit_code(Action::fail, 124) == 124);
  CHECK(adapters::make_dialect(adapters::CiKind::generic)->exit_code(Action::fail, 125) == 125);
}
