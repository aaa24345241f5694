// The embedded default policy is defined once, as commented YAML: it loads
// cleanly and decides as README.md ("The policy") promises. The shipped examples load.

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "policy/decide.hpp"
#include "policy/loader.hpp"

using namespace jobwarden::policy;
using namespace std::chrono_literals;

namespace {

AttemptFacts attempt(Outcome outcome, bool starved = false) {
  AttemptFacts f;
  f.outcome = outcome;
  f.starved = starved;
  f.duration = 30min;
  if (outcome == Outcome::red) f.exit_code = 1;
  if (outcome == Outcome::signal) f.signal = 11;
  return f;
}

// Runs attempts of `outcome` until the engine stops retrying; returns the
// final decision and the number of attempts made.
std::pair<Decision, int> run_until_final(const Policy& p, Outcome outcome, bool starved) {
  std::vector<AttemptFacts> history;
  DecisionContext ctx;
  for (int i = 0; i < 20; ++i) {
    history.push_back(attempt(outcome, starved));
    const Decision d = decide(p, ctx, history);
    history.back().matched_rule = d.rule;
    if (!d.retry) return {d, static_cast<int>(history.size())};
  }
  FAIL("the engine never stopped retrying");
  return {};
}

Policy load_example(const std::string& name) {
  const LoadResult r = load_policy_file(std::string(JOBWARDEN_SOURCE_DIR) + "/examples/" + name);
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  INFO(errors);
  REQUIRE(r.ok());
  return *r.policy;
}

}  // namespace

TEST_CASE("the embedded default YAML loads without errors") {
  const LoadResult r = load_policy(embedded_default_policy_yaml(), "embedded default");
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  INFO(errors);
  REQUIRE(r.ok());
  CHECK(r.policy->source == "embedded default");
}

// The run's default policy is built by generated code (loader.hpp): it must
// be the policy the YAML says, field for field (the model's operator== is
// defaulted, so a field added later is compared too).
TEST_CASE("the prebuilt default policy is the embedded YAML's policy") {
  const LoadResult loaded = load_embedded_default_policy();
  REQUIRE(loaded.ok());
  const Policy prebuilt = prebuilt_default_policy();
  CHECK(prebuilt.source == "embedded default");
  CHECK(prebuilt == *loaded.policy);
  CHECK(prebuilt.rules.size() == loaded.policy->rules.size());
  CHECK(prebuilt.defaults.fallback == loaded.policy->defaults.fallback);
  // The comparison can fail: one field changed is noticed.
  Policy changed = prebuilt;
  changed.defaults.backoff.jitter += 0.01;
  CHECK_FALSE(changed == *loaded.policy);
}

TEST_CASE("embedded_default_policy() is the embedded YAML, loaded") {
  const Policy p = embedded_default_policy();
  CHECK(p.source == "embedded default");
  REQUIRE(p.rules.size() == 1);
  CHECK(p.rules[0].name == "starved-timeout");
  CHECK(p.rules[0].when.outcomes == std::vector{Outcome::timeout});
  CHECK(p.rules[0].when.starved == true);
  CHECK(p.rules[0].retry == 2);
  CHECK(p.rules[0].then == Action::system_failure);
  CHECK(p.defaults.fallback == builtin_fallback());
  CHECK(p.defaults.timeout == 30min);
  CHECK(p.defaults.grace == 10s);
  CHECK(p.flaky == Action::pass);
  CHECK(p.steps.empty());
}

namespace {

// The YAML's lines split at '#': what the loader reads, and what a reader is told.
struct YamlParts {
  std::string code;
  std::string comments;
};

YamlParts split_comments(std::string_view text) {
  YamlParts parts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    const std::size_t hash = line.find('#');
    parts.code += std::string(line.substr(0, hash)) + "\n";
    if (hash != std::string_view::npos) parts.comments += std::string(line.substr(hash)) + "\n";
    start = end + 1;
  }
  return parts;
}

}  // namespace

TEST_CASE("the embedded default YAML sets every key outside its comments") {
  const YamlParts parts = split_comments(embedded_default_policy_yaml());
  for (const char* key : {"version", "defaults", "timeout", "grace", "backoff", "initial", "factor", "max",
                          "jitter", "starvation", "cpu_wait", "cpu_share", "rules", "name", "when", "retry",
                          "then", "outcome", "starved", "fallback", "flaky", "limits", "max_attempts",
                          "max_retry_time"}) {
    CAPTURE(key);
    // A YAML key: at a line's start (after indentation or "- "), or inside a flow map.
    const std::regex as_key("(^|\\n)[ -]*" + std::string(key) + ":|[{,] *" + std::string(key) + ":");
    CHECK(std::regex_search(parts.code, as_key));
  }
}

