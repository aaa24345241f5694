// Starvation as deprivation, physically: real hogs, each in a session of its
// own (with CONFIG_SCHED_AUTOGROUP the scheduler shares the CPU between
// sessions first), real trees that wait behind themselves. These tests need
// a CPU nobody else uses: ctest runs them alone (RUN_SERIAL, tests/CMakeLists.txt).
// Budgets are generous; every hog is killed by its ChildProcess, whatever happens.
#include <doctest/doctest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();
const std::string k_helper = tree_helper();

// jobwarden run --timeout T --report R -- command
json run_timed_out(const std::string& timeout, const std::vector<std::string>& command, std::string& log) {
  TempDir dir;
  std::vector<std::string> argv{k_jw, "run", "--ci", "generic", "--timeout", timeout, "--grace", "1s",
                                "--report", dir.file("r.json"), "--"};
  argv.insert(argv.end(), command.begin(), command.end());
  const auto r = run_child(argv, {"JOBWARDEN_RETRY=0"}, milliseconds(120'000));
  log = r.err;
  REQUIRE_FALSE(r.hung);
  CHECK((r.exit_code == 124 || r.exit_code == 75));  // a timeout: fail, or starved: system_failure
  return json::parse(read_file(dir.file("r.json")))["attempts"][0];
}

// `n` busy loops, each in a session of its own, on every CPU.
struct Hogs {
  explicit Hogs(int n) {
    for (int i = 0; i < n; ++i) {
      hogs.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{k_helper, "spin"},
                                                    std::vector<std::string>{}, "", true));
      REQUIRE(hogs.back()->wait_for_output("ready", milliseconds(30'000)));
    }
  }
  std::vector<std::unique_ptr<ChildProcess>> hogs;  // each SIGKILLed with its group by its destructor
};

// The quiet-host cases can only be judged when the host was quiet: on a
// host others load (a shared development machine), the step really was
// deprived, and saying so is right. CI runs these alone on a quiet host.
bool host_was_quiet(const json& attempt) {
  const auto& others = attempt["others_cpus_while_waiting"];
  if (others.is_null() || others.get<double>() < 0.5) return true;
  MESSAGE("not judged: the host was not quiet (others used " << others.get<double>()
                                                              << " CPUs while the step waited)");
  return false;
}

}  // namespace

TEST_CASE("deprivation: a burst of 300 sleeping children on a quiet host is not starved") {
  std::string log;
  const json a = run_timed_out("2s", {"bash", "-c", "for i in $(seq 300); do sleep 600 & done; wait"}, log);
  CAPTURE(log);
  REQUIRE_FALSE(a["lost_cpu_seconds"].is_null());
  CHECK(contains(log, "timeline ("));
  if (host_was_quiet(a)) CHECK(a["starved"] == false);
}

TEST_CASE("deprivation: a fork storm on a quiet host waits behind itself: a timeout, not starved") {
  // Four loops, each forking short-lived children until the deadline: the
  // step's own tasks queue behind each other (summed run-queue waits of
  // several times the wall), and nobody else wants the CPUs.
  std::string log;
  const json a = run_timed_out(
      "3s", {"bash", "-c", "for i in 1 2 3 4; do (while :; do /bin/true; done) & done; wait"}, log);
  CAPTURE(log);
  CHECK(a["outcome"] == "timeout");
  REQUIRE_FALSE(a["lost_cpu_seconds"].is_null());
  CHECK(a["cpu_wait_seconds"].get<double>() > 0.0);  // it did wait for a CPU, behind itself
  CHECK(a["processes_killed"].size() >= 5);           // the loops and whatever they had forked
  if (!host_was_quiet(a)) return;
  CHECK(a["starved"] == false);
  CHECK(a["cpu_share"].get<double>() >= 0.5);
  CHECK(contains(log, ": timeout ("));
}

TEST_CASE("deprivation: four spinners on the host's CPUs wait behind each other and are not starved") {
  std::string log;
  const json a = run_timed_out("2s", {"bash", "-c", "for i in 1 2 3 4; do \"$0\" spin & done; wait", k_helper}, log);
  CAPTURE(log);
  if (!host_was_quiet(a)) return;
  CHECK(a["starved"] == false);
  CHECK(a["cpu_share"].get<double>() >= 0.5);
}

TEST_CASE("deprivation: a CPU-bound step of two processes beside six hogs is starved, and the log says who had the CPUs") {
  Hogs hogs(6);
  std::string log;
  const json a = run_timed_out("3s", {"bash", "-c", "\"$0\" spin & \"$0\" spin & wait", k_helper}, log);
  CAPTURE(log);
  CHECK(a["starved"] == true);
  CHECK(a["lost_cpu_seconds"].get<double>() >= 0.25 * 3.0);
  CHECK(contains(log, "; starved: lost "));
  CHECK(contains(log, "CPUs while the step waited"));
  CHECK(a["windows"]["seconds"].size() >= 5);
}

TEST_CASE("deprivation: sleep beside six hogs is not starved") {
  Hogs hogs(6);
  std::string log;
  const json a = run_timed_out("2s", {k_helper, "sleep"}, log);
  CAPTURE(log);
  CHECK(a["starved"] == false);
}
