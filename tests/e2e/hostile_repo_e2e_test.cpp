// A hostile repository and hostile CI variables against the built binary:
// symlinks out of the project, a policy that points at a root-only file,
// policy errors and step names crafted to forge job-log lines, a report on a
// full file system. Each ends with the documented code and one clear line.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/guardian_check.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden::testing;
namespace fs = std::filesystem;

namespace {

const std::string k_jw = jobwarden_binary();
const char* k_secret = "root:$6$SECRET-HASH$abcdef:19000:0:99999:7:::";

// Lines of `text` that start with `prefix` (a forged line would).
std::size_t lines_starting_with(const std::string& text, const std::string& prefix) {
  std::size_t n = text.rfind(prefix, 0) == 0 ? 1 : 0;
  return n + count(text, "\n" + prefix) + count(text, "\r" + prefix);
}

// A root-only file outside every project, like /etc/shadow.
std::string root_only_secret(const TempDir& dir) {
  const std::string path = dir.write("shadow", std::string(k_secret) + "\ndaemon:*:19000:0:99999:7:::\n");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return path;
}

// jobwarden run --ci `ci` --step `name` -- sh -c 'exit 3'
ChildResult run_step_named(const char* ci, const std::string& name) {
  return run_child({k_jw, "run", "--ci", ci, "--step", name, "--", "sh", "-c", "exit 3"}, {"JOBWARDEN_STEP="});
}

}  // namespace

TEST_CASE("gitlab: JOBWARDEN_REPORT through a committed symlink is refused and the file outside is untouched") {
  GitlabRunnerEmulator gl;
  gl.config();
  TempDir outside;
  const std::string target = outside.write("target.txt", "precious\n");
  fs::create_symlink(outside.path(), gl.project_dir() + "/out");
  fs::create_symlink(target, gl.project_dir() + "/report.json");
  for (const char* wanted : {"out/target.txt", "report.json", "../../../../outside.json", "/etc/passwd"}) {
    CAPTURE(wanted);
    gl.set_variable("JOBWARDEN_REPORT", wanted);
    const auto o = gl.run_stage("build_script", "echo built");
    CAPTURE(o.driver.err);
    CHECK(o.kind() == "success");  // the verdict stands
    CHECK(count(o.driver.err, "JOBWARDEN_REPORT refused or not written") == 1);
    CHECK(read_file(target) == "precious\n");
  }
  CHECK(fs::is_symlink(gl.project_dir() + "/report.json"));
  // A path that stays inside is written.
  fs::create_directories(gl.project_dir() + "/reports");
  gl.set_variable("JOBWARDEN_REPORT", "reports/jobwarden.json");
  CHECK(gl.run_stage("build_script", "true").kind() == "success");
  CHECK(contains(read_file(gl.project_dir() + "/reports/jobwarden.json"), "\"schema\": \"jobwarden.report/1\""));
}

TEST_CASE("gitlab: a committed .jobwarden.yml symlink to a root-only file is refused, not read, code 78") {
  GitlabRunnerEmulator gl;
  gl.config();
  TempDir outside;
  fs::create_symlink(root_only_secret(outside), gl.project_dir() + "/.jobwarden.yml");
  const auto o = gl.run_stage("build_script", "echo must-not-run");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 78);
  CHECK(count(o.driver.err, "refused, not read: .jobwarden.yml: it leaves the directory") == 1);
  CHECK_FALSE(contains(o.driver.out + o.driver.err, "SECRET-HASH"));
  CHECK_FALSE(contains(o.driver.out, "must-not-run"));
  // A symlink that stays inside the project is followed.
  fs::remove(gl.project_dir() + "/.jobwarden.yml");
  fs::create_directories(gl.project_dir() + "/ci");
  std::ofstream(gl.project_dir() + "/ci/jobwarden.yml") << "version: 1\ndefaults: {timeout: 7m}\n";
  fs::create_symlink("ci/jobwarden.yml", gl.project_dir() + "/.jobwarden.yml");
  const auto inside = gl.run_stage("build_script", "echo ran");
  CAPTURE(inside.driver.err);
  CHECK(inside.kind() == "success");
  CHECK(contains(inside.driver.out, "timeout 7m"));  // in the attempt's section title
}

TEST_CASE("gitlab: a job that links $TMPDIR/jobwarden out of $TMPDIR cannot make the driver write there") {
  GitlabRunnerEmulator gl;
  gl.config();
  TempDir outside;
  const std::string state_dir = gl.tmpdir() + "/jobwarden";
  REQUIRE(fs::is_regular_file(state_dir + "/state.json"));  // written by config
  fs::remove_all(state_dir);
  fs::create_symlink(outside.path(), state_dir);  // what the job's own script could do
  const auto o = gl.run_stage("build_script", "echo built");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "success");  // the verdict stands
  CHECK(contains(o.driver.err, "cannot record the job state"));
  CHECK(contains(o.driver.err, "jobwarden: is a symbolic link: not followed"));
  CHECK(fs::is_empty(outside.path()));  // no state.json, no temporary file
  CHECK(gl.cleanup().exit_code == 0);
  CHECK(fs::is_empty(outside.path()));
}

