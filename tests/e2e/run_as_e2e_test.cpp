// The admin's run_as: steps run as a real unprivileged user (created here
// when missing, with a supplementary group), proven from inside the step:
// uid, gid, groups, HOME, USER, LOGNAME, what it can and cannot read; and a
// user that does not exist is a system failure that says why.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/text_match.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden::testing;
namespace fs = std::filesystem;

namespace {

const std::string k_jw = jobwarden_binary();
const char* k_user = "jwstep";
const char* k_extra_group = "jwextra";

// The step user, created once per machine (ctest runs cases in parallel:
// serialised with flock; "already exists" is fine).
struct StepUserInfo {
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t extra_gid = 0;
  std::string home;
};

StepUserInfo ensure_step_user() {
  const std::string create =
      std::string("flock /tmp/jobwarden-test-useradd.lock sh -c '") + "getent group " + k_extra_group +
      " >/dev/null || groupadd " + k_extra_group + "; id " + k_user + " >/dev/null 2>&1 || useradd --create-home " +
      "--shell /bin/sh --groups " + k_extra_group + " " + k_user + "'";
  REQUIRE(std::system(create.c_str()) == 0);
  const passwd* pw = ::getpwnam(k_user);
  const group* gr = ::getgrnam(k_extra_group);
  REQUIRE(pw != nullptr);
  REQUIRE(gr != nullptr);
  return {pw->pw_uid, pw->pw_gid, gr->gr_gid, pw->pw_dir};
}

// Prints what the step is, from inside it.
const char* k_identity_probe =
    "echo \"uid=$(id -u) gid=$(id -g) groups=$(id -G) home=$HOME user=$USER logname=$LOGNAME\"; "
    "cat /etc/shadow >/dev/null 2>&1 && echo shadow-readable || echo shadow-denied";

std::string expected_identity(const StepUserInfo& u) {
  return "uid=" + std::to_string(u.uid) + " gid=" + std::to_string(u.gid) + " groups=" + std::to_string(u.gid) +
         " " + std::to_string(u.extra_gid) + " home=" + u.home + " user=" + k_user + " logname=" + k_user + "\n" +
         "shadow-denied\n";
}

}  // namespace

