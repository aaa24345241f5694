#pragma once
// The CI dialects of `jobwarden run --ci ...`: how each CI wants its log
// sections, annotations and exit codes (README.md, "Exit codes" and "CI integrations").
// Pure functions of their inputs.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "executor/core/ci_dialect.hpp"

namespace jobwarden::adapters {

enum class CiKind { generic, gitlab, jenkins, github, buildkite };

std::optional<CiKind> parse_ci_kind(std::string_view text);  // also "auto" -> nullopt handled by caller
std::string_view to_string(CiKind kind);

// `--ci auto`: the most specific marker first, since several CIs (and users)
// set the generic CI=true.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
CiKind detect_ci(const EnvLookup& env);

std::unique_ptr<core::CiDialect> make_dialect(CiKind kind);

// `jobwarden gitlab run`: GitLab's log sections and colours, and the custom
// executor's exit codes (0, 1 with BUILD_EXIT_CODE_FILE, 2).
std::unique_ptr<core::CiDialect> make_gitlab_custom_executor_dialect();

// `--color auto|always|never`. always and never are obeyed as given (a
// command-line choice beats NO_COLOR, as no-color.org asks). auto: off when
// NO_COLOR is set to anything but "" (or `no_color_job` is, the variable as
// a job set it: GitLab's CUSTOM_ENV_NO_COLOR), else on in GitLab's job log
// (which has always been coloured) or when the log is a terminal.
enum class ColourMode { automatic, always, never };
std::optional<ColourMode> parse_colour_mode(std::string_view text);
bool colour_wanted(ColourMode mode, const EnvLookup& env, bool ci_renders_colour, bool log_is_terminal,
                   const char* no_color_job = nullptr);

// Exit codes shared by every dialect of `jobwarden run` (README.md, "Exit codes").
inline constexpr int k_exit_unstable = 79;
inline constexpr int k_exit_system_failure = 75;  // EX_TEMPFAIL: retry me elsewhere
inline constexpr int k_exit_usage = 64;           // EX_USAGE
inline constexpr int k_exit_internal = 70;        // EX_SOFTWARE
inline constexpr int k_exit_config = 78;          // EX_CONFIG

// The generic column: pass 0; fail the step's own code (never 0); unstable
// 79; system_failure 75.
int generic_exit_code(policy::Action action, int step_exit_code);

}  // namespace jobwarden::adapters
