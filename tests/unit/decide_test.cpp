#include <doctest/doctest.h>

#include "policy/decide.hpp"

using namespace jobwarden::policy;

namespace {

AttemptFacts fact(Outcome o, std::optional<int> code = std::nullopt, bool starved = false) {
  AttemptFacts f;
  f.outcome = o;
  f.exit_code = code;
  f.starved = starved;
  return f;
}

Policy lock_policy() {
  Policy p = embedded_default_policy();
  Rule lock;
  lock.name = "dpkg-lock";
  lock.when.outcomes = {Outcome::red};
  lock.when.exit_codes = {100};
  lock.when.output = OutputPattern::compile("Could not get lock").value();
  lock.retry = 3;
  lock.then = Action::system_failure;
  p.rules.insert(p.rules.begin(), lock);
  return p;
}

}  // namespace

TEST_CASE("decisions of the embedded default policy, table-driven") {
  const Policy p = embedded_default_policy();
  struct Row {
    const char* name;
    std::vector<AttemptFacts> history;
    bool retry;
    Action action;
  };
  const std::vector<Row> rows = {
      {"first success passes", {fact(Outcome::success, 0)}, false, Action::pass},
      {"red fails", {fact(Outcome::red, 1)}, false, Action::fail},
      {"plain timeout fails", {fact(Outcome::timeout)}, false, Action::fail},
      {"starved timeout retries", {fact(Outcome::timeout, {}, true)}, true, Action::pass},
      {"second starved timeout is a system failure",
       {fact(Outcome::timeout, {}, true), fact(Outcome::timeout, {}, true)}, false,
       Action::system_failure},
      {"oom is a system failure", {fact(Outcome::oom)}, false, Action::system_failure},
      {"signal fails", {fact(Outcome::signal)}, false, Action::fail},
      {"error fails", {fact(Outcome::error)}, false, Action::fail},
      {"cancelled fails", {fact(Outcome::cancelled)}, false, Action::fail},
      {"success after retry is flaky pass", {fact(Outcome::timeout, {}, true), fact(Outcome::success, 0)},
       false, Action::pass},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    auto history = row.history;
    for (std::size_t i = 0; i + 1 < history.size(); ++i) {
      DecisionContext ctx;
      std::vector<AttemptFacts> prefix(history.begin(), history.begin() + static_cast<long>(i) + 1);
      history[i].matched_rule = decide(p, ctx, prefix).rule;
    }
    const Decision d = decide(p, DecisionContext{}, history);
    CHECK(d.retry == row.retry);
    if (!row.retry) CHECK(d.action == row.action);
  }
}

TEST_CASE("a rule's retry counts the attempts that matched it, then its then action applies") {
  const Policy p = lock_policy();
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "E: Could not get lock /var/lib/dpkg/lock-frontend";
  std::vector<AttemptFacts> history;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    history.push_back(locked);
    const Decision d = decide(p, DecisionContext{}, history);
    CHECK(d.rule == "dpkg-lock");
    history.back().matched_rule = d.rule;
    CHECK(d.retry == (attempt < 3));
    if (attempt == 3) CHECK(d.action == Action::system_failure);
  }
}

TEST_CASE("all conditions of a rule must hold: the output pattern too") {
  const Policy p = lock_policy();
  AttemptFacts other = fact(Outcome::red, 100);
  other.output_tail = "E: Unable to locate package foo";
  const Decision d = decide(p, DecisionContext{}, {other});
  CHECK_FALSE(d.retry);
  CHECK(d.rule.empty());
  CHECK(d.action == Action::fail);
}

TEST_CASE("the attempt cap and the retry-time budget bound every policy") {
  Policy p = lock_policy();
  p.rules[0].retry = 10;
  p.limits.max_attempts = 2;
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "Could not get lock";
  locked.matched_rule = "dpkg-lock";
  Decision d = decide(p, DecisionContext{}, {locked, locked});
  CHECK_FALSE(d.retry);
  CHECK(d.reason.find("attempt cap 2 reached") != std::string::npos);

  p.limits.max_attempts = 10;
  DecisionContext ctx;
  ctx.retry_time_spent = p.limits.max_retry_time - Duration{1000};  // less than the 5 s backoff left
  d = decide(p, ctx, {locked});
  CHECK_FALSE(d.retry);
  CHECK(d.reason.find("retry time budget 30m would be exceeded") != std::string::npos);
}

TEST_CASE("a cancelled attempt skips the rules: never retried, never passed by a rule") {
  Policy p = embedded_default_policy();
  Rule any;
  any.name = "retry-everything";
  any.retry = 3;
  any.then = Action::pass;
  p.rules = {any};
  const Decision d = decide(p, DecisionContext{}, {fact(Outcome::cancelled)});
  CHECK_FALSE(d.retry);
  CHECK(d.action == Action::fail);
  CHECK(d.rule.empty());
  CHECK(d.reason.find("fallback for cancelled") != std::string::npos);
}

