#pragma once
// `jobwarden run [OPTIONS] -- CMD [ARG...]`: supervise one step.

#include <optional>
#include <string>
#include <vector>

#include "adapters/dialects.hpp"
#include "executor/cli/step_execution.hpp"
#include "policy/duration.hpp"

namespace jobwarden::cli {

struct RunOptions {
  std::vector<std::string> command;
  std::string step = "default";
  adapters::CiKind ci = adapters::CiKind::generic;
  std::string policy_file;                  // "": .jobwarden.yml if present, else the default
  std::string report_file;                  // "": no report
  std::string junit_file;                   // "": no JUnit XML
  std::string admin_config;                 // "": /etc/jobwarden/config.yaml (if present)
  std::optional<policy::Duration> timeout;  // command line / env over the policy
  std::optional<policy::Duration> grace;
  bool quiet = false;
  adapters::ColourMode colour = adapters::ColourMode::automatic;
};

int run_command(const RunOptions& options);

}  // namespace jobwarden::cli
