// The policy loader: valid fixtures build the right model; every invalid
// input names its line, column and what was expected; hostile input is
// refused quickly and cleanly.

#include "policy/loader.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "policy/text_guard.hpp"

using namespace jobwarden::policy;
using namespace std::chrono_literals;

namespace {

const std::string k_fixtures = std::string(JOBWARDEN_SOURCE_DIR) + "/tests/fixtures/policies";

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

Policy load_valid(const std::string& fixture) {
  const LoadResult r = load_policy_file(k_fixtures + "/valid/" + fixture);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  return *r.policy;
}

struct ExpectedError {
  const char* what;  // the invalid class, for the failure message
  const char* yaml;
  int line;
  int column;
  const char* fragment;
};

void check_single_error(const ExpectedError& c) {
  const LoadResult r = load_policy(c.yaml, "p.yml");
  const std::string context = std::string(c.what) + "\n" + c.yaml + "---\n" + all_errors(r);
  INFO(context);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.policy.has_value());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "p.yml");
  CHECK(r.errors[0].line == c.line);
  CHECK(r.errors[0].column == c.column);
  CHECK(r.errors[0].message.find(c.fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("a full policy loads every key into the model, rules in file order") {
  const Policy p = load_valid("full.yml");
  CHECK(p.source == k_fixtures + "/valid/full.yml");
  CHECK(p.version == 1);
  CHECK(p.defaults.timeout == 20min);
  CHECK(p.defaults.grace == 15s);
  CHECK(p.defaults.backoff.initial == 2s);
  CHECK(p.defaults.backoff.factor == doctest::Approx(3.0));
  CHECK(p.defaults.backoff.max == 2min);
  CHECK(p.defaults.backoff.jitter == doctest::Approx(0.1));
  CHECK(p.defaults.starvation.cpu_wait == doctest::Approx(0.4));
  CHECK(p.defaults.starvation.cpu_share == doctest::Approx(0.6));
  REQUIRE(p.rules.size() == 4);
  CHECK(p.rules[0].name == "dpkg-lock");
  CHECK(p.rules[0].when.outcomes == std::vector{Outcome::red});
  CHECK(p.rules[0].when.exit_codes == std::vector{100});
  REQUIRE(p.rules[0].when.output != nullptr);
  CHECK(p.rules[0].when.output->search("E: Could not get lock /var/lib/dpkg/lock"));
  CHECK(p.rules[0].retry == 3);
  CHECK(p.rules[0].then == Action::system_failure);
  CHECK(p.rules[1].name == "starved");
  CHECK(p.rules[1].when.starved == true);
  const Rule& killed = p.rules[2];
  CHECK(killed.name == "killed-fast");
  CHECK(killed.when.outcomes == std::vector{Outcome::signal, Outcome::red});
  CHECK(killed.when.signals == std::vector{9, 15, 2});
  CHECK(killed.when.steps == std::vector<std::string>{"build_script"});
  CHECK(killed.when.min_duration == 1s);
  CHECK(killed.when.max_duration == 10min);
  CHECK(killed.retry == 0);
  CHECK(killed.then == Action::fail);
  CHECK(p.rules[3].then == Action::unstable);
  CHECK(p.rules[3].when.output->search("curl: Connection RESET by peer"));
  CHECK(p.flaky == Action::unstable);
  CHECK(p.limits.max_attempts == 4);
  CHECK(p.limits.max_retry_time == 20min);
}

TEST_CASE("the fallback merges over the built-in one, and a step's over the policy's") {
  const Policy p = load_valid("full.yml");
  auto expected = builtin_fallback();
  expected[Outcome::timeout] = Action::unstable;
  expected[Outcome::signal] = Action::system_failure;
  CHECK(p.defaults.fallback == expected);
  auto after = expected;
  after[Outcome::timeout] = Action::pass;
  after[Outcome::red] = Action::pass;
  CHECK(p.settings_for("after_script").fallback == after);
  CHECK(p.settings_for("build_script").fallback == expected);
}

TEST_CASE("step settings merge key by key over the defaults, whatever the file order") {
  const Policy p = load_valid("full.yml");
  REQUIRE(p.steps.size() == 3);
  const StepSettings& build = p.settings_for("build_script");
  CHECK(build.timeout == 45min);
  CHECK(build.grace == 15s);
  CHECK(build.backoff.initial == 10s);
  CHECK(build.backoff.factor == doctest::Approx(3.0));
  CHECK(build.backoff.max == 2min);
  CHECK(build.memory == 512ULL << 20);  // inherited from the defaults
  const StepSettings& deploy = p.settings_for("deploy");
  CHECK(deploy.memory == 2ULL << 30);
  CHECK(deploy.timeout == 20min);
  CHECK(deploy.starvation.cpu_wait == doctest::Approx(0.4));
  CHECK(deploy.starvation.cpu_share == doctest::Approx(0.3));
  CHECK(&p.settings_for("unknown-step") == &p.defaults);
}

TEST_CASE("a minimal policy gets the model defaults and the built-in fallback") {
  const Policy p = load_valid("minimal.yml");
  const Policy model;
  CHECK(p.rules.empty());
  CHECK(p.steps.empty());
  CHECK(p.defaults.timeout == model.defaults.timeout);
  CHECK(p.defaults.grace == model.defaults.grace);
  CHECK(p.defaults.fallback == builtin_fallback());
  CHECK(p.flaky == Action::pass);
  CHECK(p.limits.max_attempts == model.limits.max_attempts);
}

TEST_CASE("anchors and aliases are followed, and identical patterns compile once") {
  const Policy p = load_valid("anchors.yml");
  CHECK(p.settings_for("integration").backoff.initial == 30s);
  CHECK(p.settings_for("e2e").backoff.max == 5min);
  CHECK(p.settings_for("e2e").timeout == 2h);
  REQUIRE(p.rules.size() == 2);
  CHECK(p.rules[0].when.output == p.rules[1].when.output);
}

TEST_CASE("every invalid fixture fails with positioned errors") {
  for (const auto& entry : std::filesystem::directory_iterator(k_fixtures + "/invalid")) {
    const LoadResult r = load_policy_file(entry.path().string());
    INFO(entry.path().string() << "\n" << all_errors(r));
    CHECK_FALSE(r.ok());
    REQUIRE_FALSE(r.errors.empty());
    for (const auto& e : r.errors) CHECK(e.line > 0);
  }
}

TEST_CASE("a file with several errors reports them all, in file order") {
  const LoadResult r = load_policy_file(k_fixtures + "/invalid/many-errors.yml");
  INFO(all_errors(r));
  const std::vector<std::pair<int, int>> expected{{3, 12}, {4, 34}, {4, 47},  {7, 21}, {7, 39},
                                                  {8, 12}, {9, 11}, {10, 11}, {11, 8}, {12, 24}};
  REQUIRE(r.errors.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(r.errors[i].line == expected[i].first);
    CHECK(r.errors[i].column == expected[i].second);
  }
  CHECK(r.errors[6].message.find("duplicate rule name 'a' (first at line 6)") != std::string::npos);
}

TEST_CASE("errors render as file:line:col: message") {
  const LoadResult r = load_policy_file(k_fixtures + "/invalid/unknown-key.yml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        k_fixtures +
            "/invalid/unknown-key.yml:5:5: unknown key 'retires' in rule 'dpkg-lock' "
            "(did you mean 'retry'?)");
  CHECK(PolicyError{"f.yml", 0, 0, "whole file"}.to_string() == "f.yml: whole file");
}

TEST_CASE("a YAML syntax error is one error at the parser's position") {
  const LoadResult r = load_policy_file(k_fixtures + "/invalid/syntax-error.yml");
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 4);
  CHECK(r.errors[0].column == 34);
  CHECK(r.errors[0].message.find("YAML syntax error: ") == 0);
}

TEST_CASE("an unreadable policy file is one error without a position") {
  const LoadResult missing = load_policy_file(k_fixtures + "/no-such-file.yml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].line == 0);
  CHECK(missing.errors[0].message.find("No such file or directory") != std::string::npos);
  const LoadResult directory = load_policy_file(k_fixtures);
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].line == 0);
}

