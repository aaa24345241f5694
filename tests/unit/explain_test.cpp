#include <doctest/doctest.h>

#include "policy/explain.hpp"
#include "policy/loader.hpp"

using namespace jobwarden::policy;

namespace {
const char* k_policy = R"(version: 1
rules:
  - name: dpkg-lock
    when: {outcome: red, exit_codes: [100], output: 'Could not get lock'}
    retry: 3
    then: system_failure
  - name: starved
    when: {outcome: timeout, starved: true}
    retry: 2
  - name: any-red
    when: {outcome: red}
)";
}  // namespace

TEST_CASE("explain names the matching rule and why every other rule did not match") {
  const auto loaded = load_policy(k_policy, "p.yml");
  REQUIRE(loaded.ok());
  AttemptFacts f;
  f.outcome = Outcome::red;
  f.exit_code = 100;
  f.output_tail = "E: Could not get lock /var/lib/dpkg/lock";
  const auto rules = explain_rules(*loaded.policy, f, "build");
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].matched);
  CHECK_FALSE(rules[1].matched);
  CHECK(rules[1].mismatches == std::vector<std::string>{"outcome red not in [timeout]", "starved is false, rule wants true"});
  CHECK_FALSE(rules[2].matched);
  CHECK(rules[2].mismatches == std::vector<std::string>{"an earlier rule matched first"});
}

TEST_CASE("explain reports a missing exit code and a non-matching output") {
  const auto loaded = load_policy(k_policy, "p.yml");
  REQUIRE(loaded.ok());
  AttemptFacts f;
  f.outcome = Outcome::red;
  f.output_tail = "all fine";
  const auto rules = explain_rules(*loaded.policy, f, "build");
  CHECK(rules[0].mismatches == std::vector<std::string>{"no exit code (rule wants [100])",
                                                         "output does not match /Could not get lock/"});
  CHECK(rules[2].matched);
}

TEST_CASE("explain agrees with the engine: a cancelled attempt is not matched against the rules") {
  const auto loaded = load_policy("version: 1\nrules:\n  - name: any\n    when: {step: build}\n    retry: 2\n", "p.yml");
  REQUIRE(loaded.ok());
  AttemptFacts f;
  f.outcome = Outcome::cancelled;
  const auto rules = explain_rules(*loaded.policy, f, "build");
  REQUIRE(rules.size() == 1);
  CHECK_FALSE(rules[0].matched);
  CHECK(rules[0].mismatches == std::vector<std::string>{"the rules are not consulted for an outcome of cancelled"});
  const Decision d = decide(*loaded.policy, {}, {f});
  CHECK_FALSE(d.retry);
  CHECK(d.rule.empty());
}
