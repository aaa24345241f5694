// Killing what a cgroup leaf holds, on this host's real hierarchy (as root):
// the fallback for kernels without cgroup.kill (freeze, SIGKILL each
// member, thaw) forced through the plan's cgroup_kill, a step that joins
// its leaf between fork and exec (kernels without clone3 CLONE_INTO_CGROUP),
// how a large tree is named cheaply, and the OOM evidence of a cgroup v2
// memory controller read from a fake cgroup directory (this hybrid host's
// v2 hierarchy has no controllers, so the real one cannot be exercised here).
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/spawn.hpp"
#include "tests/platform/real_attempt.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_helper = tree_helper();

std::string first_line(const std::string& path) {
  const std::string text = read_file(path);
  return text.substr(0, text.find('\n'));
}

// The step `argv` started by spawn_step in `leaf` the way kernels without
// clone3(CLONE_INTO_CGROUP) do it: a plain fork, and the child writes "0"
// to the leaf's cgroup.procs before exec (no directory fd given).
platform::SpawnOutcome spawn_joining(const platform::CgroupLeaf& leaf, const std::vector<std::string>& argv) {
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(devnull >= 0);
  platform::SpawnOptions o;
  o.argv = argv;
  o.stdout_fd = devnull;
  o.stderr_fd = devnull;
  o.cgroups = {-1, leaf.procs_fd(), -1};
  const auto outcome = platform::spawn_step(o);
  close(devnull);
  return outcome;
}

}  // namespace