TEST_CASE("each invalid input names its line, column and what was expected") {
  const ExpectedError cases[] = {
      {"unknown key, with a hint", "version: 1\nrules:\n  - name: dpkg-lock\n    retires: 3\n", 4,
       5, "unknown key 'retires' in rule 'dpkg-lock' (did you mean 'retry'?)"},
      {"unknown top-level key", "version: 1\nrulez: []\n", 2, 1,
       "unknown key 'rulez' in the policy (did you mean 'rules'?)"},
      {"unknown key, no close one", "version: 1\ndefaults:\n  colour: red\n", 3, 3,
       "unknown key 'colour' in 'defaults' (expected one of timeout, grace, memory, backoff, starvation)"},
      {"unknown key in a step", "version: 1\nsteps:\n  build: {timout: 5m}\n", 3, 11,
       "unknown key 'timout' in step 'build' (did you mean 'timeout'?)"},
      {"YAML merge key", "version: 1\ndefaults:\n  <<: {timeout: 5m}\n", 3, 3,
       "merge keys are not supported"},
      {"a map where a list is expected", "version: 1\nrules:\n  name: x\n", 3, 3,
       "'rules' in the policy: expected a list of rules, got a map"},
      {"a list where a map is expected", "version: 1\nrules:\n  - name: a\n    when: [red]\n", 4,
       11, "'when' of rule 'a': expected a map with keys outcome, exit_codes"},
      {"a rule that is not a map", "version: 1\nrules:\n  - just-a-name\n", 3, 5,
       "rule #1: expected a map with keys name, when, retry, then, got 'just-a-name'"},
      {"a rule without a name", "version: 1\nrules:\n  - retry: 2\n", 3, 5,
       "rule #1: missing 'name'"},
      {"duplicate rule names", "version: 1\nrules:\n  - name: a\n  - name: a\n", 4, 11,
       "duplicate rule name 'a' (first at line 3)"},
      {"duplicate key", "version: 1\nflaky: pass\nflaky: fail\n", 3, 1,
       "duplicate key 'flaky' in the policy (first at line 2)"},
      {"duplicate key in a flow map", "version: 1\nrules:\n  - {name: a, name: b}\n", 3, 15,
       "duplicate key 'name' in rule 'a'"},
      {"duplicate fallback outcome", "version: 1\nfallback: {red: pass, red: fail}\n", 2, 23,
       "duplicate outcome 'red' in 'fallback'"},
      {"bare number as duration", "version: 1\ndefaults:\n  timeout: 30\n", 3, 12,
       "'timeout' in 'defaults': invalid duration '30': a unit (ms, s, m, h)"},
      {"zero duration", "version: 1\ndefaults:\n  grace: 0s\n", 3, 10, "must be positive"},
      {"negative duration", "version: 1\nlimits: {max_retry_time: -5m}\n", 2, 26,
       "invalid duration '-5m'"},
      {"empty duration", "version: 1\ndefaults:\n  timeout:\n", 3, 3,
       "'timeout' in 'defaults': expected a duration (e.g. 500ms, 90s, 15m, 1h30m), got nothing"},
      {"jitter above 1", "version: 1\ndefaults:\n  backoff: {jitter: 1.5}\n", 3, 21,
       "'jitter' in 'backoff' of 'defaults': expected a fraction from 0 to 1, got '1.5'"},
      {"factor below 1", "version: 1\ndefaults:\n  backoff: {factor: 0.5}\n", 3, 21,
       "expected a number from 1 to 100, got '0.5'"},
      {"backoff initial above max", "version: 1\ndefaults:\n  backoff: {initial: 5m}\n", 3, 12,
       "initial 5m is longer than max 1m"},
      {"memory without a unit", "version: 1\ndefaults:\n  memory: 512\n", 3, 11,
       "expected a memory size such as 512MiB or 2GiB"},
      {"starvation fraction 0", "version: 1\ndefaults:\n  starvation: {cpu_wait: 0}\n", 3, 26,
       "expected a fraction in (0, 1], got '0'"},
      {"starvation fraction as text", "version: 1\nsteps:\n  b: {starvation: {cpu_share: x}}\n", 3,
       31, "'cpu_share' in 'starvation' of step 'b'"},
      {"unknown outcome", "version: 1\nrules:\n  - name: a\n    when: {outcome: timout}\n", 4, 21,
       "got 'timout' (did you mean 'timeout'?)"},
      {"outcome success", "version: 1\nrules:\n  - name: a\n    when: {outcome: [red, success]}\n",
       4, 27, "'success' never reaches the rules"},
      {"unknown signal", "version: 1\nrules:\n  - name: a\n    when: {signals: [SIGKIL]}\n", 4, 22,
       "got 'SIGKIL' (did you mean 'SIGKILL'?)"},
      {"unknown short signal", "version: 1\nrules:\n  - name: a\n    when: {signals: [TREM]}\n", 4,
       22, "(did you mean 'TERM'?)"},
      {"exit code out of range",
       "version: 1\nrules:\n  - name: a\n    when: {exit_codes: [1, 256]}\n", 4, 28,
       "expected an exit code from 0 to 255, got '256'"},
      {"empty list condition", "version: 1\nrules:\n  - name: a\n    when: {exit_codes: []}\n", 4,
       24, "an empty list matches nothing"},
      {"nested list condition", "version: 1\nrules:\n  - name: a\n    when: {step: [[b]]}\n", 4, 19,
       "expected a value in the list, got a list"},
      {"starved not boolean", "version: 1\nrules:\n  - name: a\n    when: {starved: yes}\n", 4, 21,
       "expected true or false, got 'yes'"},
      {"min above max duration",
       "version: 1\nrules:\n  - name: a\n    when: {min_duration: 5m, max_duration: 1m}\n", 4, 44,
       "'max_duration' in 'when' of rule 'a': shorter than 'min_duration' 5m"},
      {"invalid RE2", "version: 1\nrules:\n  - name: a\n    when:\n      output: 'x(y'\n", 5, 15,
       "invalid RE2 pattern 'x(y': missing )"},
      {"empty pattern", "version: 1\nrules:\n  - name: a\n    when: {output: ''}\n", 4, 20,
       "an empty pattern matches any output"},
      {"unknown action", "version: 1\nrules:\n  - name: a\n    then: sytem_failure\n", 4, 11,
       "(did you mean 'system_failure'?)"},
      {"retry above 10", "version: 1\nrules:\n  - name: a\n    retry: 11\n", 4, 12,
       "'retry' in rule 'a': expected an integer from 1 to 10, got '11'"},
      {"retry 0", "version: 1\nrules:\n  - name: a\n    retry: 0\n", 4, 12,
       "expected an integer from 1 to 10"},
      {"a rule on cancelled attempts",
       "version: 1\nrules:\n  - name: a\n    when: {outcome: cancelled}\n    retry: 2\n", 4, 21,
       "'cancelled' never reaches the rules"},
      {"flaky system_failure", "version: 1\nflaky: system_failure\n", 2, 8,
       "'flaky' in the policy: expected one of pass, unstable, fail, got 'system_failure'"},
      {"fallback for success", "version: 1\nfallback: {success: pass}\n", 2, 12,
       "unknown outcome 'success' in 'fallback'"},
      {"max_attempts 0", "version: 1\nlimits: {max_attempts: 0}\n", 2, 24,
       "'max_attempts' in 'limits': expected an integer from 1 to 10, got '0'"},
      {"unsupported version", "version: 2\nwhatever: [1]\n", 1, 10,
       "unsupported policy version 2 (this jobwarden reads version 1)"},
      {"missing version", "# a comment\nflaky: pass\n", 2, 1, "missing 'version: 1'"},
      {"non-numeric version", "version: one\n", 1, 10,
       "'version' in the policy: expected 1, got 'one'"},
      {"empty file", "", 1, 1, "empty policy"},
      {"comments only", "# nothing here\n", 1, 1, "empty policy"},
      {"not a map", "- version: 1\n", 1, 1,
       "expected a map starting with 'version: 1', got a list"},
      {"two documents", "version: 1\n---\nversion: 1\n", 2, 1, "a second YAML document"},
      {"a stray comma (yaml-cpp 0.7 LoadAll loops on it)", ",\n", 1, 1,
       "YAML syntax error: unexpected text"},
      {"a stray comma after a document", "{version: 1},\n", 1, 13, "YAML syntax error"},
      {"syntax error", "version: 1\nrules: [\n", 3, 1, "YAML syntax error"},
      {"tab indentation", "version: 1\ndefaults:\n\ttimeout: 5m\n", 3, 1,
       "a tab in the indentation"},
      {"complex key", "version: 1\n? [a]\n: 1\n", 2, 3,
       "the policy: expected a key name, got a list"},
  };
  for (const auto& c : cases) check_single_error(c);
}

