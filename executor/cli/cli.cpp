#include "executor/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "adapters/dialects.hpp"
#include "executor/cli/cli_reference.hpp"
#include "executor/cli/gitlab_command.hpp"
#include "executor/cli/policy_command.hpp"
#include "executor/cli/run_command.hpp"
#include "executor/cli/step_execution.hpp"
#include "executor/cli/version.hpp"

namespace jobwarden::cli {
namespace {

std::optional<policy::Duration> duration_option(const std::string& text, const char* what) {
  if (text.empty()) return std::nullopt;
  const auto parsed = policy::parse_duration(text);
  if (!parsed) throw CLI::ValidationError(what, parsed.error());
  return *parsed;
}

struct RunArgs {
  RunOptions options;
  std::string ci = "auto";
  std::string timeout;
  std::string grace;
  std::string colour = "auto";
};

CLI::App* add_run_command(CLI::App& app, RunArgs& a) {
  auto* run = app.add_subcommand("run", "Supervise one step: jobwarden run [OPTIONS] -- CMD [ARG...]");
  RunOptions& o = a.options;
  run->add_option("--policy", o.policy_file, "Policy file (default: .jobwarden.yml here, else the embedded default)")
      ->envname("JOBWARDEN_POLICY");
  run->add_option("--step", o.step, "Which steps: entry of the policy applies")->envname("JOBWARDEN_STEP");
  run->add_option("--ci", a.ci, "Exit-code and log dialect: generic|gitlab|jenkins|github|buildkite|auto")
      ->envname("JOBWARDEN_CI")
      ->check(CLI::IsMember({"generic", "gitlab", "jenkins", "github", "buildkite", "auto"}));
  run->add_option("--timeout", a.timeout, "Per-attempt timeout, e.g. 90s, 15m, 1h30m")->envname("JOBWARDEN_TIMEOUT");
  run->add_option("--grace", a.grace, "SIGTERM -> SIGKILL grace for the whole tree")->envname("JOBWARDEN_GRACE");
  run->add_option("--report", o.report_file, "Write the JSON report here")->envname("JOBWARDEN_REPORT");
  run->add_option("--junit", o.junit_file, "Write a JUnit XML report here (Surefire's rerun convention)")
      ->envname("JOBWARDEN_JUNIT");
  run->add_option("--admin-config", o.admin_config, "Admin configuration (default /etc/jobwarden/config.yaml)")
      ->envname("JOBWARDEN_ADMIN_CONFIG");
  run->add_flag("--quiet", o.quiet, "Only warnings and the verdict")->envname("JOBWARDEN_QUIET");
  run->add_option("--color", a.colour, "Colour the verdict: auto (honours NO_COLOR)|always|never")
      ->envname("JOBWARDEN_COLOR")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  run->add_option("command", o.command, "The step's command and its arguments (after --)")->required();
  return run;
}

void finish_run_options(RunArgs& a) {
  RunOptions& o = a.options;
  o.ci = a.ci == "auto" ? adapters::detect_ci(env_lookup) : *adapters::parse_ci_kind(a.ci);
  o.timeout = duration_option(a.timeout, "--timeout");
  o.grace = duration_option(a.grace, "--grace");
  o.colour = *adapters::parse_colour_mode(a.colour);
}

struct PolicyArgs {
  std::string check_file;
  ExplainArgs explain;
  CLI::App* check = nullptr;
  CLI::App* explain_cmd = nullptr;
  CLI::App* print_default = nullptr;
};

void add_policy_command(CLI::App& app, PolicyArgs& a) {
  auto* policy = app.add_subcommand("policy", "Validate, explain or print policies");
  policy->require_subcommand(1);
  a.check = policy->add_subcommand("check", "Validate a policy; file:line:col errors; exit 0 when valid");
  a.check->add_option("file", a.check_file, "Policy file (default: .jobwarden.yml here, else the embedded default)");
  a.explain_cmd = policy->add_subcommand("explain", "Dry run: which rule matches an attempt and what follows");
  ExplainArgs& e = a.explain;
  a.explain_cmd->add_option("file", e.file, "Policy file (default: .jobwarden.yml here, else the embedded default)");
  a.explain_cmd->add_option("--outcome", e.outcome, "success|red|timeout|oom|signal|cancelled|error")->required();
  a.explain_cmd->add_option("--exit-code", e.exit_code, "The step's exit code");
  a.explain_cmd->add_option("--signal", e.signal, "The signal the step died of (SIGKILL, KILL, 9)");
  a.explain_cmd->add_option("--step", e.step, "The step name");
  a.explain_cmd->add_option("--output-file", e.output_file, "A file holding the step's output");
  a.explain_cmd->add_option("--attempt", e.attempt, "Which attempt this is (earlier ones ended the same way)")
      ->check(CLI::Range(1, 100));
  a.explain_cmd->add_flag("--starved", e.starved, "The attempt was starved of CPU");
  a.explain_cmd->add_option("--duration", e.duration, "How long the attempt ran, e.g. 90s");
  a.print_default = policy->add_subcommand("default", "Print the embedded default policy (commented YAML)");
}

struct GitlabCommands {
  GitlabArgs args;
  CLI::App* config = nullptr;
  CLI::App* prepare = nullptr;
  CLI::App* run = nullptr;
  CLI::App* cleanup = nullptr;
};

void add_gitlab_command(CLI::App& app, GitlabCommands& g) {
  auto* gitlab = app.add_subcommand("gitlab", "GitLab Runner custom-executor driver");
  gitlab->require_subcommand(1);
  gitlab->add_option("--admin-config", g.args.admin_config, "Admin configuration (default /etc/jobwarden/config.yaml)")
      ->envname("JOBWARDEN_ADMIN_CONFIG");
  g.config = gitlab->add_subcommand("config", "config_exec: print builds_dir, cache_dir, ... as JSON");
  g.prepare = gitlab->add_subcommand("prepare", "prepare_exec: check the host and print a banner");
  g.run = gitlab->add_subcommand("run", "run_exec: run one stage's script under the supervisor");
  g.run->add_option("script", g.args.script, "The runner's script file")->required();
  g.run->add_option("stage", g.args.stage, "The stage name (build_script, after_script, get_sources, ...)")->required();
  g.cleanup = gitlab->add_subcommand("cleanup", "cleanup_exec: kill whatever the job left behind");
}

}  // namespace

int main_entry(int argc, char** argv) {
  CLI::App app{"jobwarden: contain, bound and classify CI steps", "jobwarden"};
  app.set_version_flag("--version", version_text, "Print the version, the build and the kernel features found");
  app.require_subcommand(1);
  RunArgs run_args;
  PolicyArgs policy_args;
  CLI::App* run = add_run_command(app, run_args);
  GitlabCommands gitlab;
  // `jobwarden run ...` is every step's start: only its subcommand is built
  // then (the other subcommands were a sixth of a `run -- true`'s
  // instructions, callgrind). What `run` accepts and every message about it
  // are its own subcommand's, which does not see its siblings; whatever
  // else the command line holds is parsed with the whole tree.
  const bool run_only = argc > 1 && std::string_view(argv[1]) == "run";
  if (!run_only) {
    add_policy_command(app, policy_args);
    add_gitlab_command(app, gitlab);
    add_reference_flags(app);  // last: it renders the whole tree
  }
  try {
    app.parse(argc, argv);
    if (run->parsed()) finish_run_options(run_args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "jobwarden: usage error: " << e.what() << "\n"
              << "jobwarden: see 'jobwarden --help'\n";
    return adapters::k_exit_usage;
  }
  if (run->parsed()) return run_command(run_args.options);
  // Not reached with run_only: "run" is then parsed, or a usage error returned.
  if (gitlab.config->parsed()) return gitlab_config(gitlab.args);
  if (gitlab.prepare->parsed()) return gitlab_prepare(gitlab.args);
  if (gitlab.run->parsed()) return gitlab_run(gitlab.args);
  if (gitlab.cleanup->parsed()) return gitlab_cleanup(gitlab.args);
  if (policy_args.check->parsed()) return policy_check(policy_args.check_file);
  if (policy_args.explain_cmd->parsed()) return policy_explain(policy_args.explain);
  return policy_default();
}

}  // namespace jobwarden::cli
