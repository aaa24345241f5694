#include "adapters/gitlab/custom_executor.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include "adapters/dialects.hpp"
#include "policy/printable.hpp"

namespace jobwarden::adapters::gitlab {
namespace {

constexpr std::array<std::string_view, 3> k_user_stages{"build_script", "after_script", "step_script"};
constexpr std::array<std::string_view, 11> k_runner_stages{
    "prepare_script",    "get_sources",   "clear_worktree",           "restore_cache",
    "download_artifacts", "archive_cache", "archive_cache_on_failure", "upload_artifacts_on_success",
    "upload_artifacts_on_failure", "cleanup_file_variables", "prepare_executor"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& names, const std::string& s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

std::string safe_part(const std::string& s, const char* fallback) {
  if (s.empty()) return fallback;
  const std::string out = policy::name_safe(s);
  return out == "." || out == ".." ? std::string(fallback) : out;
}

}  // namespace

StageInfo classify_stage(const std::string& stage) {
  if (one_of(k_user_stages, stage) || stage.rfind("step_", 0) == 0) return {StageKind::user, true};
  if (one_of(k_runner_stages, stage)) return {StageKind::runner, true};
  return {StageKind::runner, false};
}

DriverExit driver_exit(policy::Action action, int step_exit_code) {
  switch (action) {
    case policy::Action::pass: return {0, std::nullopt};
    case policy::Action::fail: return {k_build_failure, step_exit_code == 0 ? 1 : step_exit_code};
    case policy::Action::unstable: return {k_build_failure, k_exit_unstable};
    case policy::Action::system_failure: return {k_system_failure, std::nullopt};
  }
  return {k_system_failure, std::nullopt};
}

DriverExit driver_exit_bad_policy() { return {k_build_failure, k_exit_config}; }
DriverExit driver_exit_internal() { return {k_system_failure, std::nullopt}; }

std::optional<std::chrono::seconds> parse_job_timeout(const std::string& text) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return std::chrono::seconds{v};
}

std::vector<std::string> script_command(const std::string& script, const std::string& first_line) {
  if (first_line.rfind("#!", 0) != 0) return {script};
  std::vector<std::string> argv;
  std::size_t at = 2;
  while (at < first_line.size()) {
    const std::size_t start = first_line.find_first_not_of(" \t\r", at);
    if (start == std::string::npos) break;
    const std::size_t end = first_line.find_first_of(" \t\r", start);
    argv.push_back(first_line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? first_line.size() : end;
  }
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') return {script};
  argv.push_back(script);
  return argv;
}

std::string slot_builds_dir(const std::string& base, const std::string& runner_token,
                            const std::string& concurrent_id) {
  return base + "/" + safe_part(runner_token, "runner") + "/" + safe_part(concurrent_id, "0");
}

}  // namespace jobwarden::adapters::gitlab
