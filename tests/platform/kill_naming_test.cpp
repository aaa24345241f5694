// What a SIGKILL in a cgroup names when a pid changed hands during the
// grace, on this host's real hierarchy (as root). CgroupContainment
// describes the members at the SIGTERM and names them from that description
// at the kill; a member reaped by its own parent (not by jobwarden) during
// the grace leaves its description behind, and a new member may be born
// with its pid. The kill must name the new member, never the old one. Also
// the pidfd test everything rests on: readable once the process has exited.
//
// The reuse is forced, not waited for: the new member is made by
// clone3(CLONE_INTO_CGROUP) with set_tid = the freed pid (Linux >= 5.5,
// CAP_SYS_ADMIN in our pid namespace, which root has). The kernel gives
// exactly that pid or fails with EEXIST; only another process of this host
// taking that very pid in the moment between the old member's reaping and
// the clone3 could make it fail, which the host's cyclic pid allocation
// makes as unlikely as a full turn of pid_max in that moment. (Writing
// ns_last_pid in a fresh pid namespace would not do: the containment reads
// cgroup.procs and signals in the host's pid namespace, and those pids are
// allocated by the host's allocator whatever a child namespace asks for.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>  // clone_args, CLONE_INTO_CGROUP
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/cgroup_containment.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/pidfd_signal.hpp"
#include "executor/platform/spawn.hpp"
#include "tests/support/cgroup_check.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"

