// The cgroup containment on this host's real hierarchy (as root). Skipped,
// with the reason, only where there is no writable cgroup v2 at all.
#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>

#include "executor/platform/cgroup_containment.hpp"
#include "executor/platform/cgroup_fs.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/platform/real_attempt.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using policy::Outcome;

namespace {

const std::string k_helper = tree_helper();
constexpr unsigned long long k_mib = 1024ULL * 1024ULL;


// Our leaves ("jobwarden-<our pid>-N") still present under `dir`.
std::vector<std::string> our_leaves(const std::string& dir) {
  std::vector<std::string> found;
  const std::string prefix = "jobwarden-" + std::to_string(getpid()) + "-";
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) == 0) found.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return found;
}

// The v1 memory parent, on hybrid hosts ("" elsewhere).
std::string v1_memory_parent() {
  return platform::cgroup_dir(platform::discover_cgroup_mounts().v1_memory, platform::own_cgroups().v1_memory);
}


}  // namespace

TEST_CASE("the step runs in a cgroup v2 leaf of its own, removed after the attempt") {
  REQUIRE_CGROUP(parent);
  const auto r = run_real({"/bin/sh", "-c", "cat /proc/self/cgroup"}, {quick_settings(60'000, 1000)});
  CHECK(r.rec.outcome == Outcome::success);
  CHECK(r.output.find("/jobwarden-" + std::to_string(getpid()) + "-") != std::string::npos);
  CHECK(r.rec.usage.containment.find("cgroup v2 leaf " + parent + "/jobwarden-") == 0);
  CHECK(our_leaves(parent).empty());
  if (const std::string v1 = v1_memory_parent(); !v1.empty()) CHECK(our_leaves(v1).empty());
}

TEST_CASE("the leaf is removed after a failed start too") {
  REQUIRE_CGROUP(parent);
  const auto r = run_real({"/nonexistent/jobwarden-no-such-tool"}, {quick_settings(60'000, 1000)});
  CHECK(r.rec.outcome == Outcome::error);
  CHECK(our_leaves(parent).empty());
  if (const std::string v1 = v1_memory_parent(); !v1.empty()) CHECK(our_leaves(v1).empty());
}

TEST_CASE("a 512 MiB allocation under a 64 MiB limit is oom, from the kernel's count") {
  REQUIRE_CGROUP(parent);
  RealOptions o{quick_settings(60'000, 1000)};
  o.memory_limit = 64 * k_mib;
  const auto r = run_real({k_helper, "alloc", "512"}, o);
  CAPTURE(r.log);
  CHECK(r.output.find("allocated") == std::string::npos);
  CHECK(r.rec.outcome == Outcome::oom);
  CHECK(r.rec.step_exit_code == 137);
  REQUIRE(r.rec.usage.oom_kills.has_value());
  CHECK(*r.rec.usage.oom_kills >= 1);
  REQUIRE(r.rec.usage.peak_memory_bytes.has_value());
  CHECK(*r.rec.usage.peak_memory_bytes <= 64 * k_mib);
  CHECK(*r.rec.usage.peak_memory_bytes > 32 * k_mib);
  CHECK(our_leaves(parent).empty());
}

TEST_CASE("the same step SIGKILLed from outside, with no OOM count, is signal") {
  REQUIRE_CGROUP(parent);
  RealOptions o{quick_settings(60'000, 1000)};
  o.memory_limit = 64 * k_mib;
  o.ready_line = "ready ";
  o.kill_step_when_ready = SIGKILL;
  const auto r = run_real({k_helper, "sleep"}, o);
  CHECK(r.rec.outcome == Outcome::signal);
  CHECK(r.rec.ending.term_signal == SIGKILL);
  REQUIRE(r.rec.usage.oom_kills.has_value());
  CHECK(*r.rec.usage.oom_kills == 0);
}

TEST_CASE("an allocation within the limit succeeds and reports its peak memory") {
  REQUIRE_CGROUP(parent);
  RealOptions o{quick_settings(60'000, 1000)};
  o.memory_limit = 256 * k_mib;
  const auto r = run_real({k_helper, "alloc", "32"}, o);
  CHECK(r.rec.outcome == Outcome::success);
  REQUIRE(r.rec.usage.peak_memory_bytes.has_value());
  CHECK(*r.rec.usage.peak_memory_bytes >= 32 * k_mib);
  CHECK(r.rec.usage.oom_kills == 0ULL);
}

TEST_CASE("choose_containment: off and required say what they chose and why") {
  auto off = platform::choose_containment(policy::CgroupMode::off, "", true);
  REQUIRE(off.ok());
  CHECK((*off)->description() == "no cgroup: features.cgroup: off in the admin configuration: process group + subreaper");
  auto required_without = platform::choose_containment(policy::CgroupMode::required, "", false);
  REQUIRE_FALSE(required_without.ok());
  CHECK(required_without.error() == "features.cgroup is required, but tree kill is off");
  REQUIRE_CGROUP(parent);
  auto chosen = platform::choose_containment(policy::CgroupMode::required, "", true);
  REQUIRE(chosen.ok());
  CHECK((*chosen)->description().find("cgroup v2 leaf per attempt under " + parent) == 0);
}

TEST_CASE("cgroup discovery reads mountinfo and /proc/self/cgroup of hybrid and unified hosts") {
  const std::string hybrid =
      "31 23 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "35 23 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "41 23 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  const auto h = platform::parse_mountinfo(hybrid);
  CHECK(h.v2.mount_point == "/sys/fs/cgroup/unified");
  CHECK(h.v1_memory.mount_point == "/sys/fs/cgroup/memory");
  const auto u = platform::parse_mountinfo("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  CHECK(u.v2.mount_point == "/sys/fs/cgroup");
  CHECK(u.v1_memory.mount_point.empty());
  const auto own = platform::parse_proc_cgroup("4:memory:/ci/job\n1:cpu:/\n0::/system.slice/runner.service\n");
  CHECK(own.v2 == "/system.slice/runner.service");
  CHECK(own.v1_memory == "/ci/job");
  CHECK(platform::cgroup_dir(u.v2, own.v2) == "/sys/fs/cgroup/system.slice/runner.service");
  CHECK(platform::cgroup_dir({"/sys/fs/cgroup", "/system.slice"}, own.v2) == "/sys/fs/cgroup/runner.service");
  CHECK(platform::cgroup_dir({"/sys/fs/cgroup", "/other"}, own.v2).empty());
  CHECK(platform::keyed_value("populated 1\nfrozen 0\n", "populated") == 1ULL);
  CHECK(platform::keyed_value("oom 2\noom_kill 3\n", "oom_kill") == 3ULL);
  CHECK(platform::keyed_value("usage_usec 12\nuser_usec 3", "user_usec") == 3ULL);  // no final newline
  CHECK_FALSE(platform::keyed_value("usage_usec 12\n", "usage"));
  // An escaped blank in the mount point, a last line without its newline, an empty line.
  const auto spaced = platform::parse_mountinfo("\n41 23 0:38 /ci /sys/fs/cgroup\\040v2 rw - cgroup2 cgroup2 rw");
  CHECK(spaced.v2.mount_point == "/sys/fs/cgroup v2");
  CHECK(spaced.v2.root == "/ci");
  CHECK(platform::parse_proc_cgroup("0::/a b\n\n").v2 == "/a b");
  // PSI: the "some" line's total, never the "full" line's.
  CHECK(platform::pressure_some_total_us("some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\n"
                                         "full avg10=0.00 avg60=0.00 avg300=0.00 total=99\n") == 1234ULL);
  CHECK_FALSE(platform::pressure_some_total_us("full avg10=0.00 total=99\n"));
  CHECK_FALSE(platform::pressure_some_total_us("some avg10=0.00\nfull avg10=0.00 total=99\n"));
}

// choose_containment makes the first attempt's leaf itself (its mkdir is the
// writability test); the first attempt uses it, later ones make their own,
// and a containment that never started a step removes it too.
TEST_CASE("the first attempt's leaf is made with the plan, used once, and never left behind") {
  REQUIRE_CGROUP(parent);
  const std::string pid = std::to_string(getpid());
  const std::string v1 = v1_memory_parent();
  {
    auto unused = platform::choose_containment(policy::CgroupMode::required, "", true);
    REQUIRE(unused.ok());
    CHECK(our_leaves(parent) == std::vector<std::string>{"jobwarden-" + pid + "-1"});
    if (!v1.empty() && (*unused)->description().find("v1 memory cgroup per attempt") != std::string::npos) {
      CHECK(our_leaves(v1) == std::vector<std::string>{"jobwarden-" + pid + "-1"});
    }
  }
  CHECK(our_leaves(parent).empty());
  if (!v1.empty()) CHECK(our_leaves(v1).empty());

  auto chosen = platform::choose_containment(policy::CgroupMode::required, "", true);
  REQUIRE(chosen.ok());
  platform::Containment& c = **chosen;
  platform::CgroupJoin join;
  REQUIRE(c.prepare(std::nullopt, join).ok());
  CHECK(join.dir_fd >= 0);
  CHECK(c.cgroup_paths().front() == parent + "/jobwarden-" + pid + "-1");
  c.end_attempt();
  CHECK(our_leaves(parent).empty());
  REQUIRE(c.prepare(std::nullopt, join).ok());
  CHECK(c.cgroup_paths().front() == parent + "/jobwarden-" + pid + "-2");
  CHECK(our_leaves(parent) == std::vector<std::string>{"jobwarden-" + pid + "-2"});
  chosen->reset();
  CHECK(our_leaves(parent).empty());
  if (!v1.empty()) CHECK(our_leaves(v1).empty());
}
