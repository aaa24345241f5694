// The cgroup per attempt end to end, as root on this host's real hierarchy:
// memory limits and OOM from the kernel's count, the fallback chain on a
// read-only hierarchy and its log line, `features.cgroup: required`.
// Skipped, with the reason, only where no cgroup v2 leaf can be made.
#include <doctest/doctest.h>

#include <csignal>
#include <dirent.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using nlohmann::json;

namespace {

const std::string k_helper = tree_helper();


std::size_t leaves_of(const std::string& dir, int jobwarden_pid) {
  std::size_t n = 0;
  const std::string prefix = "jobwarden-" + std::to_string(jobwarden_pid) + "-";
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) n += std::string(e->d_name).rfind(prefix, 0) == 0 ? 1 : 0;
    closedir(d);
  }
  return n;
}

// The command line that runs `argv` with `mount` read-only (a private mount
// namespace: nothing outside it changes).
std::vector<std::string> with_readonly(const std::string& mount, const std::vector<std::string>& argv) {
  std::vector<std::string> out{"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                               "mount -o remount,bind,ro \"$0\" && exec \"$@\"", mount};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// The same with the cgroup v2 mount read-only.
std::vector<std::string> with_readonly_cgroup2(const std::vector<std::string>& argv) {
  return with_readonly(jobwarden::platform::discover_cgroup_mounts().v2.mount_point, argv);
}

}  // namespace

TEST_CASE("a policy memory limit and an allocation beyond it: oom from the kernel's count, a system failure") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  const std::string policy = dir.write("p.yml", "version: 1\ndefaults: {memory: 64MiB}\n");
  ChildProcess jw(jw_run({"--policy", policy, "--report", dir.file("r.json")}, {k_helper, "alloc", "512"}));
  const auto r = jw.wait();
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 75);  // oom: system_failure by the built-in fallback
  CHECK(contains(r.err, "jobwarden: memory limit: 64MiB per attempt"));
  CHECK(contains(r.err, "jobwarden: attempt 1 of 1: oom (killed by SIGKILL (not sent by jobwarden), code 137)"));
  CHECK(contains(r.err, "OOM kill (kernel count)"));
  const json a = json::parse(read_file(dir.file("r.json")))["attempts"][0];
  CHECK(a["outcome"] == "oom");
  CHECK(a["oom_kills"].get<int>() >= 1);
  CHECK(a["peak_memory_bytes"].get<long long>() <= 64LL << 20);
  CHECK(contains(a["containment"].get<std::string>(), "cgroup v2 leaf " + parent + "/jobwarden-"));
  CHECK(leaves_of(parent, jw.pid()) == 0);
}

TEST_CASE("the admin's max_memory caps the policy's memory, says so, and the cap holds") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  const std::string admin = dir.write("admin.yml", "version: 1\nceilings: {max_memory: 64MiB}\n");
  const std::string policy = dir.write("p.yml", "version: 1\ndefaults: {memory: 1GiB}\n");
  const auto r = run_child(jw_run({"--admin-config", admin, "--policy", policy}, {k_helper, "alloc", "512"}));
  CAPTURE(r.err);
  CHECK(contains(r.err, "policy memory 1GiB of step 'default' exceeds the admin ceiling 64MiB: clamped to 64MiB (" +
                            admin + ")"));
  CHECK(contains(r.err, ": oom ("));
  CHECK(r.exit_code == 75);
}

TEST_CASE("a read-only cgroup hierarchy falls back to the process group and subreaper, and says why") {
  REQUIRE_CGROUP(parent);
  const auto r = run_child(with_readonly_cgroup2(jw_run({"--timeout", "1s"}, {k_helper, "grandchild"})));
  CAPTURE(r.err);
  REQUIRE(contains(r.out, "all-ready 2"));
  CHECK(r.exit_code == 124);
  CHECK(contains(r.err, "jobwarden: containment: no cgroup: " + parent + " is read-only: process group + subreaper"));
  CHECK(surviving(ready_pids(r.out)).empty());
}

