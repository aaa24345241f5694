#pragma once
// Shared by the metrics and alert e2e tests: a host (temp dir with an admin
// configuration and a policy), jobwarden runs on it, and a real
// prometheus-pushgateway on a loopback port.

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

namespace jobwarden::testing {

// A retry rule that runs out: exit 3 is retried once (2 attempts), then fails.
inline constexpr const char* k_retry_policy = R"(version: 1
defaults:
  backoff: {initial: 1ms, jitter: 0}
rules:
  - name: flaky-exit-3
    when: {outcome: red, exit_codes: [3]}
    retry: 2
    then: fail
fallback: {red: system_failure}
steps:
  build: {}
)";

struct Host {
  TempDir dir;
  std::string admin_path;
  std::string policy_path;
  // `admin_body`: the admin configuration after `version: 1`.
  explicit Host(const std::string& admin_body, const std::string& policy = k_retry_policy);
  std::string textfile() const { return dir.file("metrics/jobwarden.prom"); }
  std::string metrics_dir() const { return dir.file("metrics"); }
  // jobwarden run --step `step` -- sh -c `script`, with the host's admin configuration and policy.
  ChildResult run(const std::string& step, const std::string& script, const std::vector<std::string>& env = {},
                  const std::vector<std::string>& extra_options = {}) const;
  // The argv run() starts, for a test that wraps it in another command.
  std::vector<std::string> run_argv(const std::string& step, const std::string& script,
                                    const std::vector<std::string>& extra_options = {}) const;
};

class Pushgateway {
 public:
  Pushgateway();  // started and ready, or the test fails
  ~Pushgateway();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::string metrics() const;  // GET /metrics

 private:
  int m_port = 0;
  std::unique_ptr<ChildProcess> m_process;
};

// The value of the series `series` (exactly as rendered, labels included) in
// an exposition text; -1 when absent.
double series_value(const std::string& exposition, const std::string& series);
// Lines of `text` that start with "jobwarden:".
std::string own_lines(const std::string& text);
// Debian's promtool's verdict on a textfile (`promtool check metrics`): exit code and what it said.
ChildResult promtool_check(const std::string& path);

}  // namespace jobwarden::testing