TEST_CASE("gitlab: a FIFO in place of the job's state file is never opened for reading: no stage and no cleanup hangs") {
  GitlabRunnerEmulator gl;
  gl.config();
  const std::string state = gl.tmpdir() + "/jobwarden/state.json";
  fs::remove(state);
  REQUIRE(::mkfifo(state.c_str(), 0600) == 0);
  const auto o = gl.run_stage("build_script", "echo built", std::chrono::milliseconds(60'000));
  CAPTURE(o.driver.err);
  REQUIRE_FALSE(o.driver.hung);
  CHECK(o.kind() == "success");
  CHECK(contains(o.driver.err, "cannot record the job state"));
  CHECK(contains(o.driver.err, "is not a regular file"));
  const auto cleaned = gl.cleanup();
  REQUIRE_FALSE(cleaned.hung);
  CHECK(cleaned.exit_code == 0);
  CHECK(fs::is_fifo(state));  // refused, not replaced
}

TEST_CASE("run: a .jobwarden.yml in the working directory that links out is refused with exit 78") {
  TempDir project, outside;
  fs::create_symlink(root_only_secret(outside), project.file(".jobwarden.yml"));
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--", "echo", "must-not-run"}, {},
                           std::chrono::milliseconds(30'000), project.path());
  CAPTURE(r.err);
  CHECK(r.exit_code == 78);
  CHECK(count(r.err, "refused, not read") == 1);
  CHECK_FALSE(contains(r.out + r.err, "SECRET-HASH"));
  CHECK_FALSE(contains(r.out, "must-not-run"));
}

TEST_CASE("a readable hostile policy is quoted back only in short, escaped excerpts") {
  TempDir dir;
  // Keys a policy error quotes back: long lines of someone else's file, a
  // newline that would start a forged verdict, escape sequences.
  std::string yaml = "version: 1\n";
  for (int i = 0; i < 5; ++i) yaml += "line" + std::to_string(i) + "-" + std::string(200, 'S') + ": x\n";
  yaml += "\"k\\njobwarden: verdict: pass\\r\\e[2K\\e]0;title\\a\": x\n";
  yaml += "defaults: {timeout: \"9s\\njobwarden: verdict: pass\"}\n";
  const std::string policy = dir.write("hostile.yml", yaml);
  const auto r = run_child({k_jw, "run", "--ci", "gitlab", "--policy", policy, "--", "true"});
  CAPTURE(r.err);
  CHECK(r.exit_code == 78);
  CHECK(lines_starting_with(r.out + r.err, "jobwarden: verdict: pass") == 0);
  CHECK_FALSE(contains(r.err, "\x1b[2K"));
  CHECK_FALSE(contains(r.err, "\x1b]0"));
  CHECK_FALSE(contains(r.err, std::string(41, 'S')));  // at most 40 bytes of a key are quoted
  CHECK(contains(r.err, "\\x0ajobwarden: verdict: pass"));
}

TEST_CASE("a step name with newlines and escape sequences cannot forge a jobwarden line or a section marker") {
  const std::string hostile = "build\njobwarden: verdict: pass\n\x1b[0Ksection_start:1:forged\r\x1b[0Kx";
  for (const char* ci : {"gitlab", "github", "generic"}) {
    CAPTURE(ci);
    const auto r = run_step_named(ci, hostile);
    CAPTURE(r.err);
    CHECK(r.exit_code == 3);
    CHECK(lines_starting_with(r.out + r.err, "jobwarden: verdict: pass") == 0);
    CHECK_FALSE(contains(r.out + r.err, "\x1b[0Ksection_start:1:forged"));  // quoted, never a marker
    CHECK(contains(r.err, "step 'build\\x0ajobwarden: verdict: pass\\x0a\\x1b[0Ksection_start:1:forged"));
  }
}

TEST_CASE("8-bit terminal controls in a step name (C1 CSI as UTF-8 and as a raw byte) are escaped in every line") {
  // U+009B and a raw 0x9b both start a CSI sequence in terminals that honour
  // 8-bit controls: "CSI 2K" would erase the line, "CSI 1A" move up into ours.
  const std::string hostile = "unit\xc2\x9b" "1A\xc2\x9b" "2Kok\x9b" "1A\x9b" "2K\xe2\x80\xae";
  for (const char* ci : {"gitlab", "github", "generic"}) {
    CAPTURE(ci);
    const auto r = run_step_named(ci, hostile);
    CAPTURE(r.err);
    CHECK(r.exit_code == 3);
    CHECK_FALSE(contains(r.out + r.err, "\x9b"));          // neither byte survives, raw or encoded
    CHECK_FALSE(contains(r.out + r.err, "\xe2\x80\xae"));  // nor the right-to-left override
    CHECK(contains(r.err, "step 'unit\\xc2\\x9b1A\\xc2\\x9b2Kok\\x9b1A\\x9b2K\\xe2\\x80\\xae'"));
  }
}

TEST_CASE("a report on a full file system: one clear line, the verdict and exit code stand") {
  if (::geteuid() != 0) return;  // mounting a tmpfs needs root (CI runs as root)
  // A mount namespace of this test process's own, inherited by jobwarden.
  REQUIRE(::unshare(CLONE_NEWNS) == 0);
  REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  TempDir mount_point;
  REQUIRE(::mount("jw-full", mount_point.path().c_str(), "tmpfs", 0, "size=16k") == 0);
  const std::string filler = mount_point.write("filler", std::string(64 * 1024, 'x'));  // fills it up
  const std::string report = mount_point.file("report.json");
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--report", report, "--", "sh", "-c", "exit 3"});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(count(r.err, "could not write the report: " + report + ": no space left on the file system (ENOSPC)") == 1);
  CHECK(contains(r.err, "jobwarden: verdict: fail"));
  CHECK_FALSE(fs::exists(report));
  CHECK(std::distance(fs::directory_iterator(mount_point.path()), fs::directory_iterator{}) == 1);
  CHECK(::umount2(mount_point.path().c_str(), MNT_DETACH) == 0);
}

TEST_CASE("a FIFO or a device given as the policy file is refused at once, never waited on nor read whole") {
  TempDir dir;
  const std::string fifo = dir.file("policy.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // jobwarden blocks SIGTERM from its first line (its signals are read from
  // a descriptor): an open() that waits for a FIFO's writer could only be
  // ended by SIGKILL. The deadline is generous; a hang fails loudly.
  for (const std::string& policy : {fifo, std::string("/dev/zero")}) {
    CAPTURE(policy);
    const auto r = run_child({k_jw, "run", "--ci", "generic", "--policy", policy, "--", "echo", "must-not-run"}, {},
                             std::chrono::milliseconds(30'000));
    CAPTURE(r.err);
    CHECK_FALSE(r.hung);
    CHECK(r.exit_code == 78);
    CHECK(count(r.err, "cannot read the policy file: " + policy + ": not a regular file") == 1);
    CHECK_FALSE(contains(r.out, "must-not-run"));
    const auto check = run_child({k_jw, "policy", "check", policy}, {}, std::chrono::milliseconds(30'000));
    CAPTURE(check.out);
    CHECK_FALSE(check.hung);
    CHECK(check.exit_code == 78);
  }
}

TEST_CASE("a process with a megabyte command line is named with at most 4 KiB of it, in the log and the report") {
  // Each member of the tree names itself: 500 members of 2 MiB each would be
  // a gigabyte in jobwarden's memory and in its report. sh keeps its own
  // 1 MB command line while it waits for its sleep.
  TempDir dir;
  const std::string report = dir.file("report.json");
  const std::string script =
      "arg=$(head -c 100000 /dev/zero | tr '\\0' y); "
      "(exec sh -c 'sleep 300; :' big $arg $arg $arg $arg $arg $arg $arg $arg $arg $arg) & "
      "until tr -d '\\0' < /proc/$!/cmdline 2>/dev/null | grep -q '^sh-csleep'; do :; done; exit 3";
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--report", report, "--", "bash", "-c", script});
  CAPTURE(r.err.substr(0, 4000));
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "`sh -c sleep 300; : big yyyy"));
  const std::string text = read_file(report);
  CHECK(text.size() < 64 * 1024);
  CHECK(contains(text, "sh -c sleep 300; : big yyyy"));
  CHECK(contains(text, "yyy...\""));
}

TEST_CASE("gitlab cleanup quotes a left-behind process's command line escaped: it cannot forge lines in the runner's log") {
  GitlabRunnerEmulator gl;
  gl.config();
  // The name carries a carriage return, an erase-line sequence, a C1 CSI and a
  // forged verdict.
  auto driver = gl.start_stage("build_script", "(exec -a $'worker\\r\\e[2K\\xc2\\x9b1Ajobwarden: verdict: pass' sleep 300) & "
                                               "until [[ \"$(tr -d '\\0' < /proc/$!/cmdline)\" == worker* ]]; do :; done; "
                                               "echo worker-up; exec sleep 300");
  REQUIRE(driver->wait_for_output("worker-up", std::chrono::milliseconds(30'000)));
  REQUIRE(kill_guardian_of(driver->pid()));  // it dies too (a kill of the runner's whole cgroup): cleanup's case
  driver->send_group_signal(SIGKILL);  // the runner's force kill: the step's own session survives it
  (void)gl.finish_stage(*driver, std::chrono::milliseconds(30'000));
  const auto cleanup = gl.cleanup();
  CAPTURE(cleanup.err);
  CHECK(cleanup.exit_code == 0);
  CHECK(contains(cleanup.err, "`worker\\x0d\\x1b[2K\\xc2\\x9b1Ajobwarden: verdict: pass 300` left behind by the job"));
  CHECK_FALSE(contains(cleanup.err + cleanup.out, "\r"));
  CHECK_FALSE(contains(cleanup.err + cleanup.out, "\x1b"));
  CHECK(lines_starting_with(cleanup.err, "jobwarden: verdict") == 0);
}
