// Masked CI variables never appear in what jobwarden itself writes: its job-log
// lines, the report, the metrics (textfile and Pushgateway) and the alert.
#include <doctest/doctest.h>

#include <csignal>

#include "tests/e2e/gitlab_runner_emulator.hpp"
#include "tests/support/guardian_check.hpp"
#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/http_receiver.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

namespace {

std::string operations_admin(const Host& host, const HttpReceiver& receiver, const Pushgateway& gateway) {
  return "metrics: {textfile_dir: " + host.metrics_dir() + ", pushgateway: '" + gateway.url() + "'}\n" +
         "alerts: {webhook: '" + receiver.url("/hook") + "', timeout: 2s}\n";
}

}  // namespace

TEST_CASE("secrets: a GitLab masked variable is in no line, report, metric or alert of jobwarden's") {
  const std::string secret = "s3cr3t-value-8842";
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Pushgateway gateway;
  Host files("");
  GitlabRunnerEmulator gl;
  gl.set_masked_variable("DEPLOY_TOKEN", secret);
  gl.append_admin(operations_admin(files, receiver, gateway));
  gl.write_repo_policy(k_retry_policy);
  gl.config();
  // The secret is in the command line of a process the tree kill names, and in the step's own output.
  // The stage waits (handshake) until the background process has exec'd under its new name.
  const auto o = gl.run_stage("build_script", "(exec -a worker-" + secret + " sleep 300) & "
                                              "until [[ \"$(tr -d '\\0' < /proc/$!/cmdline)\" == worker-* ]]; do :; done; "
                                              "echo " + secret + "; exit 3");
  CAPTURE(o.driver.err);
  CHECK(o.kind() == "build_failure");
  CHECK(contains(o.driver.out, secret));  // the step's own output is relayed untouched (GitLab masks it)
  const std::string lines = own_lines(o.driver.err) + own_lines(o.driver.out);
  CHECK(contains(lines, "worker-[MASKED]"));
  CHECK_FALSE(contains(lines, secret));
  const std::string report = read_file(gl.tmpdir() + "/jobwarden-report.json");
  CHECK(contains(report, "worker-[MASKED]"));
  CHECK_FALSE(contains(report, secret));
  CHECK_FALSE(contains(read_file(files.textfile()), secret));
  REQUIRE(receiver.wait_for_requests(1, milliseconds(10'000)));
  CHECK_FALSE(contains(receiver.requests()[0].body, secret));
  CHECK_FALSE(contains(gateway.metrics(), secret));
}

TEST_CASE("secrets: an admin-listed variable's value is masked even in a step name, metric labels included") {
  const std::string secret = "adm1n-listed-key-31337";
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Pushgateway gateway;
  const std::string step = "deploy-" + secret;
  Host host("", std::string(k_retry_policy) + "  " + step + ": {}\n");
  host.dir.write("admin.yaml", "version: 1\nsecrets: {variables: [DEPLOY_KEY]}\n" +
                                   operations_admin(host, receiver, gateway));
  const auto r = host.run(step, "exit 3", {"DEPLOY_KEY=" + secret}, {"--report", host.dir.file("report.json")});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "step 'deploy-[MASKED]'"));
  CHECK_FALSE(contains(r.err + r.out, secret));
  CHECK_FALSE(contains(read_file(host.dir.file("report.json")), secret));
  const std::string text = read_file(host.textfile());
  CAPTURE(text);
  CHECK(contains(text, "step=\"deploy-_MASKED_\""));
  CHECK_FALSE(contains(text, secret));
  REQUIRE(receiver.wait_for_requests(1, milliseconds(10'000)));
  CHECK_FALSE(contains(receiver.requests()[0].body, secret));
  const std::string pushed = gateway.metrics();
  CHECK(contains(pushed, "deploy-_MASKED_"));
  CHECK_FALSE(contains(pushed, secret));
}

TEST_CASE("secrets: gitlab cleanup names what it kills with the job's masked values masked") {
  const std::string secret = "cl3anup-secret-5521";
  GitlabRunnerEmulator gl;
  gl.set_masked_variable("DEPLOY_TOKEN", secret);
  gl.config();
  auto driver = gl.start_stage("build_script", "(exec -a worker-" + secret + " sleep 300) & "
                                               "until [[ \"$(tr -d '\\0' < /proc/$!/cmdline)\" == worker-* ]]; do :; done; "
                                               "echo worker-up; exec sleep 300");
  REQUIRE(driver->wait_for_output("worker-up", milliseconds(30'000)));
  REQUIRE(kill_guardian_of(driver->pid()));  // it dies too (a kill of the runner's whole cgroup): cleanup's case
  driver->send_group_signal(SIGKILL);  // the runner's force kill: the step's own session survives it
  (void)gl.finish_stage(*driver, milliseconds(30'000));
  const auto cleanup = gl.cleanup();
  CAPTURE(cleanup.err);
  CHECK(cleanup.exit_code == 0);
  CHECK(contains(cleanup.err, "`worker-[MASKED] 300` left behind by the job"));
  CHECK_FALSE(contains(cleanup.err + cleanup.out, secret));
}

TEST_CASE("secrets: a secret with a quote, a slash or a tab is masked in the command line and the section markers too") {
  // Quoting the command for the attempt line ('...'\''...'), escaping a tab
  // (\x09) or turning '/' into '_' in a section id would each hide the
  // secret from a mask applied afterwards: it must be masked first.
  const std::string secret = "Zq9'Vx/Wk+Mh\tPr7Ty=";
  const std::string yaml_key = "deploy-Zq9'Vx/Wk+Mh\\tPr7Ty=";  // the step, in YAML double quotes
  Host host("", std::string(k_retry_policy) + "  \"" + yaml_key + "\": {}\n");
  host.dir.write("admin.yaml", "version: 1\nsecrets: {variables: [DEPLOY_KEY]}\n");
  for (const char* ci : {"gitlab", "github", "generic"}) {
    CAPTURE(ci);
    std::vector<std::string> argv{jobwarden_binary(), "run", "--ci", ci, "--admin-config", host.admin_path,
                                  "--policy", host.policy_path, "--step", "deploy-" + secret,
                                  "--", "/bin/sh", "-c", "exit 3", secret};
    const auto r = run_child(argv, {"DEPLOY_KEY=" + secret});
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 3);
    CHECK(contains(r.err + r.out, "[MASKED]"));
    for (const char* fragment : {"Zq9", "Pr7Ty", "Wk+Mh", "Wk_Mh"}) {
      CAPTURE(fragment);
      CHECK_FALSE(contains(r.err + r.out, fragment));
    }
  }
}

TEST_CASE("secrets: a JUnit output tail cut inside a secret, or XML-escaping one, shows no part of it") {
  // 18 bytes with '&' and '<' (XML escapes both) straddling the 16 KiB the
  // JUnit report keeps of the output: the kept tail would start with its
  // last 10 bytes; the second copy, whole, would be escaped to p&amp;ss&lt;...
  const std::string secret = "p&ss<w0rd>-7731-Kq";
  Host host("secrets: {variables: [DEPLOY_KEY]}\n");
  const std::string junit = host.dir.file("junit.xml");
  const auto r = host.run("build",
                          "printf '%s' \"$DEPLOY_KEY\"; head -c 16350 /dev/zero | tr '\\0' x; "
                          "printf '\\nand %s\\n' \"$DEPLOY_KEY\"; exit 3",
                          {"DEPLOY_KEY=" + secret}, {"--junit", junit});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  const std::string xml = read_file(junit);
  CHECK(contains(xml, "and [MASKED]"));
  for (const char* fragment : {"7731", "-Kq", "p&amp;ss", "w0rd"}) {
    CAPTURE(fragment);
    CHECK_FALSE(contains(xml, fragment));
  }
}

TEST_CASE("secrets: a policy error's 40-byte quote that cuts a secret shows none of its prefix") {
  const std::string secret = "hunter2-Zq9Vx-5521";
  // The key is quoted in an "unknown key" error, cut after 40 bytes: 30 x
  // and the secret's first 10 bytes.
  Host host("secrets: {variables: [DEPLOY_KEY]}\n",
            "version: 1\n" + std::string(30, 'x') + secret + ": 1\n");
  const auto r = host.run("build", "true", {"DEPLOY_KEY=" + secret});
  CAPTURE(r.err);
  CHECK(r.exit_code == 78);
  CHECK(contains(r.err, std::string(30, 'x') + "[MASKED]..."));
  CHECK_FALSE(contains(r.err, "hunter"));
}

TEST_CASE("secrets: a process that left the process group, its command cut in the summary, shows none of the secret") {
  // The escapee's command line is cut after 80 bytes for the attempt's
  // summary and the signal line: 70 'w' and the secret's first 10 bytes.
  const std::string secret = "escap3d-Zq9Vx-77123";
  const std::string name = std::string(70, 'w') + secret;
  Host host("secrets: {variables: [DEPLOY_KEY]}\n");
  const auto r = host.run("build",
                          "(exec setsid bash -c 'exec -a " + name + " sleep 300') & "
                          "until tr -d '\\0' < /proc/$!/cmdline 2>/dev/null | grep -q '^www'; do :; done; exit 3",
                          {"DEPLOY_KEY=" + secret});
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "escaped the process group"));
  CHECK(contains(r.err, std::string(70, 'w') + "[MASKED]"));
  CHECK_FALSE(contains(r.err, "escap3d"));
}
