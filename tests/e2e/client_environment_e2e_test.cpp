// jobwarden's own HTTP client against a job's environment: under `jobwarden
// run` in a job, jobwarden has the job's environment, and glibc's resolver
// reads HOSTALIASES, LOCALDOMAIN and RES_OPTIONS from it. Here a real
// resolver (glibc, through libcurl) asks a real DNS server on loopback, in a
// network namespace of the test's own, for the name of the admin's alert
// receiver; the job's variables would send the alert to another address.
#include <doctest/doctest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/operations_fixture.hpp"
#include "tests/support/dns_responder.hpp"
#include "tests/support/http_receiver.hpp"

using namespace jobwarden::testing;
using std::chrono::milliseconds;

TEST_CASE("a job's HOSTALIASES, LOCALDOMAIN or RES_OPTIONS reach the step but never redirect jobwarden's alert") {
  if (::geteuid() != 0) return;  // namespaces and port 53 need root (CI runs as root)
  TempDir dir;
  // The admin's name for the receiver, "receiver", is found through the
  // search list as receiver.jwtest (127.0.0.1); each variable below makes it
  // 127.0.0.2, where nothing listens: the alert about the job would be lost.
  const std::string resolv_conf = dir.write("resolv.conf", "nameserver 127.0.0.1\nsearch jwtest\noptions timeout:2\n");
  std::string why;
  // This process's namespaces: before any thread exists (the receivers' come after).
  REQUIRE_MESSAGE(isolated_network_namespace(resolv_conf, why), why);
  const DnsResponder dns({{"receiver.jwtest", "127.0.0.1"},
                          {"decoy.jwtest", "127.0.0.2"},
                          {"receiver.evil", "127.0.0.2"},
                          {"receiver", "127.0.0.2"}});
  const std::string aliases = dir.write("hostaliases", "receiver decoy.jwtest\n");
  for (const std::string& variable : {"HOSTALIASES=" + aliases, std::string("LOCALDOMAIN=evil"),
                                      std::string("RES_OPTIONS=ndots:0")}) {
    CAPTURE(variable);
    HttpReceiver receiver(HttpReceiver::Mode::up);
    Host host("alerts: {webhook: 'http://receiver:" + std::to_string(receiver.port()) + "/hooks/t0k3n', timeout: 5s}\n");
    // The step resolves the same name with the job's environment (getent:
    // glibc's getaddrinfo), so the redirect is shown to work, and prints the
    // variables it got.
    const auto r = host.run("build",
                            "getent hosts receiver; "
                            "printf 'env:%s|%s|%s\\n' \"$HOSTALIASES\" \"$LOCALDOMAIN\" \"$RES_OPTIONS\"; exit 3",
                            {variable});
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.out.rfind("127.0.0.2 ", 0) == 0);
    // ... and got the variable exactly as the job had it.
    const auto given = [&](const std::string& name) {
      return variable.rfind(name + "=", 0) == 0 ? variable.substr(name.size() + 1) : std::string();
    };
    CHECK(contains(r.out, "env:" + given("HOSTALIASES") + "|" + given("LOCALDOMAIN") + "|" + given("RES_OPTIONS") + "\n"));
    CHECK_FALSE(contains(r.err, "alert: exhausted: the webhook failed"));
    if (!receiver.wait_for_requests(1, milliseconds(10'000))) {
      FAIL_CHECK("the alert never reached the admin's receiver");
      continue;
    }
    const auto requests = receiver.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == "/hooks/t0k3n");
    CHECK(nlohmann::json::parse(requests[0].body)["event"] == "exhausted");
  }
}