// The loader parses most files once and counts documents only when the text
// or the first document's shape leaves room for a second one
// (policy/yaml_document.cpp). Each case sits on one side of that line: the
// answers must be those of counting first (a file with more than one document
// or with text after the first is refused, never cut silently).
TEST_CASE("document boundaries: one document loads, text after the first document is refused and never dropped") {
  for (const char* valid : {"---\nversion: 1\n",                          // an explicit start
                            "# c\n--- # start\nversion: 1\nflaky: pass\n",  // after comments
                            "%YAML 1.2\n---\nversion: 1\n",              // a directive
                            "{version: 1}\n",                             // a flow map
                            "version: 1\nflaky: pass\n...\n"}) {          // an explicit end
    INFO(valid);
    const LoadResult r = load_policy(valid, "p.yml");
    CHECK(r.ok());
    CHECK(all_errors(r).empty());
  }
  const std::vector<ExpectedError> cases{
      {"an indented map, then a key at column 0", "  version: 1\nflaky: pass\n", 2, 1,
       "YAML syntax error: unexpected text"},
      {"a tag line, then an indented map", "!!map\n  version: 1\nflaky: pass\n", 3, 1,
       "YAML syntax error: unexpected text"},
      {"text after an explicit end", "version: 1\n...\nflaky: pass\n", 3, 1,
       "YAML syntax error: unexpected text"},
      {"a null first key, then a key at column 0", " ? \n&a version: 1\n", 2, 1,
       "YAML syntax error: unexpected text"},
      {"an empty second document", "version: 1\nflaky: pass\n--- \n", 3, 1, "a second YAML document"},
      {"a second document after a directive", "%YAML 1.2\n---\nversion: 1\n---\nflaky: pass\n", 4, 1,
       "a second YAML document"},
      {"text after a flow map", "{version: 1}\nflaky: pass\n", 2, 1, "YAML syntax error"},
  };
  for (const auto& c : cases) check_single_error(c);
}

