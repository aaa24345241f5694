// libcurl is opened only when something is sent (executor/platform/libcurl.hpp):
// never mapped while a step runs, and when it cannot be loaded the push and
// the alert fail with the reason while the verdict stays what it was.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/http_receiver.hpp"

using namespace jobwarden::testing;

namespace {

// A Pushgateway and an alert webhook on `receiver`, both bounded by 1 s.
std::string sending_admin(const HttpReceiver& receiver) {
  return "version: 1\nmetrics: {pushgateway: '" + receiver.url("/pg") +
         "', timeout: 1s, connect_timeout: 500ms}\nalerts: {webhook: '" + receiver.url("/hook") + "', timeout: 1s}\n";
}

std::string verdict_line(const std::string& err) {
  const auto at = err.find("jobwarden: verdict: ");
  return at == std::string::npos ? std::string() : err.substr(at, err.find('\n', at) - at);
}

// `host.run("build", "exit 3")` in a mount namespace of its own where `cover`
// (a shell word) is bind-mounted over the file libcurl.so.4 resolves to.
ChildResult run_with_libcurl_covered(Host& host, const std::string& cover) {
  std::vector<std::string> argv{
      "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
      R"sh(lib=$(/sbin/ldconfig -p | awk '$1 == "libcurl.so.4" {print $NF; exit}'))sh"
      R"sh( && [ -n "$lib" ] && mount --bind )sh" + cover + R"sh( "$(readlink -f "$lib")" && exec "$@")sh",
      "sh"};
  const auto jobwarden = host.run_argv("build", "exit 3");
  argv.insert(argv.end(), jobwarden.begin(), jobwarden.end());
  return run_child(argv, {}, std::chrono::milliseconds(120'000), host.dir.path());
}

}  // namespace

TEST_CASE("operations: libcurl is not mapped while the step runs, and is loaded afterwards to push and alert") {
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", sending_admin(receiver));
  // The step's parent is jobwarden: the step reports what jobwarden has mapped, then fails (exhausted: an alert).
  const auto r = host.run("build",
                          "p=$PPID; echo \"exe: $(readlink /proc/$p/exe)\"; "
                          "echo \"libc: $(grep -c 'libc[.-]' /proc/$p/maps)\"; "
                          "echo \"libcurl: $(grep -c libcurl /proc/$p/maps)\"; exit 3");
  CAPTURE(r.out);
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.out, "exe: " + std::filesystem::canonical(jobwarden_binary()).string() + "\n"));
  CHECK_FALSE(contains(r.out, "libc: 0\n"));  // the maps were read: libc is there
  CHECK(contains(r.out, "libcurl: 0\n"));
  // After the verdict, both requests went out through the libcurl loaded for them.
  CHECK(receiver.wait_for_requests(2, std::chrono::milliseconds(20'000)));
  CHECK(contains(r.err, "jobwarden: alert: exhausted: sent to the webhook (HTTP 200, "));
  CHECK_FALSE(contains(r.err, "push to the Pushgateway failed"));
}

TEST_CASE("operations: without a usable libcurl the push and the alert fail naming the reason, verdict and exit code unchanged") {
  if (::geteuid() != 0) return;  // a private mount namespace needs root (CI runs as root)
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", sending_admin(receiver));
  const auto reference = host.run("build", "exit 3");
  REQUIRE(reference.exit_code == 3);
  REQUIRE(receiver.wait_for_requests(2, std::chrono::milliseconds(20'000)));
  const std::size_t sent_before = receiver.requests().size();

  // In a mount namespace of its own, /dev/null covers the file libcurl.so.4 resolves to: dlopen refuses it.
  const auto r = run_with_libcurl_covered(host, "/dev/null");
  CAPTURE(r.err);
  CHECK(r.exit_code == reference.exit_code);
  CHECK(verdict_line(r.err) == verdict_line(reference.err));
  CHECK_FALSE(verdict_line(r.err).empty());
  CHECK(contains(r.err, "jobwarden: warning: metrics: push to the Pushgateway failed after "));
  CHECK(contains(r.err, "jobwarden: warning: alert: exhausted: the webhook failed after "));
  CHECK(contains(r.err, "(libcurl could not be loaded: "));
  CHECK(contains(r.err, "libcurl.so.4"));
  CHECK(contains(r.err, "); the verdict is unchanged"));
  CHECK(receiver.requests().size() == sent_before);
}

TEST_CASE("operations: a libcurl.so.4 that is not libcurl fails the push and the alert naming the missing function") {
  if (::geteuid() != 0) return;  // a private mount namespace needs root (CI runs as root)
  HttpReceiver receiver(HttpReceiver::Mode::up);
  Host host("");
  host.dir.write("admin.yaml", sending_admin(receiver));
  // libm in libcurl's place: dlopen succeeds (jobwarden has libm mapped already), the first lookup fails.
  const auto r = run_with_libcurl_covered(
      host, R"sh("$(readlink -f "$(/sbin/ldconfig -p | awk '$1 == "libm.so.6" {print $NF; exit}')")")sh");
  CAPTURE(r.err);
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "(libcurl could not be loaded: libcurl.so.4 lacks curl_global_init)"));
  CHECK(contains(r.err, "); the verdict is unchanged"));
  CHECK(receiver.requests().empty());
}
