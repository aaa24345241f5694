// Killing what a cgroup leaf holds, on this host's real hierarchy (as root):
// the fallback for kernels without cgroup.kill (freeze, SIGKILL each
// member, thaw) forced through the plan's cgroup_kill, a step that joins
// its leaf between fork and exec (kernels without clone3 CLONE_INTO_CGROUP),
// how a large tree is named cheaply, what a kill names and when the killed
// tree counts as empty (before its zombies are reaped), and the OOM evidence of a cgroup v2
// memory controller read from a fake cgroup directory (this hybrid host's
// v2 hierarchy has no controllers, so the real one cannot be exercised here).
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/linux_process_runner.hpp"
#include "executor/platform/proc_tree.hpp"
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
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-freeze-" + std::to_string(getpid()));
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
  auto leaf = platform::CgroupLeaf::create(plan, "jobwarden-test-kill-" + std::to_string(getpid()));
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

TEST_CASE("a SIGKILL in a cgroup names the members seen at the SIGTERM and those born during the grace") {
  REQUIRE_CGROUP(parent);
  RealOptions o{quick_settings(60'000, 5'000)};
  o.signal_when_ready = SIGTERM;
  o.ready_line = "all-ready 3";
  // The main traps SIGTERM and starts a new member then, in a session of
  // its own; the helper's four members ignore SIGTERM.
  const std::string script = "trap 'setsid sh -c \"echo born \\$$; exec sleep 602\" &' TERM; " + k_helper +
                             " --ignore-term wide 3 & while :; do wait; done";
  const auto r = run_real({"/bin/sh", "-c", script}, o);
  CAPTURE(r.log);
  CAPTURE(r.output);
  REQUIRE(r.rec.signals.size() >= 2);
  const auto& term = r.rec.signals[0];
  const auto& kill = r.rec.signals[1];
  REQUIRE(term.signal == "SIGTERM");
  REQUIRE(kill.signal == "SIGKILL");
  CHECK(term.targets.size() == 5);  // sh, the helper's main and its 3 members
  const auto born_at = r.output.find("born ");
  REQUIRE(born_at != std::string::npos);
  const int born = std::stoi(r.output.substr(born_at + 5));
  CHECK(kill.targets.size() == 6);
  CHECK(r.log.find("SIGKILL to 6 processes: ") != std::string::npos);
  for (const auto& p : kill.targets) {
    CAPTURE(p.pid);
    CHECK_FALSE(p.command.empty());  // 6 members: every one named
    const bool seen_at_term =
        std::any_of(term.targets.begin(), term.targets.end(), [&](const core::ProcessInfo& t) { return t.pid == p.pid; });
    if (p.pid == born) {
      CHECK_FALSE(seen_at_term);
      CHECK(p.pgid == born);  // read after the kill: its own session and group
      CHECK(p.state != '?');
    } else {
      CHECK(seen_at_term);
      CHECK(p.state == '?');  // as named at the SIGTERM; not read again
      CHECK((p.command.find("jw-tree-helper") != std::string::npos || p.command.find("/bin/sh") == 0));
    }
  }
  CHECK(r.rec.signalled.size() == 6);
  CHECK(r.rec.survivors.empty());
  auto pids = ready_pids(r.output);
  pids.push_back(born);
  CHECK(surviving(pids).empty());
}

TEST_CASE("a killed tree in a cgroup is empty once no member lives, before its zombies are reaped, and none is left after the attempt") {
  REQUIRE_CGROUP(parent);
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  platform::RunnerOptions ro;
  ro.stdout_fd = fileno(out);
  ro.stderr_fd = fileno(out);
  ro.guardian = false;  // our only children are then the step's
  auto created = platform::LinuxProcessRunner::create(ro);
  REQUIRE(created.ok());
  auto& runner = **created;
  // Children from before (guardians of earlier runners in this process) are not the step's.
  const auto before = platform::own_children();
  REQUIRE(before.has_value());
  const auto step_children = [&] {
    auto now = platform::own_children().value_or(std::vector<int>{-1});
    std::erase_if(now, [&](int pid) { return std::find(before->begin(), before->end(), pid) != before->end(); });
    return now;
  };
  core::SpawnRequest request;
  request.argv = {k_helper, "--ignore-term", "wide", "20"};
  const auto started = runner.start(request);
  REQUIRE(started.started);
  REQUIRE_FALSE(runner.cgroup_paths().empty());
  const auto until = [](int ms) { return std::chrono::steady_clock::now() + milliseconds(ms); };
  REQUIRE(eventually(
      [&] {
        (void)runner.wait(until(20));
        return file_content(out).find("all-ready 20") != std::string::npos;
      },
      milliseconds(30'000)));

  const auto killed = runner.signal_tree(core::TreeSignal::kill);
  CHECK(killed.size() == 21);
  std::optional<core::RunnerEvent> main_exit;
  bool emptied = false;
  const auto give_up = until(30'000);
  while (!emptied && std::chrono::steady_clock::now() < give_up) {
    const core::RunnerEvent ev = runner.wait(give_up);
    if (ev.kind == core::RunnerEvent::Kind::main_exited) main_exit = ev;
    if (ev.kind == core::RunnerEvent::Kind::tree_emptied) emptied = true;
  }
  REQUIRE(emptied);
  REQUIRE(main_exit.has_value());  // handed out before the emptiness
  CHECK(main_exit->term_signal == SIGKILL);
  CHECK(runner.tree_empty());
  // The 20 orphans, reparented to us (the subreaper), have not been reaped:
  // zombies (or, for a moment, on their way to it), not members.
  const auto children = step_children();
  CHECK(children.size() == 20);
  std::size_t zombies = 0;
  for (int pid : children) zombies += platform::read_proc_stat(pid).value_or(platform::ProcStat{}).state == 'Z' ? 1 : 0;
  CHECK(zombies >= 1);

  const core::AttemptUsage usage = runner.finish_attempt();
  CHECK(usage.processes_reaped == 21);
  CHECK(step_children().empty());

  // The next attempt on the same runner has its main's exit seen through
  // SIGCHLD again (not read while the killed tree's zombies waited): its
  // main exits while a child of it lives on, so the leaf stays populated.
  request.argv = {k_helper, "holder"};
  REQUIRE(runner.start(request).started);
  std::optional<core::RunnerEvent> second;
  const auto second_give_up = until(30'000);
  while (!second && std::chrono::steady_clock::now() < second_give_up) {
    const core::RunnerEvent ev = runner.wait(second_give_up);
    if (ev.kind == core::RunnerEvent::Kind::main_exited) second = ev;
  }
  REQUIRE(second.has_value());
  CHECK(second->exit_code == 0);
  CHECK_FALSE(runner.tree_empty());  // the holder lives
  CHECK(runner.signal_tree(core::TreeSignal::kill).size() == 1);
  bool second_emptied = false;
  while (!second_emptied && std::chrono::steady_clock::now() < second_give_up) {
    second_emptied = runner.wait(second_give_up).kind == core::RunnerEvent::Kind::tree_emptied;
  }
  CHECK(second_emptied);
  (void)runner.finish_attempt();
  CHECK(step_children().empty());
  std::fclose(out);
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
