#include "executor/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "adapters/dialects.hpp"
#include "executor/cli/run_command.hpp"

namespace jobwarden::cli {
namespace {

// CLI11 validator + transform for durations ("90s", "1h30m").
std::optional<policy::Duration> duration_option(const std::string& text, const char* what) {
  if (text.empty()) return std::nullopt;
  const auto parsed = policy::parse_duration(text);
  if (!parsed.ok) throw CLI::ValidationError(what, parsed.error);
  return parsed.value;
}

bool env_switch_on(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return true;
  const std::string s(v);
  return !(s == "0" || s == "false" || s == "off" || s == "no");
}

std::optional<std::string> env_lookup(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

struct RunArgs {
  std::vector<std::string> command;
  std::string step = "default";
  std::string ci = "auto";
  std::string timeout;
  std::string grace;
  bool quiet = false;
};

void add_run_command(CLI::App& app, RunArgs& args) {
  auto* run = app.add_subcommand("run", "Supervise one step: jobwarden run [OPTIONS] -- CMD [ARG...]");
  run->add_option("--step", args.step, "Which steps: entry of the policy applies")
      ->envname("JOBWARDEN_STEP");
  run->add_option("--ci", args.ci, "Exit-code and log dialect: generic|gitlab|jenkins|github|buildkite|auto")
      ->envname("JOBWARDEN_CI")
      ->check(CLI::IsMember({"generic", "gitlab", "jenkins", "github", "buildkite", "auto"}));
  run->add_option("--timeout", args.timeout, "Per-attempt timeout, e.g. 90s, 15m, 1h30m")
      ->envname("JOBWARDEN_TIMEOUT");
  run->add_option("--grace", args.grace, "SIGTERM -> SIGKILL grace for the whole tree")
      ->envname("JOBWARDEN_GRACE");
  run->add_flag("--quiet", args.quiet, "Only warnings and the verdict")->envname("JOBWARDEN_QUIET");
  run->add_option("command", args.command, "The step's command and its arguments (after --)")
      ->required();
}

RunOptions to_run_options(const RunArgs& a) {
  RunOptions o;
  o.command = a.command;
  o.step = a.step;
  o.ci = a.ci == "auto" ? adapters::detect_ci(env_lookup) : *adapters::parse_ci_kind(a.ci);
  o.timeout = duration_option(a.timeout, "--timeout");
  o.grace = duration_option(a.grace, "--grace");
  o.quiet = a.quiet;
  o.tree_kill = env_switch_on("JOBWARDEN_TREE_KILL");
  o.starvation = env_switch_on("JOBWARDEN_STARVATION");
  o.retry = env_switch_on("JOBWARDEN_RETRY");
  return o;
}

}  // namespace

int main_entry(int argc, char** argv) {
  CLI::App app{"jobwarden: contain, bound and classify CI steps", "jobwarden"};
  app.set_version_flag("--version", std::string("jobwarden ") + JOBWARDEN_VERSION);
  app.require_subcommand(1);
  RunArgs run_args;
  add_run_command(app, run_args);
  RunOptions options;
  try {
    app.parse(argc, argv);
    options = to_run_options(run_args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "jobwarden: usage error: " << e.what() << "\n"
              << "jobwarden: see 'jobwarden --help'\n";
    return adapters::k_exit_usage;
  }
  return run_command(options);
}

}  // namespace jobwarden::cli