TEST_CASE("without cgroup.kill a forking tree is frozen, SIGKILLed member by member and thawed, and its main joined the leaf before exec") {
  REQUIRE_CGROUP(parent);
  platform::CgroupPlan plan;
  plan.v2_parent = parent;
  plan.cgroup_kill = false;  // as on kernels before 5.14
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-freeze-" + std::to_string(getpid()), std::nullopt);
  REQUIRE(leaf.ok());
  // Four loops that keep forking short-lived children, beside sleeping members.
  const auto step = spawn_joining(*leaf, {"/bin/sh", "-c",
                                          "for i in 1 2 3 4; do (while :; do /bin/true; done) & done; "
                                          "sleep 600 & setsid sleep 600 & wait"});
  REQUIRE(step.started);
  CHECK_FALSE(step.born_in_cgroup);
  CHECK(read_file("/proc/" + std::to_string(step.pid) + "/cgroup").find(leaf->path().substr(parent.size())) !=
        std::string::npos);
  REQUIRE(eventually([&] { return leaf->pids().size() >= 7; }, milliseconds(30'000)));

  // Sweeps as the supervisor makes them (every 50 ms), until the leaf is empty.
  int sweeps = 0;
  const bool emptied = eventually(
      [&] {
        ++sweeps;
        leaf->kill();
        return !leaf->populated();
      },
      milliseconds(30'000));
  platform::reap_child(step.pid);
  CHECK(emptied);
  CHECK(first_line(leaf->path() + "/cgroup.freeze") == "0");  // thawed again
  MESSAGE("sweeps until empty: " << sweeps);
  CHECK(leaf->remove());
}

TEST_CASE("with cgroup.kill a member that joined between fork and exec is killed with the rest") {
  REQUIRE_CGROUP(parent);
  platform::CgroupPlan plan;
  plan.v2_parent = parent;
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-kill-" + std::to_string(getpid()), std::nullopt);
  REQUIRE(leaf.ok());
  const auto step = spawn_joining(*leaf, {k_helper, "double-fork"});
  REQUIRE(step.started);
  REQUIRE(eventually([&] { return leaf->pids().size() >= 2; }, milliseconds(30'000)));
  leaf->kill();
  CHECK(eventually([&] { return !leaf->populated(); }, milliseconds(30'000)));
  platform::reap_child(step.pid);
  CHECK(leaf->remove());
}

TEST_CASE("a large tree is counted whole and named cheaply: 25 of the step's process group and 25 escapees") {
  REQUIRE_CGROUP(parent);
  RealOptions o{quick_settings(60'000, 10'000)};
  o.signal_when_ready = SIGTERM;
  const auto r = run_real({k_helper, "wide", "120"}, o);  // every 4th member in a session of its own
  CAPTURE(r.log);
  REQUIRE(r.output.find("all-ready 120") != std::string::npos);
  REQUIRE(r.rec.signals.size() == 1);
  CHECK(r.rec.signals[0].targets.size() == 121);
  CHECK(r.rec.signalled.size() == 121);
  CHECK(r.rec.escapees.size() == 30);
  std::size_t named_in_group = 0, named_escapees = 0;
  for (const auto& p : r.rec.signalled) {
    CHECK(p.pgid != 0);
    CHECK(p.sid != 0);
    if (p.command.empty()) continue;
    CHECK(p.command.find("jw-tree-helper") != std::string::npos);
    ++(p.pgid == r.rec.start.pid ? named_in_group : named_escapees);
  }
  CHECK(named_in_group == 25);
  CHECK(named_escapees == 25);
  CHECK(r.log.find("SIGTERM to 121 processes: ") != std::string::npos);
  CHECK(r.log.find(", and 96 more") != std::string::npos);
  CHECK(surviving(ready_pids(r.output)).empty());
}

TEST_CASE("OOM evidence from a fake cgroup tree: v2 memory.events oom_kill, else v1 memory.oom_control") {
  TempDir dir;
  const std::string v2 = dir.file("leaf"), v1 = dir.file("v1-memory-leaf");
  REQUIRE(mkdir(v2.c_str(), 0755) == 0);
  REQUIRE(mkdir(v1.c_str(), 0755) == 0);
  // Neither controller: no evidence at all (not "0 kills").
  CHECK_FALSE(platform::read_oom_kills(v2, "").has_value());
  CHECK_FALSE(platform::read_peak_memory(v2, "").has_value());

  // The v2 memory controller, before and after the kernel's OOM killer acted
  // in the leaf (memory.events as Linux 6.x writes it; oom_group_kill and
  // oom must not be taken for oom_kill).
  dir.write("leaf/memory.events", "low 0\nhigh 0\nmax 17\noom 1\noom_kill 0\noom_group_kill 0\n");
  dir.write("leaf/memory.peak", "67108864\n");
  CHECK(platform::read_oom_kills(v2, v1) == 0ULL);
  CHECK(platform::read_peak_memory(v2, v1) == 67108864ULL);
  dir.write("leaf/memory.events", "low 0\nhigh 0\nmax 42\noom 2\noom_kill 2\noom_group_kill 1\n");
  CHECK(platform::read_oom_kills(v2, v1) == 2ULL);

  // Hybrid: no memory.events in the v2 leaf, the v1 memory cgroup counts.
  const std::string hybrid_v2 = dir.file("hybrid-leaf");
  REQUIRE(mkdir(hybrid_v2.c_str(), 0755) == 0);
  dir.write("v1-memory-leaf/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  dir.write("v1-memory-leaf/memory.max_usage_in_bytes", "1048576\n");
  CHECK(platform::read_oom_kills(hybrid_v2, v1) == 3ULL);
  CHECK(platform::read_peak_memory(hybrid_v2, v1) == 1048576ULL);
}

TEST_CASE("pressure files: the 'some' total in microseconds") {
  CHECK(platform::pressure_some_total_us("some avg10=0.00 avg60=0.00 avg300=0.00 total=123456\n"
                                         "full avg10=0.00 avg60=0.00 avg300=0.00 total=99\n") == 123456ULL);
  CHECK_FALSE(platform::pressure_some_total_us("full avg10=0.00 avg60=0.00 avg300=0.00 total=99\n").has_value());
  CHECK_FALSE(platform::pressure_some_total_us("some avg10=0.00\nfull total=5\n").has_value());
  CHECK_FALSE(platform::pressure_some_total_us("").has_value());
}
