// The runner's parts one by one, with real processes: the reaper, the
// process-group containment and the usage meter.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/child_reaper.hpp"
#include "executor/platform/process_group_containment.hpp"
#include "executor/platform/usage_meter.hpp"
#include "tests/support/proc_check.hpp"

using namespace jobwarden;
using namespace jobwarden::platform;
using jobwarden::testing::eventually;

namespace {

// A child that exits at once with `code`.
int fork_exit(int code) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(code);
  return pid;
}

// A child that sleeps until killed, in a session of its own; returns once
// the session exists.
int fork_sleeper() {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::close(ready[1]);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  while (::read(ready[0], &c, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  return pid;
}

// Reaps until `pid` has been reaped; returns what the reaper said about it.
ReapedChild reap_until(int pid) {
  ReapedChild found;
  REQUIRE(eventually(
      [&] {
        reap_exited_children([](int) {},
                             [&](const ReapedChild& c) {
                               if (c.pid == pid) found = c;
                             });
        return found.pid == pid;
      },
      std::chrono::seconds(30)));
  return found;
}

}  // namespace

TEST_CASE("the reaper hands each exited child over as a zombie first, then with its status") {
  const int pid = fork_exit(7);
  bool seen_as_zombie = false;
  ReapedChild got;
  REQUIRE(eventually(
      [&] {
        reap_exited_children(
            [&](int p) {
              // still a zombie: its /proc entry exists
              if (p == pid) seen_as_zombie = ::access(("/proc/" + std::to_string(p)).c_str(), F_OK) == 0;
            },
            [&](const ReapedChild& c) {
              if (c.pid == pid) got = c;
            });
        return got.pid == pid;
      },
      std::chrono::seconds(30)));
  CHECK(seen_as_zombie);
  CHECK(WIFEXITED(got.status));
  CHECK(WEXITSTATUS(got.status) == 7);
  CHECK_FALSE(has_children());
}

TEST_CASE("the process-group containment finds a setsid'd member, kills it and is then empty") {
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  ProcessGroupContainment containment(true, "test");
  CHECK(containment.description().find("process group + subreaper") != std::string::npos);
  CHECK(containment.empty());
  const int pid = fork_sleeper();
  containment.started(pid);
  const auto members = containment.members();
  REQUIRE(members.size() == 1);
  CHECK(members[0].pid == pid);
  CHECK(members[0].sid == pid);
  CHECK_FALSE(containment.empty());
  containment.send(members, SIGKILL);
  const ReapedChild c = reap_until(pid);
  CHECK(containment.claim_reaped(c.pid));
  CHECK(WTERMSIG(c.status) == SIGKILL);
  CHECK(containment.empty());
  containment.end_attempt();
}

TEST_CASE("children present before the containment are foreign: not members, not claimed") {
  const int foreign = fork_sleeper();
  ProcessGroupContainment containment(true, "");
  CHECK(containment.members().empty());
  CHECK(containment.empty());
  ::kill(foreign, SIGKILL);
  CHECK_FALSE(containment.claim_reaped(reap_until(foreign).pid));
}

TEST_CASE("the usage meter adds up reaped CPU time and peak RSS and counts the reaped") {
  UsageMeter meter(core::Millis(1000));
  const auto t0 = std::chrono::steady_clock::now();
  meter.begin(t0);
  meter.step_started();
  CHECK(meter.next_sample() == t0 + core::Millis(1000));
  meter.reaped({1, 0, 0.25, 1000});
  meter.reaped({2, 0, 0.5, 3000});
  core::AttemptUsage u;
  meter.finish(u, t0 + core::Millis(2000));
  CHECK(u.cpu_seconds == doctest::Approx(0.75));
  CHECK(u.peak_rss_kib == 3000);
  CHECK(u.processes_reaped == 2);
  REQUIRE(u.usable_cpus.has_value());
  CHECK(*u.usable_cpus > 0.0);  // cpu.max may allow a fraction of one CPU
  CHECK(*u.usable_cpus <= testing::affinity_cpus());
}

TEST_CASE("the usage meter reads a member's CPU wait while it lives") {
  const int pid = fork_sleeper();
  UsageMeter meter(core::Millis(10));
  meter.begin(std::chrono::steady_clock::now());
  meter.step_started();
  meter.sample(std::chrono::steady_clock::now(), [&] { return std::vector<int>{pid}; });
  core::AttemptUsage u;
  meter.finish(u, std::chrono::steady_clock::now());
  CHECK(u.cpu_wait_seconds.has_value());
  CHECK(u.cpu_wait_source == "schedstat run_delay");
  ::kill(pid, SIGKILL);
  reap_until(pid);
}

TEST_CASE("a rereadable file answers each read with the file's current text, from its start") {
  char path[] = "/tmp/jw-reread-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "first", 5) == 5);
  const RereadableFile file(path);
  CHECK(file.read() == std::optional<std::string>("first"));
  CHECK(file.read() == std::optional<std::string>("first"));  // not "" from the end of the last read
  REQUIRE(::ftruncate(fd, 0) == 0);
  REQUIRE(::pwrite(fd, "the second text", 15, 0) == 15);
  CHECK(file.read() == std::optional<std::string>("the second text"));
  ::close(fd);
  ::unlink(path);
  CHECK(RereadableFile("/nonexistent/jobwarden-no-such-file").read() == std::nullopt);
  CHECK(RereadableFile().read() == std::nullopt);
}

TEST_CASE("a rereadable /proc file is generated afresh on every read") {
  const RereadableFile uptime("/proc/uptime");
  const auto first = uptime.read();
  REQUIRE(first);
  CHECK(eventually([&] { return uptime.read() != first; }, std::chrono::seconds(10)));
}