TEST_CASE("the embedded default YAML's comments offer every condition and the per-step overrides") {
  const YamlParts parts = split_comments(embedded_default_policy_yaml());
  // The conditions a rule's `when` may hold are listed in the comment above `rules:`.
  const std::size_t from = parts.comments.find("when keys:");
  const std::size_t to = parts.comments.find("retry: N", from);
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  const std::string when_keys = parts.comments.substr(from, to - from);
  for (const char* key :
       {"outcome", "exit_codes", "signals", "output", "step", "starved", "min_duration", "max_duration"}) {
    CAPTURE(key);
    CHECK(std::regex_search(when_keys, std::regex("\\b" + std::string(key) + "\\b")));
  }
  // `steps:` is shown commented out, ready to copy.
  CHECK(std::regex_search(parts.comments, std::regex("(^|\\n)# steps:")));
}

TEST_CASE("the comment splitter of these tests tells code from comments") {
  const YamlParts parts = split_comments("a: 1 # b: 2\n# c: 3\nd: 4");
  CHECK(parts.code == "a: 1 \n\nd: 4\n");
  CHECK(parts.comments == "# b: 2\n# c: 3\n");
}

TEST_CASE("default policy: red fails at once") {
  const auto [d, attempts] = run_until_final(embedded_default_policy(), Outcome::red, false);
  CHECK(d.action == Action::fail);
  CHECK(attempts == 1);
}

TEST_CASE("default policy: a starved timeout retries once, then is a system failure") {
  const auto [d, attempts] = run_until_final(embedded_default_policy(), Outcome::timeout, true);
  CHECK(d.action == Action::system_failure);
  CHECK(d.rule == "starved-timeout");
  CHECK(attempts == 2);
}

TEST_CASE("default policy: a timeout that was not starved fails at once") {
  const auto [d, attempts] = run_until_final(embedded_default_policy(), Outcome::timeout, false);
  CHECK(d.action == Action::fail);
  CHECK(attempts == 1);
}

TEST_CASE("default policy: oom is a system failure, and cancelled, signal and error fail") {
  const Policy p = embedded_default_policy();
  CHECK(run_until_final(p, Outcome::oom, false).first.action == Action::system_failure);
  CHECK(run_until_final(p, Outcome::cancelled, false).first.action == Action::fail);
  CHECK(run_until_final(p, Outcome::cancelled, true).second == 1);
  CHECK(run_until_final(p, Outcome::signal, false).first.action == Action::fail);
  CHECK(run_until_final(p, Outcome::error, false).first.action == Action::fail);
}

TEST_CASE("example: flaky lock tests retry lock contention and report flakes as unstable") {
  const Policy p = load_example("flaky-lock-tests.jobwarden.yml");
  AttemptFacts locked = attempt(Outcome::red);
  locked.output_tail = "sqlite3.OperationalError: database is locked";
  const Decision first = decide(p, {}, {locked});
  CHECK(first.retry);
  CHECK(first.rule == "lock-contention");
  CHECK(decide(p, {}, {attempt(Outcome::red)}).action == Action::fail);
  CHECK(decide(p, {}, {locked, attempt(Outcome::success)}).action == Action::unstable);
  CHECK(p.settings_for("after_script").fallback.at(Outcome::red) == Action::pass);
}

TEST_CASE("example: an infra-heavy build hands infrastructure failures back to the CI") {
  const Policy p = load_example("infra-heavy-build.jobwarden.yml");
  CHECK(p.settings_for("build_script").timeout == 3h);
  CHECK(p.defaults.fallback.at(Outcome::error) == Action::system_failure);
  AttemptFacts network = attempt(Outcome::red);
  network.output_tail = "curl: (56) Connection reset by peer";
  const auto [d, attempts] = [&] {
    std::vector<AttemptFacts> history{network};
    Decision last = decide(p, {}, history);
    while (last.retry) {
      history.back().matched_rule = last.rule;
      history.push_back(network);
      last = decide(p, {}, history);
    }
    return std::pair{last, history.size()};
  }();
  CHECK(d.action == Action::system_failure);
  CHECK(attempts == 3);
}

TEST_CASE("example: never-retry makes every verdict final") {
  const Policy p = load_example("never-retry.jobwarden.yml");
  CHECK(p.rules.empty());
  CHECK(p.max_attempts() == 1);
  CHECK(run_until_final(p, Outcome::timeout, true).second == 1);
  CHECK(run_until_final(p, Outcome::oom, false).first.action == Action::system_failure);
}
