// Who owns a cgroup leaf (HACKING.md, "Who owns a leaf"), on this host's
// real hierarchy (as root): the process that holds the lock on the leaf's
// directory, whatever pid its name carries. The other owner is a real
// process of its own, as a jobwarden in another pid namespace would be
// (there, its pid means nothing to us: here it is a pid dead in ours, or our
// very own pid). Skipped only where there is no writable cgroup v2.
#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/cgroup_containment.hpp"
#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/leaf_sweeper.hpp"
#include "tests/support/cgroup_check.hpp"

using namespace jobwarden;

namespace {

// A pid that names no process in our pid namespace: a child of ours, reaped.
int dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  REQUIRE(pid > 0);
  REQUIRE(waitpid(pid, nullptr, 0) == pid);
  REQUIRE(kill(pid, 0) != 0);
  return pid;
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// The v1 memory parent a containment uses for its leaves ("" when none).
std::string v1_parent_of(const platform::Containment& c) {
  if (c.description().find("v1 memory cgroup per attempt") == std::string::npos) return "";
  return platform::cgroup_dir(platform::discover_cgroup_mounts().v1_memory, platform::own_cgroups().v1_memory);
}

// A child of ours that sets something up (`setup`, run in the child:
// system calls only), says so, and waits to be SIGKILLed; reaped by gone(),
// killed() or the destructor.
class WaitingChild {
 public:
  explicit WaitingChild(const std::function<bool()>& setup) {
    int ready[2];
    REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const char c = 'r';
      if (!setup() || write(ready[1], &c, 1) != 1) _exit(1);
      for (;;) pause();
    }
    m_pid = pid;
    close(ready[1]);
    char c = 0;
    m_ready = read(ready[0], &c, 1) == 1;
    close(ready[0]);
  }
  ~WaitingChild() { gone(); }
  WaitingChild(const WaitingChild&) = delete;
  WaitingChild& operator=(const WaitingChild&) = delete;