TEST_CASE("features.cgroup: required without a usable cgroup is a system failure with the reason") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  const std::string admin = dir.write("admin.yml", "version: 1\nfeatures: {cgroup: required}\n");
  const auto r = run_child(with_readonly_cgroup2(jw_run({"--admin-config", admin}, {"echo", "never-runs"})));
  CAPTURE(r.err);
  CHECK(r.exit_code == 75);
  CHECK_FALSE(contains(r.out, "never-runs"));
  CHECK(contains(r.err, "verdict: system_failure: not started: features.cgroup is required, but " + parent +
                            " is read-only"));
  const auto ok = run_child(jw_run({"--admin-config", admin}, {"echo", "runs"}));
  CHECK(ok.exit_code == 0);
  CHECK(contains(ok.out, "runs"));
}

// The first attempt's own mkdir decides whether the cgroup is used (no probe
// cgroup first): refused by permissions, it gives the fallback and says why.
TEST_CASE("a cgroup jobwarden may not write to falls back to the process group and subreaper, and says why") {
  REQUIRE_CGROUP(parent);
  const std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  std::vector<std::string> argv = as_nobody;
  for (const std::string& a : jw_run({}, {"/bin/echo", "ran"})) argv.push_back(a);
  const auto r = run_child(argv, {}, std::chrono::milliseconds(60'000), "/");
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ran\n"));
  CHECK(contains(r.err, "jobwarden: containment: no cgroup: " + parent +
                            " is not writable (not root, not delegated): process group + subreaper"));
}

TEST_CASE("a read-only v1 memory hierarchy leaves the v2 leaf without memory, and the log says why") {
  REQUIRE_CGROUP(parent);
  namespace p = jobwarden::platform;
  const std::string v1 = p::cgroup_dir(p::discover_cgroup_mounts().v1_memory, p::own_cgroups().v1_memory);
  if (v1.empty() || contains(read_file(parent + "/cgroup.subtree_control"), "memory")) {
    MESSAGE("skipped: not a hybrid host (the v2 memory controller holds the limits, or no v1 memory hierarchy)");
    return;
  }
  const auto r = run_child(with_readonly(p::discover_cgroup_mounts().v1_memory.mount_point, jw_run({}, {"/bin/echo", "ran"})));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "ran\n"));
  CHECK(contains(r.err, "jobwarden: containment: cgroup v2 leaf per attempt under " + parent));
  CHECK(contains(r.err, "; memory: none (" + v1 + " is read-only)"));
}

// A leaf of the very name this jobwarden would make, empty or populated: a
// leftover of a jobwarden that died with this pid, or the leaf of a live one
// in another pid namespace with the same pid (HACKING.md, "Who owns a
// leaf"). It is never taken over nor removed: the attempt takes the next
// name, and the other one's process is untouched.
TEST_CASE("a leaf under this jobwarden's own name is never taken over: the next name is used, the other left alone") {
  REQUIRE_CGROUP(parent);
  // jobwarden as pid 1 of a pid namespace of its own: its first leaf is "jobwarden-1-1".
  const std::string other = parent + "/jobwarden-1-1";
  std::vector<std::string> argv{"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"};
  for (const std::string& a : jw_run({}, {"/bin/sh", "-c", "cat /proc/self/cgroup"})) argv.push_back(a);

  rmdir(other.c_str());  // an earlier run's, should it have been killed midway
  REQUIRE(mkdir(other.c_str(), 0755) == 0);
  const auto empty = run_child(argv);
  CAPTURE(empty.err);
  CHECK(empty.exit_code == 0);
  CHECK(contains(empty.err, "jobwarden: containment: cgroup v2 leaf per attempt under " + parent));
  CHECK(contains(empty.out, "/jobwarden-1-1.2\n"));
  CHECK(access(other.c_str(), F_OK) == 0);
  CHECK(access((other + ".2").c_str(), F_OK) != 0);  // ours, removed after the attempt

  ChildProcess survivor({"/bin/sh", "-c", "echo $$ > '" + other + "/cgroup.procs' && echo joined && exec sleep 60"});
  REQUIRE(survivor.wait_for_output("joined", std::chrono::milliseconds(20'000)));
  const auto populated = run_child(argv);
  CAPTURE(populated.err);
  CHECK(populated.exit_code == 0);
  CHECK(contains(populated.out, "/jobwarden-1-1.2\n"));
  CHECK(survivor.wait_for_exit(std::chrono::milliseconds(100)) == false);  // untouched
  survivor.send_signal(SIGKILL);
  survivor.wait();
  for (int i = 0; i < 500 && rmdir(other.c_str()) != 0; ++i) usleep(10'000);  // it leaves the cgroup as it dies
  CHECK(access(other.c_str(), F_OK) != 0);
}
