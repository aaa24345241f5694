// Real faults around the step, against the built binary: a tiny descriptor
// limit, the limit taken away mid-step (ppoll fails), /proc entries that
// vanish while jobwarden scans, the CI's pipe closed mid-step, a socket as
// stdout whose reader stops reading, a crash during the grace. Each ends with
// the documented code, one clear line, and nothing left running (every
// process the step started carries a marker in its environment; none may be
// alive afterwards).
#include <doctest/doctest.h>

#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

const std::string k_jw = jobwarden_binary();

// A variable every process of one test's step inherits.
std::string fresh_marker() {
  std::mt19937_64 rng(std::random_device{}());
  return "JW_FAULT_MARKER=" + std::to_string(rng());
}

// Live (non-zombie) processes whose environment holds `marker`.
std::vector<int> marked_alive(const std::string& marker) {
  std::vector<int> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (const dirent* e = ::readdir(proc)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    const std::string env = read_file("/proc/" + std::to_string(pid) + "/environ");
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close_paren = stat.rfind(')');
    const bool zombie = close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] == 'Z';
    if (!zombie && contains(std::string(env.begin(), env.end()), marker)) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

void require_nothing_left(const std::string& marker) {
  const bool clean = eventually([&] { return marked_alive(marker).empty(); }, milliseconds(10'000));
  CHECK(clean);
  for (int pid : marked_alive(marker)) ::kill(pid, SIGKILL);
}

}  // namespace

TEST_CASE("fault: a tiny RLIMIT_NOFILE is an internal fault, exit 70, in one line, and nothing is started") {
#ifdef JOBWARDEN_SANITIZED
  // The sanitizer runtime itself fails without descriptors (false UBSan
  // reports, exit 1): this case runs in the optimised build only.
  MESSAGE("skipped under sanitizers");
  return;
#endif
  for (const char* limit : {"5", "8", "12"}) {
    CAPTURE(limit);
    TempDir dir;
    const std::string marker = fresh_marker();
    const std::string ran = dir.file("ran");
    const auto r = run_child({"/bin/bash", "-c", std::string("ulimit -n ") + limit + "; exec \"$@\"", "_", k_jw, "run",
                              "--ci", "generic", "--", "touch", ran},
                             {marker});
    CAPTURE(r.err);
    CHECK(r.exit_code == 70);
    CHECK(count(r.err, "jobwarden: internal fault: ") + count(r.err, "jobwarden: warning: internal fault: ") == 1);
    CHECK(contains(r.err, "Too many open files"));
    CHECK_FALSE(std::filesystem::exists(ran));
    require_nothing_left(marker);
  }
}

TEST_CASE("fault: the descriptor limit lowered under a running jobwarden makes ppoll fail: 70, tree killed") {
  const std::string marker = fresh_marker();
  ChildProcess jw(jw_run({"--timeout", "5m"}, {"sh", "-c", "sleep 300 & setsid sleep 301 & echo started; wait"}),
                  {marker});
  REQUIRE(jw.wait_for_output("started", milliseconds(30'000)));
  REQUIRE(eventually([&] { return marked_alive(marker).size() >= 3; }, milliseconds(10'000)));
  rlimit tiny{2, 2};
  rlimit old{};
  REQUIRE(::prlimit(jw.pid(), RLIMIT_NOFILE, nullptr, &old) == 0);
  tiny.rlim_max = old.rlim_max;  // the soft limit only: jobwarden may take it back to kill the tree
  REQUIRE(::prlimit(jw.pid(), RLIMIT_NOFILE, &tiny, nullptr) == 0);
  const auto r = jw.wait();  // the next wake-up (schedstat sampling, once a second) calls ppoll
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 70);
  CHECK(count(r.err, "jobwarden: internal fault: ppoll: Invalid argument; the step's tree is killed") == 1);
  require_nothing_left(marker);
}

TEST_CASE("fault: /proc entries vanishing mid-scan (a tree churning short-lived processes) end in a clean timeout") {
  const std::string marker = fresh_marker();
  TempDir dir;
  const std::string report = dir.file("report.json");
  // Hundreds of processes a second are born and reaped while jobwarden samples
  // the tree, signals it and sweeps it: /proc/PID entries vanish under it.
  const auto r = run_child(jw_run({"--timeout", "3s", "--grace", "2s", "--report", report},
                                  {"sh", "-c", "while :; do /bin/true & /bin/true & wait; done"}),
                           {marker, "JOBWARDEN_STARVATION=0"});  // a loaded host must not turn it into a retry
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 124);
  CHECK(contains(r.err, "jobwarden: timeout 3s reached: SIGTERM to "));
  CHECK(count(r.err, "jobwarden: verdict: fail: step 'default': timeout after 1 attempt") == 1);
  CHECK(nlohmann::json::parse(read_file(report))["attempts"][0]["outcome"] == "timeout");
  require_nothing_left(marker);
}

TEST_CASE("fault: the CI's pipe closed mid-step cancels the step as by SIGPIPE, 141, and the report says so") {
  const std::string marker = fresh_marker();
  TempDir dir;
  const std::string report = dir.file("report.json");
  // `head -c 6` reads the first line and goes away: jobwarden's stdout has no reader any more.
  const std::string pipeline = "\"$@\" | head -c 6 >/dev/null; echo \"rc=${PIPESTATUS[0]}\" >&2";
  std::vector<std::string> argv{"/bin/bash", "-c", pipeline, "_"};
  for (const auto& a : jw_run({"--grace", "5s", "--report", report}, {"sh", "-c", "echo start; exec sleep 300"})) {
    argv.push_back(a);
  }
  const auto r = run_child(argv, {marker});
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(contains(r.err, "rc=141\n"));
  CHECK(count(r.err, "the CI stopped reading jobwarden's output (EPIPE): cancelling the step") == 1);
  const auto j = nlohmann::json::parse(read_file(report));
  CHECK(j["cancel_signal"] == "SIGPIPE");
  CHECK(j["attempts"][0]["outcome"] == "cancelled");
  CHECK(j["exit_code"] == 141);
  require_nothing_left(marker);
}

TEST_CASE("fault: a socket as stdout whose reader stops reading cannot stop the timeout") {
  const std::string marker = fresh_marker();
  TempDir dir;
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);  // sv[1]: never read
  const std::string err_path = dir.file("stderr");
  const auto argv = jw_run({"--timeout", "3s", "--grace", "2s"}, {"sh", "-c", "yes jobwarden-socket-flood"});
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(sv[0], 1);  // a blocking socket: jobwarden cannot reopen it non-blocking
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::putenv(const_cast<char*>(marker.c_str()));
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(sv[0]);
  int status = 0;
  const bool ended = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, milliseconds(60'000));
  if (!ended) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(sv[1]);
  const std::string err = read_file(err_path);
  CAPTURE(err);
  REQUIRE(ended);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 124);
  CHECK(contains(err, "jobwarden: timeout 3s reached"));
  CHECK(contains(err, "bytes of output dropped (the log's reader stopped reading)"));
  require_nothing_left(marker);
}

TEST_CASE("fault: a crash during the grace after a timeout is classified signal, not blamed on our SIGTERM") {
  const std::string marker = fresh_marker();
  // The main process catches our SIGTERM and crashes in its handler.
  const auto r = run_child(jw_run({"--timeout", "2s", "--grace", "10s"},
                                  {"sh", "-c", "trap 'kill -SEGV $$' TERM; echo ready; while :; do sleep 1; done"}),
                           {marker});
  CAPTURE(r.err);
  REQUIRE_FALSE(r.hung);
  CHECK(r.exit_code == 139);
  CHECK(contains(r.err, "timeout 2s reached: SIGTERM to"));
  CHECK(contains(r.err, "attempt 1 of up to 2: signal (killed by SIGSEGV (not sent by jobwarden), code 139)"));
  require_nothing_left(marker);
}