  bool ready() const { return m_ready; }
  // It has not exited (it only exits when killed).
  bool alive() {
    int status = 0;
    return m_pid > 0 && waitpid(m_pid, &status, WNOHANG) == 0;
  }
  // Whether it died of SIGKILL (waits for it, and reaps it).
  bool killed() {
    int status = 0;
    if (m_pid <= 0 || waitpid(m_pid, &status, 0) != m_pid) return false;
    m_pid = 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  void gone() {
    if (m_pid <= 0) return;  // never kill(0) or kill(-1): our group, or everyone
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
    m_pid = 0;
  }

 private:
  pid_t m_pid = 0;
  bool m_ready = false;
};

// Another jobwarden's leaf, as it keeps one: made, locked through an open
// descriptor of the v2 directory (and a v1 memory twin of the same name
// beside it on hybrid hosts), empty — as between its mkdir and its clone3,
// or between two attempts. The owner lives until gone() SIGKILLs it.
class ForeignOwner : public WaitingChild {
 public:
  ForeignOwner(const std::string& v2, const std::string& v1)
      : WaitingChild([&] {
          const int fd = mkdir(v2.c_str(), 0755) == 0 ? open(v2.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
          return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && (v1.empty() || mkdir(v1.c_str(), 0755) == 0);
        }),
        m_v2(v2),
        m_v1(v1) {}
  ~ForeignOwner() {
    gone();
    for (const std::string& dir : {m_v1, m_v2}) {
      if (!dir.empty()) rmdir(dir.c_str());
    }
  }

 private:
  std::string m_v2, m_v1;
};

// A member of the leaf `dir`, waiting to be killed.
class Member : public WaitingChild {
 public:
  explicit Member(const std::string& dir)
      : WaitingChild([&] {
          const int procs = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
          return procs >= 0 && write(procs, "0", 1) == 1;
        }) {}
};

// One runner's sweep of stale leaves, as a jobwarden's first attempt runs
// it: at the end of an attempt that did not start (or right after a start).
void sweep_as_a_runner() {
  auto chosen = platform::choose_containment(policy::CgroupMode::required, "", true);
  REQUIRE(chosen.ok());
  platform::CgroupJoin join;
  REQUIRE((*chosen)->prepare(std::nullopt, join).ok());
  (*chosen)->end_attempt();
}

}  // namespace

TEST_CASE("an empty leaf whose owner lives is never swept whatever pid its name carries, and goes with its owner") {
  REQUIRE_CGROUP(parent);
  std::string v1_parent;
  {
    auto probe = platform::choose_containment(policy::CgroupMode::required, "", true);
    REQUIRE(probe.ok());
    v1_parent = v1_parent_of(**probe);
  }
  const std::string name = "jobwarden-" + std::to_string(dead_pid()) + "-1";
  const std::string v2 = parent + "/" + name;
  const std::string v1 = v1_parent.empty() ? "" : v1_parent + "/" + name;
  ForeignOwner owner(v2, v1);
  REQUIRE(owner.ready());

  sweep_as_a_runner();
  CHECK(exists(v2));
  if (!v1.empty()) CHECK(exists(v1));

  owner.gone();
  sweep_as_a_runner();
  CHECK_FALSE(exists(v2));
  if (!v1.empty()) CHECK_FALSE(exists(v1));
}

TEST_CASE("a leaf of our own name that another jobwarden holds is neither taken over nor removed") {
  REQUIRE_CGROUP(parent);
  const std::string name = "jobwarden-" + std::to_string(getpid()) + "-1";
  const std::string theirs = parent + "/" + name;
  ForeignOwner owner(theirs, "");
  REQUIRE(owner.ready());
  {
    auto chosen = platform::choose_containment(policy::CgroupMode::required, "", true);
    REQUIRE(chosen.ok());
    platform::CgroupJoin join;
    REQUIRE((*chosen)->prepare(std::nullopt, join).ok());
    const auto paths = (*chosen)->cgroup_paths();
    REQUIRE_FALSE(paths.empty());
    CHECK(paths.front() != theirs);
    CHECK(exists(paths.front()));
    (*chosen)->end_attempt();
  }
  CHECK(exists(theirs));
}

TEST_CASE("our own leaf is locked from its mkdir to its rmdir: nobody can claim it meanwhile") {
  REQUIRE_CGROUP(parent);
  auto chosen = platform::choose_containment(policy::CgroupMode::required, "", true);
  REQUIRE(chosen.ok());
  platform::CgroupJoin join;
  REQUIRE((*chosen)->prepare(std::nullopt, join).ok());
  const std::string ours = (*chosen)->cgroup_paths().front();
  CHECK(exists(ours));
  CHECK_FALSE(platform::claim_unowned_leaf(ours).valid());
  (*chosen)->end_attempt();
  CHECK_FALSE(exists(ours));
}

TEST_CASE("gitlab cleanup kills and removes a recorded leaf only once nobody owns it") {
  REQUIRE_CGROUP(parent);
  const auto placement = platform::current_leaf_placement("");
  REQUIRE(placement.ok());
  const int pid = dead_pid();
  // The name a maker takes when "-1" is someone else's: cleanup knows it too.
  const std::string name = "jobwarden-" + std::to_string(pid) + "-1.2";
  const std::string v2 = parent + "/" + name;
  const std::string v1 = placement->v1_memory_parent.empty() ? "" : placement->v1_memory_parent + "/" + name;
  ForeignOwner owner(v2, v1);
  REQUIRE(owner.ready());
  Member member(v2);
  REQUIRE(member.ready());

  auto sweep = platform::sweep_recorded_leaves(*placement, pid, placement->v2_parent, std::chrono::seconds(5));
  CHECK(sweep.refused.empty());
  CHECK(sweep.owned == std::vector<std::string>{v2});
  CHECK(sweep.killed.empty());
  CHECK(sweep.removed.empty());
  CHECK(member.alive());
  CHECK(exists(v2));

  owner.gone();
  sweep = platform::sweep_recorded_leaves(*placement, pid, placement->v2_parent, std::chrono::seconds(5));
  CHECK(sweep.owned.empty());
  REQUIRE(sweep.killed.size() == 1);
  CHECK(member.killed());
  CHECK_FALSE(exists(v2));
  if (!v1.empty()) CHECK_FALSE(exists(v1));
}
