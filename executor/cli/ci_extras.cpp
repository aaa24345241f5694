#include "executor/cli/ci_extras.hpp"

#include "adapters/ci_reports.hpp"
#include "executor/cli/step_execution.hpp"
#include "executor/io/junit.hpp"
#include "executor/platform/ci_outputs.hpp"
#include "executor/platform/safe_files.hpp"
#include "executor/platform/spawn.hpp"
#include "policy/duration.hpp"

namespace jobwarden::cli {
namespace {

constexpr std::size_t k_github_summary_cap = 1024 * 1024;  // the runner refuses bigger summaries
constexpr core::Millis k_annotate_timeout{5000};

void github_summary(const std::string& step, const core::StepResult& result, const core::Redactor& secrets,
                    core::JobLog& log) {
  const std::string path = env_or("GITHUB_STEP_SUMMARY");
  if (path.empty()) return;
  const auto appended = platform::append_within(path, secrets.redact(adapters::attempts_markdown(step, result)),
                                                 k_github_summary_cap);
  if (!appended) log.warn("could not add to the step summary: " + appended.error());
}

void buildkite_annotate(const std::string& step, const core::StepResult& result, const core::Redactor& secrets,
                        core::JobLog& log) {
  if (!platform::resolve_program("buildkite-agent")) return;
  if (result.cancel_signal != 0) {
    log.info("cancelled: no Buildkite annotation (the agent is stopping the job)");
    return;
  }
  const adapters::Annotation a = adapters::buildkite_annotation(step, result);
  const auto ran = platform::run_with_input(
      {"buildkite-agent", "annotate", "--style", a.style, "--context", a.context}, secrets.redact(a.body), k_annotate_timeout);
  if (!ran) {
    log.warn("buildkite-agent annotate could not run: " + ran.error());
  } else if (*ran != 0) {
    log.warn("buildkite-agent annotate failed with exit code " + std::to_string(*ran));
  }
}

}  // namespace

void fit_settings_to_ci(adapters::CiKind ci, core::AttemptSettings& settings, core::JobLog& log) {
  std::string warning;
  const auto ceiling = adapters::grace_ceiling(ci, env_lookup, warning);
  if (!warning.empty()) log.warn(warning);
  if (ceiling && settings.grace > ceiling->max) {
    log.warn("grace " + policy::format_duration(settings.grace) + " clamped to " +
             policy::format_duration(ceiling->max) + ": " + ceiling->why);
    settings.grace = ceiling->max;
  }
  settings.foreign_term_settle = adapters::foreign_term_settle(ci);
}

void publish_to_ci(adapters::CiKind ci, const std::string& step, const core::StepResult& result,
                   const core::Redactor& secrets, core::JobLog& log) {
  // The step name masked before Markdown escapes or cuts it (the result is
  // masked already: result_masking.hpp).
  const std::string shown_step = secrets.redact(step);
  if (ci == adapters::CiKind::github) github_summary(shown_step, result, secrets, log);
  if (ci == adapters::CiKind::buildkite) buildkite_annotate(shown_step, result, secrets, log);
}

void write_junit(const std::string& path, const std::string& step, const core::StepResult& result,
                 const core::Redactor& secrets, core::JobLog& log) {
  const auto written = platform::write_file_atomically(path, secrets.redact(io::render_junit({secrets.redact(step), &result})));
  if (!written) log.warn("could not write the JUnit report: " + written.error());
}

}  // namespace jobwarden::cli