// Hostile input: refused with one clean error, without a crash. A hang is caught
// by ctest's per-test timeout; how fast the loader refuses is not judged here
// (speed is measured in bench/, never asserted in a test).
namespace {

LoadResult load_refused(const std::string& text) {
  LoadResult r = load_policy(text, "hostile.yml");
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.errors.empty());
  return r;
}

std::string repeat(std::string_view piece, std::size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

}  // namespace

TEST_CASE("100000 nested flow brackets are refused before yaml-cpp recurses") {
  for (const char* open : {"[", "{a: "}) {
    const LoadResult r = load_refused("version: 1\nrules: " + repeat(open, 100'000));
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 2);
    CHECK(r.errors[0].message.find("nesting deeper than") != std::string::npos);
  }
}

TEST_CASE("deep block nesting, on one line or by indentation, is refused") {
  const LoadResult dashes = load_refused("version: 1\nrules:\n" + repeat("- ", 100'000) + "x\n");
  REQUIRE(dashes.errors.size() == 1);
  CHECK(dashes.errors[0].line == 3);
  std::string stairs = "version: 1\n";
  for (int i = 0; i < 1000; ++i) stairs += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
  const LoadResult r = load_refused(stairs);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("nesting deeper than") != std::string::npos);
}

// An exponential alias bomb must nest lists, and a condition's list holds
// values, never lists: the reader refuses each alias at its first level
// without expanding it, and the error cap ends the report (the node budget is
// the next test's: a wide list aliased many times).
TEST_CASE("an alias bomb is refused at its first level without being expanded, errors capped") {
  std::string bomb = "version: 1\nrules:\n  - name: seed\n    when: {exit_codes: &l0 [1";
  bomb += repeat(", 1", 9) + "]}\n";
  for (int level = 1; level <= 9; ++level) {
    bomb += "  - name: r" + std::to_string(level) + "\n    when: {exit_codes: &l" +
            std::to_string(level) + " [" + repeat("*l" + std::to_string(level - 1) + ", ", 9) +
            "*l" + std::to_string(level - 1) + "]}\n";
  }
  bomb += repeat("  - {name: x, when: {step: *l9}}\n", 3);
  const LoadResult r = load_refused(bomb);
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == k_max_policy_errors + 1);
  for (std::size_t i = 0; i < k_max_policy_errors; ++i) {
    CHECK(r.errors[i].message.find("expected a value in the list, got a list") != std::string::npos);
  }
  CHECK(r.errors.back().message.find("too many errors; stopped after 50") != std::string::npos);
}

TEST_CASE("a long list aliased by many rules hits the node budget") {
  std::string text = "version: 1\nrules:\n  - name: seed\n    when: {exit_codes: &codes [1";
  text += repeat(", 1", 20'000) + "]}\n";
  for (int i = 0; i < 99; ++i) {
    text += "  - {name: r" + std::to_string(i) + ", when: {exit_codes: *codes}}\n";
  }
  const LoadResult r = load_refused(text);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].message.find("YAML nodes to read") != std::string::npos);
}

