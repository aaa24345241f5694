#include "tests/e2e/operations_fixture.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "executor/platform/http_client.hpp"
#include "tests/support/http_receiver.hpp"
#include "tests/support/proc_check.hpp"

namespace jobwarden::testing {

Host::Host(const std::string& admin_body, const std::string& policy) {
  std::filesystem::create_directories(metrics_dir());
  admin_path = dir.write("admin.yaml", "version: 1\n" + admin_body);
  policy_path = dir.write("policy.yml", policy);
}

std::vector<std::string> Host::run_argv(const std::string& step, const std::string& script,
                                        const std::vector<std::string>& extra_options) const {
  std::vector<std::string> argv{jobwarden_binary(), "run", "--ci", "generic", "--admin-config", admin_path,
                                "--policy", policy_path, "--step", step};
  argv.insert(argv.end(), extra_options.begin(), extra_options.end());
  argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
  return argv;
}

ChildResult Host::run(const std::string& step, const std::string& script, const std::vector<std::string>& env,
                      const std::vector<std::string>& extra_options) const {
  return run_child(run_argv(step, script, extra_options), env, std::chrono::milliseconds(120'000), dir.path());
}

Pushgateway::Pushgateway() {
  platform::HttpClient client;
  for (int tries = 0; tries < 5 && !m_process; ++tries) {
    m_port = free_loopback_port();  // another process may take it first: then try again
    m_process = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/prometheus-pushgateway", "--web.listen-address=127.0.0.1:" + std::to_string(m_port),
        "--persistence.file="});  // in memory only: Debian defaults to a file under /var/lib
    const bool ready = eventually(
        [&] {
          platform::HttpRequest get;
          get.method = "GET";
          get.url = url() + "/-/ready";
          const auto r = client.send(get);
          return r && r->status == 200;
        },
        std::chrono::milliseconds(20'000));
    if (!ready) m_process.reset();
  }
  REQUIRE_MESSAGE(m_process, "prometheus-pushgateway did not start (is the Debian package installed?)");
}

Pushgateway::~Pushgateway() {
  m_process->send_signal(SIGTERM);
  (void)m_process->wait(std::chrono::milliseconds(20'000));
}

std::string Pushgateway::metrics() const {
  platform::HttpClient client;
  platform::HttpRequest get;
  get.method = "GET";
  get.url = url() + "/metrics";
  const auto r = client.send_expecting_success(get);
  REQUIRE_MESSAGE(r.ok(), "GET /metrics of the Pushgateway failed");
  return r->body;
}

double series_value(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string own_lines(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("jobwarden:", 0) == 0) out += line + "\n";
  }
  return out;
}

ChildResult promtool_check(const std::string& path) {
  return run_child({"/bin/sh", "-c", "exec /usr/bin/promtool check metrics < '" + path + "'"});
}

}  // namespace jobwarden::testing
