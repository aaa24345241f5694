// Real process trees under the real runner. Every test proves, through
// /proc, that nothing it started survives: killed means dead, not signalled.
#include <doctest/doctest.h>

#include "tests/platform/real_attempt.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using policy::Outcome;

namespace {

const std::string k_helper = tree_helper();
constexpr long k_long = 60'000;  // a deadline that only a hang would reach

void require_all_dead(const RealAttempt& r, std::size_t expected_members) {
  const auto pids = ready_pids(r.output);
  CAPTURE(r.output);
  CAPTURE(r.log);
  REQUIRE(r.output.find("all-ready") != std::string::npos);  // the tree was complete
  CHECK(pids.size() == expected_members);
  CHECK(surviving(pids).empty());
  CHECK(r.rec.survivors.empty());
}

}  // namespace

TEST_CASE("kills a grandchild on timeout and proves it dead") {
  const auto r = run_real({k_helper, "grandchild"}, {quick_settings(2000, 5000)});
  CHECK(r.rec.outcome == Outcome::timeout);
  CHECK(r.rec.step_exit_code == 124);
  CHECK(r.rec.signalled.size() == 3);
  require_all_dead(r, 2);
}

TEST_CASE("kills setsid'd and double-forked descendants, naming them as escapees") {
  for (const char* scenario : {"setsid", "double-fork"}) {
    CAPTURE(scenario);
    RealOptions o{quick_settings(k_long, 5000)};
    o.signal_when_ready = SIGTERM;
    const auto r = run_real({k_helper, scenario}, o);
    CHECK(r.rec.outcome == Outcome::cancelled);
    require_all_dead(r, 1);
    REQUIRE(r.rec.escapees.size() == 1);
    CHECK(r.rec.escapees[0].pid == ready_pids(r.output)[0]);
    CHECK(r.rec.escapees[0].command.find("jw-tree-helper") != std::string::npos);
  }
}

TEST_CASE("a SIGTERM-ignoring tree is SIGKILLed after the grace period") {
  RealOptions o{quick_settings(k_long, 300)};
  o.signal_when_ready = SIGTERM;
  const auto r = run_real({k_helper, "--ignore-term", "grandchild"}, o);
  CHECK(r.rec.outcome == Outcome::cancelled);
  REQUIRE(r.rec.signals.size() >= 2);
  CHECK(r.rec.signals[0].signal == "SIGTERM");
  CHECK(r.rec.signals[1].signal == "SIGKILL");
  CHECK(r.rec.signals[1].targets.size() == 3);
  CHECK(r.rec.signals[1].at_seconds - r.rec.signals[0].at_seconds >= 0.3);
  require_all_dead(r, 2);
}

TEST_CASE("a stopped grandchild is killed too") {
  RealOptions o{quick_settings(k_long, 300)};
  o.signal_when_ready = SIGTERM;
  const auto r = run_real({k_helper, "--ignore-term", "stopped"}, o);
  require_all_dead(r, 2);
  // The SIGTERM names it stopped (it was when the helper said all-ready);
  // with a cgroup the SIGKILL names members as the SIGTERM saw them.
  CHECK(r.log.find("(stopped)") != std::string::npos);
}

TEST_CASE("a background holder of stdout does not hang a successful step and is killed") {
  const auto r = run_real({k_helper, "holder"}, {quick_settings(k_long, 5000)});
  CHECK(r.rec.outcome == Outcome::success);
  CHECK(r.rec.run_seconds < 30.0);  // hang detection only: the step ended when its main process did
  REQUIRE(r.rec.signals.size() == 1);
  CHECK(r.rec.signals[0].reason.find("main process ended") != std::string::npos);
  require_all_dead(r, 1);
}

TEST_CASE("exit codes pass through and signal deaths become 128+N") {
  auto r = run_real({k_helper, "exit", "42"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.outcome == Outcome::red);
  CHECK(r.rec.step_exit_code == 42);
  r = run_real({k_helper, "signal", "11"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.outcome == Outcome::signal);
  CHECK(r.rec.step_exit_code == 139);
  CHECK(r.rec.ending.term_signal == 11);
}

TEST_CASE("binary output is relayed byte for byte, without a trailing newline") {
  const auto r = run_real({k_helper, "binary", "3000000"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.outcome == Outcome::success);
  REQUIRE(r.output.size() == 3'000'000);
  unsigned int x = 12345;  // the helper's generator
  bool same = true;
  for (std::size_t i = 0; i < r.output.size() && same; ++i) {
    x = x * 1103515245u + 12345u;
    same = r.output[i] == static_cast<char>(x >> 16);
  }
  CHECK(same);
  CHECK(r.rec.usage.output_bytes == 3'000'000);
  CHECK(r.rec.usage.output_tail.size() == 64 * 1024);
  CHECK(r.rec.usage.output_tail == r.output.substr(r.output.size() - 64 * 1024));
}

TEST_CASE("a command that is not found is 127 and one that is not executable is 126") {
  auto r = run_real({"/nonexistent/jobwarden-no-such-tool"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.outcome == Outcome::error);
  CHECK(r.rec.step_exit_code == 127);
  r = run_real({"jobwarden-no-such-tool-on-path"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.step_exit_code == 127);
  CHECK(r.rec.start.error.find("not found on PATH") != std::string::npos);
  r = run_real({"/etc/hostname"}, {quick_settings(k_long, 1000)});
  CHECK(r.rec.outcome == Outcome::error);
  CHECK(r.rec.step_exit_code == 126);
}

TEST_CASE("the tree kill-switch signals only the main process and reports what is left") {
  RealOptions o{quick_settings(k_long, 1000)};
  o.tree_kill = false;
  const auto r = run_real({k_helper, "--main-exits", "0", "grandchild"}, o);
  const auto pids = ready_pids(r.output);
  CHECK(r.rec.outcome == Outcome::success);
  CHECK(r.rec.signals.empty());
  CHECK(r.rec.survivors.size() == 2);
  CHECK(surviving(pids).size() == 2);
  for (int pid : pids) kill(pid, SIGKILL);  // clean up after the deliberately leaky mode
}

TEST_CASE("a CPU-bound step has its CPU time, CPU wait and usable CPUs measured") {
  const auto r = run_real({k_helper, "spin"}, {quick_settings(1500, 1000)});
  CHECK(r.rec.outcome == Outcome::timeout);
  CHECK(r.rec.usage.cpu_seconds > 0.1);
  REQUIRE(r.rec.usage.cpu_wait_seconds.has_value());
  REQUIRE(r.rec.usage.usable_cpus.has_value());
  CHECK(*r.rec.usage.usable_cpus > 0.0);  // cpu.max may allow a fraction of one CPU
  CHECK(*r.rec.usage.usable_cpus <= affinity_cpus());
  CHECK(r.rec.usage.peak_rss_kib > 0);
  CHECK(r.rec.starvation.measured);
}
