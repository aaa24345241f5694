// jobwarden's own HTTP client against a job's environment: under `jobwarden
// run` in a job, jobwarden has the job's environment, and glibc's resolver
// reads HOSTALIASES, LOCALDOMAIN and RES_OPTIONS from it. Here a real
// resolver (glibc, through libcurl) asks a real DNS server on loopback, in a
// network namespace of the test's own, for the name of the admin's alert
// receiver; the job's variables would send the alert to another address.
// And OpenSSL (libcurl's TLS) reads OPENSSL_CONF, OPENSSL_MODULES,
// OPENSSL_ENGINES and OPENSSL_ia32cap from it, GnuTLS (loaded with libcurl)
// GNUTLS_SYSTEM_PRIORITY_FILE: an HTTPS receiver on loopback,
// with a CA of the test's own as the host's whole CA store, and the job's
// variables would load the job's module into jobwarden, crash it or hang it.
#include <doctest/doctest.h>

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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

namespace {

// This process's own mount namespace (before any thread exists), where each
// `binds` entry's file (first) is bind-mounted over a host file (second).
bool private_mounts(const std::vector<std::pair<std::string, std::string>>& binds, std::string& why) {
  if (::unshare(CLONE_NEWNS) != 0) {
    why = std::string("unshare: ") + std::strerror(errno);
    return false;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    why = std::string("mount: ") + std::strerror(errno);
    return false;
  }
  for (const auto& [file, over] : binds) {
    if (::mount(file.c_str(), over.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      why = "bind " + file + " over " + over + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

ChildResult openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_child(argv);
}

}  // namespace

TEST_CASE("a job's OPENSSL_CONF, OPENSSL_MODULES, OPENSSL_ENGINES, OPENSSL_ia32cap, GNUTLS_SYSTEM_PRIORITY_FILE, SSL_CERT_FILE or SSL_CERT_DIR reach the step but never jobwarden's HTTPS alert") {
  if (::geteuid() != 0) return;  // a mount namespace needs root (CI runs as root)
  TempDir dir;
  // A CA of the test's own, and the receiver's certificate for 127.0.0.1 signed by it.
  REQUIRE(openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=jobwarden test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
                   "-keyout", dir.file("ca.key"), "-out", dir.file("ca.pem")})
              .exit_code == 0);
  REQUIRE(openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                   "-addext", "subjectAltName=IP:127.0.0.1", "-CA", dir.file("ca.pem"), "-CAkey", dir.file("ca.key"),
                   "-keyout", dir.file("server.key"), "-out", dir.file("server.pem")})
              .exit_code == 0);
  // The admin's host: its CA store holds the test CA alone (libcurl's
  // built-in bundle path), and its openssl.cnf loads a provider and an
  // engine by name, from OpenSSL's own directories (where OPENSSL_MODULES
  // and OPENSSL_ENGINES would point elsewhere).
  const std::string admin_openssl_cnf = dir.write("openssl.cnf",
                                                  "openssl_conf = init\n[init]\nproviders = prov\nengines = eng\n"
                                                  "[prov]\ndefault = def\nlegacy = leg\n[def]\nactivate = 1\n"
                                                  "[leg]\nactivate = 1\n[eng]\npadlock = pad\n[pad]\ninit = 0\n");
  std::string why;
  REQUIRE_MESSAGE(private_mounts({{dir.file("ca.pem"), "/etc/ssl/certs/ca-certificates.crt"},
                                  {admin_openssl_cnf, "/etc/ssl/openssl.cnf"}},
                                 why),
                  why);
  // The job's modules: a shared object that notes who loads it, under the
  // names OpenSSL would look for in the job's directories.
  const std::string module = JOBWARDEN_LOADED_MARKER_MODULE;
  std::filesystem::create_directory(dir.file("job-modules"));
  for (const char* name : {"legacy.so", "padlock.so"}) {
    std::filesystem::copy_file(module, dir.file("job-modules/") + name);
  }
  const std::string job_cnf = dir.write("job.cnf", "openssl_conf = init\n[init]\nproviders = prov\n[prov]\n"
                                                   "default = def\njob = mine\n[def]\nactivate = 1\n"
                                                   "[mine]\nactivate = 1\nmodule = " + module + "\n");
  std::filesystem::create_directory(dir.file("empty"));
  const std::string marker = dir.file("loaded-by");

  ChildProcess receiver({"/usr/bin/python3", std::string(JOBWARDEN_SOURCE_DIR) + "/tests/support/https_receiver.py",
                         dir.file("server.pem"), dir.file("server.key")});
  REQUIRE(receiver.wait_for_output("LISTENING ", milliseconds(30'000)));
  const std::string port = receiver.so_far().out.substr(receiver.so_far().out.find("LISTENING ") + 10);
  const std::string base = "https://127.0.0.1:" + port.substr(0, port.find('\n')) + "/hooks/";

  const std::vector<std::pair<std::string, std::string>> variables{
      {"OPENSSL_CONF", job_cnf},
      {"OPENSSL_MODULES", dir.file("job-modules")},
      {"OPENSSL_ENGINES", dir.file("job-modules")},
      // Every CPU feature claimed: SIGILL in the handshake where one is missing.
      {"OPENSSL_ia32cap", "0xffffffffffffffff:0xffffffffffffffff"},
      // Read by GnuTLS (loaded with libcurl) as it loads: it would read forever.
      {"GNUTLS_SYSTEM_PRIORITY_FILE", "/dev/zero"},
      // Not read by libcurl's OpenSSL (platform/environment.hpp): guarded here.
      {"SSL_CERT_FILE", "/dev/null"},
      {"SSL_CERT_DIR", dir.file("empty")},
  };
  int n = 0;
  for (const auto& [name, value] : variables) {
    CAPTURE(name);
    const std::string path = "/hooks/" + std::to_string(++n) + "-t0k3n";
    Host host("alerts: {webhook: '" + base + std::to_string(n) + "-t0k3n', timeout: 10s}\n");
    const auto r = host.run("build", "printf 'env:%s\\n' \"$" + name + "\"; exit 3",
                            {name + "=" + value, "JOBWARDEN_TEST_LOADED_MARKER=" + marker});
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code == 3);
    CHECK(contains(r.out, "env:" + value + "\n"));
    CHECK(contains(r.err, "alert: exhausted: sent to the webhook (HTTP 204"));
    CHECK_MESSAGE(receiver.wait_for_output("REQUEST " + path + " ", milliseconds(10'000)),
                  "the alert never reached the admin's receiver");
    CHECK_MESSAGE(!std::filesystem::exists(marker), "the job's module was loaded");
    std::filesystem::remove(marker);
  }
  const std::string& received = receiver.so_far().out;
  CHECK(contains(received, "\"event\":\"exhausted\""));
}