TEST_CASE("a rule's attempts count only while it keeps matching") {
  Policy p = lock_policy();
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "Could not get lock";
  locked.matched_rule = "dpkg-lock";
  AttemptFacts other = fact(Outcome::timeout, {}, true);
  other.matched_rule = "starved-timeout";
  // lock, lock, starved, lock: the run ending now is 1 long, so 2 more attempts remain.
  const Decision d = decide(p, DecisionContext{}, {locked, locked, other, locked});
  CHECK(d.retry);
  CHECK(d.reason.find("matched 1/3") != std::string::npos);
}

TEST_CASE("backoff grows by the factor, is capped, and jitter scales it") {
  Backoff b;
  b.initial = Duration{1000};
  b.factor = 2;
  b.max = Duration{5000};
  b.jitter = 0.2;
  CHECK(backoff_for(b, 0, 0.0) == Duration{1000});
  CHECK(backoff_for(b, 1, 0.0) == Duration{2000});
  CHECK(backoff_for(b, 2, 0.0) == Duration{4000});
  CHECK(backoff_for(b, 3, 0.0) == Duration{5000});
  CHECK(backoff_for(b, 0, 1.0) == Duration{1200});
  CHECK(backoff_for(b, 0, -1.0) == Duration{800});
  CHECK(backoff_for(b, 0, 7.0) == Duration{1200});  // samples are clamped to [-1, 1]
}

TEST_CASE("the jitter sample is asked for only when a rule would retry, and scales that backoff") {
  Policy p = lock_policy();
  p.defaults.backoff.initial = Duration{1000};
  p.defaults.backoff.jitter = 0.5;
  int asked = 0;
  DecisionContext ctx;
  ctx.jitter_sample = [&asked] {
    ++asked;
    return 1.0;
  };
  CHECK_FALSE(decide(p, ctx, {fact(Outcome::success, 0)}).retry);
  CHECK_FALSE(decide(p, ctx, {fact(Outcome::red, 1)}).retry);  // the fallback, no rule
  CHECK(asked == 0);
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "Could not get lock";
  const Decision d = decide(p, ctx, {locked});
  CHECK(d.retry);
  CHECK(asked == 1);
  CHECK(d.backoff == Duration{1500});
}

TEST_CASE("a retry rule that runs out of attempts, cap or budget is exhausted, switched-off retries are not") {
  Policy p = lock_policy();
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "Could not get lock";
  locked.matched_rule = "dpkg-lock";
  CHECK_FALSE(decide(p, DecisionContext{}, {locked}).exhausted);           // a retry is granted
  CHECK(decide(p, DecisionContext{}, {locked, locked, locked}).exhausted);  // 3/3 attempts
  p.limits.max_attempts = 2;
  CHECK(decide(p, DecisionContext{}, {locked, locked}).exhausted);  // the attempt cap
  DecisionContext off;
  off.retries_enabled = false;
  CHECK_FALSE(decide(p, off, {locked}).exhausted);  // nothing was tried
  CHECK_FALSE(decide(p, DecisionContext{}, {fact(Outcome::red, 1)}).exhausted);  // a fallback
}

TEST_CASE("a retry decision carries what applies should the retry not happen") {
  Policy p = lock_policy();
  p.defaults.fallback[Outcome::cancelled] = Action::unstable;
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "E: Could not get lock /var/lib/dpkg/lock";
  const Decision d = decide(p, {}, {locked});
  REQUIRE(d.retry);
  CHECK(d.if_cancelled == Action::unstable);        // the fallback for cancelled, if the backoff is cut short
}

TEST_CASE("the job's limits come after the rules: a cancel, the job's deadline, starvation before it") {
  Policy p = lock_policy();
  AttemptFacts locked = fact(Outcome::red, 100);
  locked.output_tail = "E: Could not get lock /var/lib/dpkg/lock";
  locked.duration = Duration{20'000};
  REQUIRE(decide(p, {}, {locked}).retry);

  AttemptFacts cancelled_while_ending = locked;
  cancelled_while_ending.cancel_arrived = true;
  const Decision c = decide(p, {}, {cancelled_while_ending});
  CHECK_FALSE(c.retry);
  CHECK(c.action == Action::fail);
  CHECK(c.reason == "cancelled while cleaning up: no further attempt");

  DecisionContext near;
  near.time_to_job_deadline = Duration{20'500};  // after the backoff, less than the 20 s it needs
  const Decision n = decide(p, near, {locked});
  CHECK_FALSE(n.retry);
  CHECK(n.action == Action::system_failure);  // the rule's then
  CHECK(n.exhausted);
  CHECK(n.reason.find("rule 'dpkg-lock': no time left for attempt 2 (needs about 20.00s, ") == 0);
  DecisionContext far;
  far.time_to_job_deadline = Duration{60'000};
  CHECK(decide(p, far, {locked}).retry);

  AttemptFacts starved = locked;
  starved.starved_before_job_deadline = true;
  for (const AttemptFacts& f : {starved, [&] {
         AttemptFacts unmatched = starved;
         unmatched.exit_code = 1;  // no rule: the fallback would fail it
         return unmatched;
       }()}) {
    const Decision s = decide(p, far, {f});
    CHECK_FALSE(s.retry);
    CHECK(s.action == Action::system_failure);
    CHECK(s.reason.find("starved a grace before the job's deadline") == 0);
  }
}