using namespace jobwarden;
using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_helper = tree_helper();
constexpr milliseconds k_hang_limit{30'000};  // detects a hang; never judges speed

// Reads `fd` into `seen` until `text` appears; false at the deadline or EOF.
bool read_until(int fd, std::string& seen, const std::string& text) {
  const auto give_up = std::chrono::steady_clock::now() + k_hang_limit;
  while (seen.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return false;
    if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

// `argv` started with pid `pid` in the cgroup directory `cgroup_fd`, once
// its exec is done (a close-on-exec pipe reads EOF then); -1 with errno
// (EEXIST: the pid is taken, EPERM: no CAP_SYS_ADMIN) when it cannot be.
pid_t start_with_pid(int pid, int cgroup_fd, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int exec_done[2];
  if (::pipe2(exec_done, O_CLOEXEC) != 0) return -1;
  pid_t tid = pid;
  clone_args ca{};
  ca.flags = CLONE_INTO_CGROUP;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = static_cast<unsigned long long>(cgroup_fd);
  ca.set_tid = reinterpret_cast<unsigned long long>(&tid);
  ca.set_tid_size = 1;
  const long child = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (child == 0) {
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const int saved = errno;
  ::close(exec_done[1]);
  char byte;
  while (child > 0 && ::read(exec_done[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(exec_done[0]);
  errno = saved;
  return static_cast<pid_t>(child);
}

const core::ProcessInfo* find_pid(const std::vector<core::ProcessInfo>& list, int pid) {
  const auto it = std::find_if(list.begin(), list.end(), [&](const core::ProcessInfo& p) { return p.pid == pid; });
  return it == list.end() ? nullptr : &*it;
}

// The whole situation, in a leaf of `parent`. With `keep_pidfds` false the
// descriptor limit is lowered below what the containment leaves free while
// it describes the members at the SIGTERM, so that it can keep no pidfd:
// then nothing may be named from the SIGTERM's descriptions.
void old_member_reaped_by_its_parent_and_pid_reused(const std::string& parent, bool keep_pidfds) {
  platform::CgroupPlan plan;
  plan.v2_parent = parent;
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-reuse-" + std::to_string(getpid()));
  REQUIRE(leaf.ok());
  platform::CgroupContainment containment(plan, "test leaf", std::move(*leaf));
  platform::CgroupJoin join;
  REQUIRE(containment.prepare(std::nullopt, join).ok());

  // The step: a shell whose child `sleep 601` (the old member) dies of the
  // SIGTERM and is reaped by the shell itself, which says "reaped" then.
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  platform::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 601 & a=$!; trap '' TERM; echo \"old $a\"; wait $a; echo reaped; exec sleep 603"};
  o.stdout_fd = out[1];
  o.stderr_fd = out[1];
  o.cgroups = join;
  const auto step = platform::spawn_step(o);
  ::close(out[1]);
  REQUIRE(step.started);
  containment.started(step.pid);
  std::string said;
  REQUIRE(read_until(out[0], said, "\n"));
  const std::string k_old_cmdline = std::string("sleep") + '\0' + "601" + '\0';
  const int old_pid = std::stoi(said.substr(said.find("old ") + 4));
  REQUIRE(eventually([&] { return read_file("/proc/" + std::to_string(old_pid) + "/cmdline") == k_old_cmdline; },
                     k_hang_limit));

  // The SIGTERM, as the runner sends it: described, then signalled.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  if (!keep_pidfds) {
    rlimit low = saved;
    low.rlim_cur = 256;  // below the 512 descriptors the containment leaves free
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  }
  const auto term_targets = containment.members();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  const auto* old_seen = find_pid(term_targets, old_pid);
  REQUIRE(old_seen != nullptr);
  CHECK(old_seen->command == "sleep 601");
  containment.send(term_targets, SIGTERM);
  CAPTURE(said);
  REQUIRE(read_until(out[0], said, "reaped"));  // by the shell: jobwarden never saw it go

  // A new member born with the old member's pid, in a process group of its own kind.
  const pid_t reused = start_with_pid(old_pid, join.dir_fd, {k_helper, "sleep"});
  if (reused < 0 && errno == EPERM) {
    MESSAGE("skipped: clone3 set_tid needs CAP_SYS_ADMIN");
  } else {
    INFO("clone3 with set_tid " << old_pid << ": " << std::strerror(errno));
    REQUIRE(reused == old_pid);

    const auto killed = containment.kill_members();
    const auto* now = find_pid(killed, old_pid);
    REQUIRE(now != nullptr);  // it was a member when cgroup.procs was read
    CAPTURE(now->command);
    CHECK(now->command != "sleep 601");
    // Read after the kill: its command line, or its [comm] once its memory is gone.
    CHECK((now->command == k_helper + " sleep" || now->command == "[jw-tree-helper]"));
    CHECK(now->pgid == ::getpgrp());  // ours, inherited; the old one was in the step's group
    CHECK(now->pgid != step.pid);
    const auto* main = find_pid(killed, step.pid);
    REQUIRE(main != nullptr);
    // Alive throughout: named as at the SIGTERM when its pidfd was kept,
    // read again when none could be.
    CHECK((main->state == '?') == keep_pidfds);
    CHECK(eventually([&] { return containment.empty(); }, k_hang_limit));
    platform::reap_child(reused);
  }
  if (reused < 0) {
    containment.send({}, SIGKILL);
    CHECK(eventually([&] { return containment.empty(); }, k_hang_limit));
  }
  platform::reap_child(step.pid);
  CHECK(containment.claim_reaped(step.pid));
  ::close(out[0]);
  containment.end_attempt();
}

}  // namespace

TEST_CASE("a SIGKILL names a pid reused during the grace by its new member, not by the member its own parent reaped") {
  REQUIRE_CGROUP(parent);
  old_member_reaped_by_its_parent_and_pid_reused(parent, true);
}

TEST_CASE("without descriptors to keep pidfds, a SIGKILL reads every member again and still names a reused pid by its new member") {
  REQUIRE_CGROUP(parent);
  old_member_reaped_by_its_parent_and_pid_reused(parent, false);
}

TEST_CASE("one poll tells which pidfds name processes that have exited: alive no, zombie yes, reaped yes, none yes") {
  const pid_t alive = ::fork();
  REQUIRE(alive >= 0);
  if (alive == 0) {
    ::pause();
    ::_exit(0);
  }
  const pid_t zombie = ::fork();
  REQUIRE(zombie >= 0);
  if (zombie == 0) ::_exit(0);
  const pid_t reaped = ::fork();
  REQUIRE(reaped >= 0);
  if (reaped == 0) ::_exit(0);
  const int alive_fd = platform::open_pidfd(alive);
  const int zombie_fd = platform::open_pidfd(zombie);
  const int reaped_fd = platform::open_pidfd(reaped);
  REQUIRE(alive_fd >= 0);
  REQUIRE(zombie_fd >= 0);
  REQUIRE(reaped_fd >= 0);
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT) == 0);  // a zombie now, not reaped
  platform::reap_child(reaped);
  const auto gone = platform::exited({alive_fd, zombie_fd, reaped_fd, -1});
  CHECK(gone == std::vector<bool>{false, true, true, true});
  ::kill(alive, SIGKILL);
  platform::reap_child(alive);
  platform::reap_child(zombie);
  CHECK(platform::exited({alive_fd}) == std::vector<bool>{true});
  for (int fd : {alive_fd, zombie_fd, reaped_fd}) ::close(fd);
}