TEST_CASE("a 2 MiB policy is refused without being parsed") {
  const LoadResult r = load_refused("version: 1\n" + repeat("# padding\n", 210'000));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].message.find("at most 1 MiB") != std::string::npos);
}

TEST_CASE("NUL bytes, control characters and invalid UTF-8 are positioned errors") {
  const LoadResult nul = load_refused(std::string("version: 1\nflaky: pa\0ss\n", 22));
  REQUIRE(nul.errors.size() == 1);
  CHECK(nul.errors[0].line == 2);
  CHECK(nul.errors[0].column == 10);
  CHECK(nul.errors[0].message.find("NUL byte") != std::string::npos);
  const LoadResult bell = load_refused("version: 1\n\x07");
  REQUIRE(bell.errors.size() == 1);
  CHECK(bell.errors[0].message.find("control character 0x07") != std::string::npos);
  const LoadResult latin1 = load_refused("version: 1\nrules:\n  - name: caf\xe9\n");
  REQUIRE(latin1.errors.size() == 1);
  CHECK(latin1.errors[0].line == 3);
  CHECK(latin1.errors[0].column == 14);
  CHECK(latin1.errors[0].message.find("invalid UTF-8 byte 0xe9") != std::string::npos);
  CHECK(find_encoding_problem("name: caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\n") == std::nullopt);
  CHECK(find_encoding_problem("\xc0\xaf") != std::nullopt);      // overlong '/'
  CHECK(find_encoding_problem("\xed\xa0\x80") != std::nullopt);  // surrogate
}

TEST_CASE("the layout guard accepts real policies, quotes, comments and block scalars") {
  const std::string text =
      "version: 1  # [[[[\nrules:\n  - name: 'a [[[[ {{{{'\n"
      "    when:\n      output: \"x\\\" [[[[[\"\n"
      "      step: |\n" +
      repeat("        - - - - - - - - - - - - - - - - - -\n", 3) + "    retry: 2\n";
  CHECK(find_layout_problem(text) == std::nullopt);
}

TEST_CASE("random bytes and token soup never crash the loader") {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(static_cast<std::size_t>(rng() % 2000), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    CHECK_FALSE(load_policy(bytes, "random.yml").ok());
  }
  const std::vector<std::string> tokens{"version: 1\n",
                                        "rules:",
                                        "\n  - ",
                                        "name: a",
                                        "when: ",
                                        "{",
                                        "}",
                                        "[",
                                        "]",
                                        ", ",
                                        ": ",
                                        "&a ",
                                        "*a ",
                                        "'",
                                        "\"",
                                        "\n",
                                        "  ",
                                        "- ",
                                        "? ",
                                        "|\n",
                                        "outcome: red",
                                        "retry: 3",
                                        "steps:",
                                        "fallback:",
                                        "# c\n",
                                        "!!str ",
                                        "---\n",
                                        "...\n",
                                        "\t",
                                        "x"};
  for (int i = 0; i < 3000; ++i) {
    std::string soup;
    const std::size_t n = rng() % 60;
    for (std::size_t j = 0; j < n; ++j) soup += tokens[rng() % tokens.size()];
    const LoadResult r = load_policy(soup, "soup.yml");
    CHECK((r.ok() || !r.errors.empty()));
  }
}
