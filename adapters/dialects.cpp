#include "adapters/dialects.hpp"

#include "adapters/gitlab/custom_executor.hpp"

#include <array>
#include <chrono>
#include <utility>

namespace jobwarden::adapters {
namespace {

long long unix_seconds(core::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// GitHub workflow commands: data must not contain raw %, CR or LF.
std::string github_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

class GenericDialect : public core::CiDialect {
 public:
  explicit GenericDialect(CiKind kind) : m_kind(kind) {}
  std::string name() const override { return std::string(to_string(m_kind)); }
  std::string section_start(const std::string&, const std::string&, core::WallTime) const override { return ""; }
  std::string section_end(const std::string&, core::WallTime) const override { return ""; }
  std::string annotation(policy::Action, const std::string&) const override { return ""; }
  int exit_code(policy::Action a, int step_code) const override { return generic_exit_code(a, step_code); }

 private:
  CiKind m_kind;
};

// GitLab job-log sections (gitlab Rails parser: name [a-zA-Z0-9_.-]+,
// options decided at start only, so every attempt starts collapsed and its
// summary is printed after section_end).
class GitlabDialect : public GenericDialect {
 public:
  GitlabDialect() : GenericDialect(CiKind::gitlab) {}
  std::string section_start(const std::string& id, const std::string& title,
                            core::WallTime at) const override {
    return "\x1b[0Ksection_start:" + std::to_string(unix_seconds(at)) + ":" + id +
           "[collapsed=true]\r\x1b[0K" + title + "\n";
  }
  std::string section_end(const std::string& id, core::WallTime at) const override {
    return "\x1b[0Ksection_end:" + std::to_string(unix_seconds(at)) + ":" + id + "\r\x1b[0K\n";
  }
  bool renders_colour() const override { return true; }
};

class GitlabCustomExecutorDialect final : public GitlabDialect {
 public:
  int exit_code(policy::Action a, int step_code) const override {
    return gitlab::driver_exit(a, step_code).exit_code;
  }
  std::string describe_exit(policy::Action a, int step_code) const override {
    const gitlab::DriverExit d = gitlab::driver_exit(a, step_code);
    std::string text = "exit code " + std::to_string(d.exit_code);
    if (d.build_exit_code) {
      text += " (build failure; " + std::to_string(*d.build_exit_code) + " in BUILD_EXIT_CODE_FILE)";
    } else if (d.exit_code == gitlab::k_system_failure) {
      text += " (system failure: GitLab reports runner_system_failure)";
    }
    return text;
  }
};

class GithubDialect final : public GenericDialect {
 public:
  GithubDialect() : GenericDialect(CiKind::github) {}
  std::string section_start(const std::string&, const std::string& title, core::WallTime) const override {
    return "::group::" + github_escape(title) + "\n";
  }
  std::string section_end(const std::string&, core::WallTime) const override { return "::endgroup::\n"; }
  std::string annotation(policy::Action a, const std::string& message) const override {
    if (a == policy::Action::pass) return "";
    const char* level = a == policy::Action::unstable ? "warning" : "error";
    return std::string("::") + level + "::" + github_escape(message) + "\n";
  }
  int exit_code(policy::Action a, int step_code) const override {
    return a == policy::Action::unstable ? 0 : generic_exit_code(a, step_code);
  }
};

// Buildkite: "--- title" opens a collapsed group that lasts until the next
// one; "^^^ +++" re-opens the previous group, so a failing last attempt is
// shown expanded.
class BuildkiteDialect final : public GenericDialect {
 public:
  BuildkiteDialect() : GenericDialect(CiKind::buildkite) {}
  std::string section_start(const std::string&, const std::string& title, core::WallTime) const override {
    return "--- " + title + "\n";
  }
  std::string annotation(policy::Action a, const std::string&) const override {
    return a == policy::Action::pass ? "" : "^^^ +++\n";
  }
  // Never 125: the agent reports any 125 as -1 with process_run_error ("agent
  // lost"), which users' retry rules for lost agents would match.
  int exit_code(policy::Action a, int step_code) const override {
    const int code = generic_exit_code(a, step_code);
    return code == k_buildkite_setup_failure ? 1 : code;
  }
  std::string describe_exit(policy::Action a, int step_code) const override {
    const int code = generic_exit_code(a, step_code);
    if (code != k_buildkite_setup_failure) return "exit code " + std::to_string(code);
    return "exit code 1 (the step's 125 would read as -1, agent lost, in Buildkite)";
  }

 private:
  static constexpr int k_buildkite_setup_failure = 125;
};

constexpr std::array<std::pair<CiKind, std::string_view>, 5> k_kinds{{
    {CiKind::generic, "generic"}, {CiKind::gitlab, "gitlab"}, {CiKind::jenkins, "jenkins"},
    {CiKind::github, "github"},   {CiKind::buildkite, "buildkite"},
}};

bool env_is(const EnvLookup& env, const char* name, std::string_view value) {
  const auto v = env(name);
  return v && *v == value;
}

bool env_starts(const EnvLookup& env, const char* name, std::string_view prefix) {
  const auto v = env(name);
  return v && v->rfind(prefix, 0) == 0;
}

}  // namespace

std::optional<CiKind> parse_ci_kind(std::string_view text) {
  for (const auto& [kind, name] : k_kinds) {
    if (name == text) return kind;
  }
  return std::nullopt;
}

std::string_view to_string(CiKind kind) {
  for (const auto& [k, name] : k_kinds) {
    if (k == kind) return name;
  }
  return "generic";
}

CiKind detect_ci(const EnvLookup& env) {
  if (env_is(env, "GITLAB_CI", "true")) return CiKind::gitlab;
  if (env_is(env, "BUILDKITE", "true")) return CiKind::buildkite;
  if (env_is(env, "GITHUB_ACTIONS", "true")) return CiKind::github;
  if ((env("JENKINS_URL") && env("BUILD_ID")) || env_starts(env, "BUILD_TAG", "jenkins-") ||
      env_starts(env, "JENKINS_SERVER_COOKIE", "durable-")) {
    return CiKind::jenkins;
  }
  return CiKind::generic;
}

std::unique_ptr<core::CiDialect> make_dialect(CiKind kind) {
  switch (kind) {
    case CiKind::gitlab: return std::make_unique<GitlabDialect>();
    case CiKind::github: return std::make_unique<GithubDialect>();
    case CiKind::buildkite: return std::make_unique<BuildkiteDialect>();
    case CiKind::jenkins:
    case CiKind::generic: break;
  }
  return std::make_unique<GenericDialect>(kind);
}

std::unique_ptr<core::CiDialect> make_gitlab_custom_executor_dialect() {
  return std::make_unique<GitlabCustomExecutorDialect>();
}

std::optional<ColourMode> parse_colour_mode(std::string_view text) {
  if (text == "auto") return ColourMode::automatic;
  if (text == "always") return ColourMode::always;
  if (text == "never") return ColourMode::never;
  return std::nullopt;
}

bool colour_wanted(ColourMode mode, const EnvLookup& env, bool ci_renders_colour, bool log_is_terminal,
                   const char* no_color_job) {
  if (mode != ColourMode::automatic) return mode == ColourMode::always;
  const auto set = [&](const char* name) {
    const auto v = name == nullptr ? std::nullopt : env(name);
    return v && !v->empty();
  };
  if (set("NO_COLOR") || set(no_color_job)) return false;
  return ci_renders_colour || log_is_terminal;
}

int generic_exit_code(policy::Action action, int step_exit_code) {
  switch (action) {
    case policy::Action::pass: return 0;
    case policy::Action::fail: return step_exit_code == 0 ? 1 : step_exit_code;
    case policy::Action::unstable: return k_exit_unstable;
    case policy::Action::system_failure: return k_exit_system_failure;
  }
  return 1;
}

}  // namespace jobwarden::adapters