TEST_CASE("run: with run_as the step runs as that user, groups, HOME, USER and LOGNAME included") {
  if (::geteuid() != 0) return;  // switching users needs root (CI runs as root)
  const StepUserInfo u = ensure_step_user();
  TempDir dir;
  const std::string admin = dir.write("admin.yml", std::string("version: 1\nrun_as: ") + k_user + "\n");
  fs::permissions(dir.path(), fs::perms::owner_all);  // the report directory: root's alone
  const std::string report = dir.file("report.json");
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--report", report, "--",
                            "sh", "-c", k_identity_probe},
                           {"HOME=/root", "USER=root", "LOGNAME=root"});
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected_identity(u));
  CHECK(contains(read_file(report), "\"action\": \"pass\""));  // jobwarden's own work stays root's
  // By uid too.
  dir.write("admin.yml", "version: 1\nrun_as: " + std::to_string(u.uid) + "\n");
  const auto by_uid = run_child({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--", "id", "-u"});
  CHECK(by_uid.out == std::to_string(u.uid) + "\n");
}

TEST_CASE("run: run_as naming a user that does not exist is a system failure that says why, and nothing runs") {
  TempDir dir;
  const std::string admin = dir.write("admin.yml", "version: 1\nrun_as: no-such-user-jw\n");
  const std::string marker = dir.file("ran");
  const auto r = run_child({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--", "touch", marker});
  CAPTURE(r.err);
  CHECK(r.exit_code == 75);
  CHECK(r.err == "jobwarden: verdict: system_failure: not started: run_as user 'no-such-user-jw': no such user in "
                 "the user database (run_as in " + admin + "); exit code 75\n");
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("gitlab: with run_as every stage runs as that user in directories prepared for it") {
  if (::geteuid() != 0) return;
  const StepUserInfo u = ensure_step_user();
  GitlabRunnerEmulator gl;
  gl.append_admin_config(std::string("run_as: ") + k_user + "\n");
  fs::permissions(gl.tmpdir(), fs::perms::owner_all);  // as the runner makes it: 0700, root's
  const auto config = gl.config();
  CAPTURE(config.err);
  REQUIRE(config.exit_code == 0);
  struct stat st {};
  REQUIRE(::stat((gl.builds_base() + "/tok/1").c_str(), &st) == 0);
  CHECK(st.st_uid == u.uid);
  const auto prepare = gl.prepare();
  CHECK(contains(prepare.out, std::string("jobwarden: steps run as ") + k_user + " (uid " + std::to_string(u.uid)));
  fs::remove_all(gl.builds_base() + "/tok/1/group");  // the user's checkout, as get_sources would make it
  const auto sources = gl.run_stage("get_sources", "mkdir -p '" + gl.builds_base() + "/tok/1/group/project' && echo cloned");
  CAPTURE(sources.driver.err);
  REQUIRE(sources.kind() == "success");
  gl.set_variable("JOBWARDEN_REPORT", "jobwarden.json");
  const auto o = gl.run_stage("build_script", std::string(k_identity_probe) + "; touch \"$TMPDIR/t\" && echo tmp-ok");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "success");
  CHECK(contains(o.driver.out, expected_identity(u) + "tmp-ok\n"));
  REQUIRE(::stat((gl.project_dir() + "/jobwarden.json").c_str(), &st) == 0);
  CHECK(st.st_uid == u.uid);  // written beneath the project with the user's rights
  CHECK(fs::exists(gl.tmpdir() + "/jobwarden-report.json"));
}

TEST_CASE("gitlab: without run_as the banner warns that steps run as root, and a missing user is a system failure") {
  if (::geteuid() != 0) return;
  GitlabRunnerEmulator plain;
  plain.config();
  CHECK(contains(plain.prepare().out, "jobwarden: WARNING: steps run as root"));
  GitlabRunnerEmulator gl;
  gl.append_admin_config("run_as: no-such-user-jw\n");
  const auto config = gl.config();
  CHECK(config.exit_code == 2);
  CHECK(contains(config.err, "run_as user 'no-such-user-jw': no such user in the user database"));
  const auto o = gl.run_stage("build_script", "echo must-not-run");
  CHECK(o.kind() == "system_failure");
  CHECK(count(o.driver.err, "verdict: system_failure: not started: run_as user 'no-such-user-jw'") == 1);
  CHECK_FALSE(contains(o.driver.out, "must-not-run"));
}

TEST_CASE("gitlab: with run_as a .jobwarden.yml the user may not read is refused, not read by root for it") {
  if (::geteuid() != 0) return;
  ensure_step_user();
  GitlabRunnerEmulator gl;
  gl.append_admin_config(std::string("run_as: ") + k_user + "\n");
  gl.config();
  gl.write_repo_policy("version: 1\n# root-only-secret\n");
  fs::permissions(gl.project_dir() + "/.jobwarden.yml", fs::perms::owner_read | fs::perms::owner_write);
  ::chown((gl.project_dir() + "/.jobwarden.yml").c_str(), 0, 0);
  const auto o = gl.run_stage("build_script", "echo must-not-run");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "build_failure");
  CHECK(o.build_exit_code == 78);
  CHECK(contains(o.driver.err, "refused, not read: .jobwarden.yml: Permission denied"));
  CHECK_FALSE(contains(o.driver.out + o.driver.err, "root-only-secret"));
}

TEST_CASE("run: a step run as another user still dies with a SIGKILLed jobwarden (PDEATHSIG set after the switch)") {
  if (::geteuid() != 0) return;
  ensure_step_user();
  TempDir dir;
  const std::string admin = dir.write("admin.yml", std::string("version: 1\nrun_as: ") + k_user + "\n");
  ChildProcess jw({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--", tree_helper(), "sleep"});
  REQUIRE(jw.wait_for_output("sleeper", std::chrono::milliseconds(30'000)));
  jw.send_signal(SIGKILL);
  const auto r = jw.wait();
  const std::vector<int> pids = ready_pids(r.out);
  REQUIRE(pids.size() == 1);
  // Changing credentials clears PR_SET_PDEATHSIG: without setting it again
  // after setuid, the sleeper would outlive jobwarden.
  CHECK(eventually([&] { return surviving(pids).empty(); }, std::chrono::milliseconds(20'000)));
  for (int pid : surviving(pids)) ::kill(pid, SIGKILL);
}

TEST_CASE("run: no_new_privileges keeps a setuid-root program in a run_as step from raising it to root") {
  if (::geteuid() != 0) return;  // switching users and a setuid-root file need root (CI runs as root)
  const StepUserInfo u = ensure_step_user();
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  // A setuid-root copy of id: what sudo or any setuid helper amounts to.
  const std::string suid_id = dir.file("suid-id");
  fs::copy_file("/usr/bin/id", suid_id);
  REQUIRE(::chmod(suid_id.c_str(), 04755) == 0);
  const std::string probe = suid_id + " -u; grep '^NoNewPrivs:' /proc/self/status";
  const std::string admin = dir.write("admin.yml", std::string("version: 1\nrun_as: ") + k_user + "\n");
  const auto plain = run_child({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--", "sh", "-c", probe});
  CAPTURE(plain.err);
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out == "0\nNoNewPrivs:\t0\n");  // the default: the setuid bit works

  dir.write("admin.yml", std::string("version: 1\nrun_as: ") + k_user + "\nno_new_privileges: true\n");
  const auto nnp = run_child({k_jw, "run", "--ci", "generic", "--admin-config", admin, "--", "sh", "-c", probe});
  CAPTURE(nnp.err);
  CHECK(nnp.exit_code == 0);
  CHECK(nnp.out == std::to_string(u.uid) + "\nNoNewPrivs:\t1\n");
}
