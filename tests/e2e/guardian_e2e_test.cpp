// jobwarden SIGKILLed mid-step: its guardian kills the step's tree
// (README.md, "What happens to the process tree"; HACKING.md, "The
// guardian"). Real trees, real SIGKILLs, this host's real cgroup hierarchy.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "executor/platform/cgroup_leaf.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/guardian_check.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_helper = tree_helper();
// Three helpers: a plain child, a setsid'd child, and a double-forked
// grandchild that called setsid (it left every process group and session
// of the step); each prints all-ready when its members are set up.
const std::string k_tree = k_helper + " grandchild & " + k_helper + " setsid & " + k_helper + " double-fork & wait";

// What the brief promise says: nothing of the step survives jobwarden by
// more than about a second; 2 s of polling on a loaded machine.
constexpr milliseconds k_survival_limit{2000};

std::string admin_config(const TempDir& dir, const std::string& cgroup) {
  return dir.write("admin.yaml", "version: 1\nfeatures: {cgroup: " + cgroup + "}\n");
}

// Starts `jobwarden run` on the tree and waits until all three helpers are set up.
std::unique_ptr<ChildProcess> start_tree(const std::string& admin) {
  auto jw = std::make_unique<ChildProcess>(
      jw_run({"--admin-config", admin, "--timeout", "5m"}, {"/bin/sh", "-c", k_tree}));
  REQUIRE(all_helpers_ready(*jw, 3, milliseconds(30'000)));
  return jw;
}

// Like a CI that SIGKILLs the process group it started jobwarden in.
std::vector<int> kill_jobwarden(ChildProcess& jw) {
  const auto pids = ready_pids(jw.so_far().out);
  REQUIRE(pids.size() == 4);  // child, grandchild, setsid-child, orphan (the mains do not announce)
  REQUIRE(surviving(pids).size() == pids.size());
  jw.send_group_signal(SIGKILL);
  const auto r = jw.wait(milliseconds(10'000));
  CHECK(r.term_signal == SIGKILL);
  return pids;
}

// jobwarden's guardian, once it is there (0: none came).
int wait_for_guardian(int jw_pid) {
  int guardian = 0;
  CHECK(eventually([&] { return (guardian = guardian_of(jw_pid)) != 0; }, milliseconds(10'000)));
  return guardian;
}

// SIGKILLs jobwarden `jw_pid` as its CI would, then: nothing of the tree
// survives, its leaves under `parent` go, and so does its guardian.
void expect_guardian_cleans_up(ChildProcess& jw, const std::string& parent, int jw_pid, int guardian) {
  const auto pids = kill_jobwarden(jw);
  CHECK(eventually([&] { return surviving(pids).empty(); }, k_survival_limit));
  CHECK(eventually([&] { return leaves_of(parent, jw_pid).empty(); }, milliseconds(10'000)));
  CHECK(eventually([&] { return !guardian_alive(guardian); }, milliseconds(10'000)));
  kill_leftovers(pids);
}

}  // namespace

TEST_CASE("run SIGKILLed mid-step with a cgroup: its guardian kills the whole tree and removes the leaf") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  auto jw = start_tree(admin_config(dir, "required"));
  const int jw_pid = jw->pid();
  const int guardian = wait_for_guardian(jw_pid);
  REQUIRE(leaves_of(parent, jw_pid).size() == 1);
  expect_guardian_cleans_up(*jw, parent, jw_pid, guardian);
}

// Each attempt has a guardian of its own (the first one is told goodbye
// when its attempt's tree is gone): a retried step is as safe as a first one.
TEST_CASE("run SIGKILLed in a retried step's second attempt: that attempt's guardian kills the tree") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  const std::string policy = dir.write(
      "policy.yml",
      "version: 1\ndefaults: {backoff: {initial: 100ms, jitter: 0}}\n"
      "rules:\n  - {name: once-more, when: {outcome: red, exit_codes: [100]}, retry: 2, then: fail}\n");
  const std::string marker = dir.path() + "/first-attempt-done";
  // The first attempt exits 100 at once; the second builds the tree.
  const std::string command = "if [ ! -e " + marker + " ]; then : > " + marker + "; exit 100; fi; " + k_tree;
  auto jw = std::make_unique<ChildProcess>(jw_run(
      {"--admin-config", admin_config(dir, "required"), "--policy", policy, "--timeout", "5m"},
      {"/bin/sh", "-c", command}));
  REQUIRE(all_helpers_ready(*jw, 3, milliseconds(30'000)));
  CHECK(contains(jw->so_far().err, "attempt 2 of"));
  const int jw_pid = jw->pid();
  const int guardian = wait_for_guardian(jw_pid);
  REQUIRE(leaves_of(parent, jw_pid).size() == 1);  // the first attempt's leaf is gone
  expect_guardian_cleans_up(*jw, parent, jw_pid, guardian);
}

// The guardian shares the leaf's lock (HACKING.md, "Who owns a leaf"): with
// jobwarden dead and the guardian not yet done (held stopped here), the leaf
// is still owned, so no other jobwarden's sweep or cleanup can claim it.
TEST_CASE("run SIGKILLed mid-step: the leaf stays owned by the guardian until it is done with it") {
  REQUIRE_CGROUP(parent);
  TempDir dir;
  auto jw = start_tree(admin_config(dir, "required"));
  const int jw_pid = jw->pid();
  const int guardian = wait_for_guardian(jw_pid);
  const auto leaves = leaves_of(parent, jw_pid);
  REQUIRE(leaves.size() == 1);
  const std::string leaf = parent + "/" + leaves.front();
  REQUIRE(guardian > 0);  // never kill(0) or kill(-1)
  REQUIRE(kill(guardian, SIGSTOP) == 0);
  REQUIRE(eventually([&] {
    const auto stat = jobwarden::platform::read_proc_stat(guardian);
    return stat && stat->state == 'T';
  }, milliseconds(10'000)));
  const auto pids = kill_jobwarden(*jw);
  CHECK_FALSE(jobwarden::platform::claim_unowned_leaf(leaf).valid());
  REQUIRE(kill(guardian, SIGCONT) == 0);
  CHECK(eventually([&] { return surviving(pids).empty(); }, milliseconds(10'000)));
  CHECK(eventually([&] { return leaves_of(parent, jw_pid).empty(); }, milliseconds(10'000)));
  CHECK(eventually([&] { return !guardian_alive(guardian); }, milliseconds(10'000)));
  kill_leftovers(pids);
}

TEST_CASE("run SIGKILLed mid-step without a cgroup: the guardian kills the main's group and the members it was handed") {
  TempDir dir;
  auto jw = start_tree(admin_config(dir, "off"));
  int guardian = 0;
  CHECK(eventually([&] { return (guardian = guardian_of(jw->pid())) != 0; }, milliseconds(10'000)));
  // The handshake of the fallback: jobwarden hands over the main process at
  // start and, at its next membership scan, the two members that left the
  // main's process group (HACKING.md: what the guardian cannot reach).
  if (guardian != 0) REQUIRE(eventually([&] { return pidfds_held(guardian) >= 3; }, milliseconds(30'000)));
  const auto pids = kill_jobwarden(*jw);
  CHECK(eventually([&] { return surviving(pids).empty(); }, k_survival_limit));
  CHECK(eventually([&] { return !guardian_alive(guardian); }, milliseconds(10'000)));
  kill_leftovers(pids);
}

TEST_CASE("the guardian is out of the CI's way: own session, no CI pipe, no environment, gone after a normal end") {
  ChildProcess jw(jw_run({}, {"/bin/sh", "-c", "echo started; read -r line < /dev/tty || sleep 2"}),
                  {"JW_GUARDIAN_TEST_COOKIE=c00k1e"});
  // This test is a child subreaper while jobwarden runs, as some CI agents
  // are: a guardian jobwarden left unreaped would become our zombie, not
  // init's. Declared after `jw`, so that on a failed check the flag is off
  // again before ~ChildProcess kills jobwarden (its guardian then goes to init).
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  struct NoLongerSubreaper {
    ~NoLongerSubreaper() { (void)::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } restore;
  REQUIRE(jw.wait_for_output("started", milliseconds(30'000)));
  int guardian = 0;
  REQUIRE(eventually([&] { return (guardian = guardian_of(jw.pid())) != 0; }, milliseconds(10'000)));
  const auto stat = jobwarden::platform::read_proc_stat(guardian);
  REQUIRE(stat);
  CHECK(stat->sid == guardian);  // a session (and process group) of its own
  CHECK(stat->pgid == guardian);
  const auto fds = descriptor_targets(guardian);
  CHECK(fds.size() >= 3);
  // Besides those, at most the attempt's leaf: its locked descriptor, shared
  // with jobwarden (HACKING.md, "Who owns a leaf").
  const std::string own_leaf = "/jobwarden-" + std::to_string(jw.pid()) + "-";
  for (const auto& target : fds) {
    CAPTURE(target);
    CHECK((target == "/dev/null" || target.rfind("socket:", 0) == 0 || target == "anon_inode:[pidfd]" ||
           (target.rfind("/sys/fs/cgroup/", 0) == 0 && contains(target, own_leaf))));
  }
  CHECK(contains(read_file("/proc/" + std::to_string(jw.pid()) + "/environ"), "JW_GUARDIAN_TEST_COOKIE=c00k1e"));
  CHECK_FALSE(contains(read_file("/proc/" + std::to_string(guardian) + "/environ"), "JW_GUARDIAN_TEST_COOKIE"));
  const auto r = jw.wait(milliseconds(30'000));
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "started\n");
  // Reaped by jobwarden before it exited: not even a zombie left to us.
  const bool gone = ::kill(guardian, 0) != 0 && errno == ESRCH;
  CHECK(gone);
  if (!gone) (void)::waitpid(guardian, nullptr, 0);
}
