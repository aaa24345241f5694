#include "executor/cli/policy_source.hpp"

#include <filesystem>

#include "executor/platform/safe_files.hpp"

namespace jobwarden::cli {
namespace {

PolicySource loaded_from(std::string label, std::string text) {
  PolicySource src;
  src.path = std::move(label);
  src.text = std::move(text);
  src.loaded = policy::load_policy(src.text, src.path);
  return src;
}

}  // namespace

PolicySource load_policy_source(const std::string& explicit_path) {
  if (explicit_path.empty()) {
    auto cwd = platform::open_directory(".");
    if (!cwd) return embedded_policy_source();
    std::error_code ec;  // named absolutely, as the CI's log reader can find it
    auto found = load_project_policy(cwd->get(), std::filesystem::current_path(ec).string());
    return found ? std::move(*found) : embedded_policy_source();
  }
  PolicySource src;
  // Errors name the file as the CI's log reader can find it, whatever
  // directory jobwarden was started in.
  std::error_code ec;
  src.path = std::filesystem::absolute(explicit_path, ec).lexically_normal().string();
  if (src.path.empty()) src.path = explicit_path;
  // Read here rather than by policy::read_policy_file (a stream: it would wait
  // forever on a FIFO, with SIGTERM already blocked): only a regular file is
  // read, one byte over the cap to tell an oversized one.
  auto text = platform::read_regular_file(src.path, policy::k_max_policy_bytes + 1);
  if (!text) {
    src.loaded.errors.push_back({src.path, 0, 0, "cannot read the policy file: " + text.error()});
    return src;
  }
  if (text->size() > policy::k_max_policy_bytes) {
    src.loaded.errors.push_back({src.path, 0, 0, "the policy file is larger than 1 MiB"});
    return src;
  }
  src.text = std::move(*text);
  src.loaded = policy::load_policy(src.text, src.path);
  return src;
}

std::optional<PolicySource> load_project_policy(int project_fd, const std::string& project_dir) {
  if (!platform::entry_exists(project_fd, k_policy_file_name)) return std::nullopt;
  const std::string label = project_dir.empty() ? k_policy_file_name : project_dir + "/" + k_policy_file_name;
  auto text = platform::read_file_beneath(project_fd, k_policy_file_name, policy::k_max_policy_bytes + 1);
  if (text) return loaded_from(label, std::move(*text));
  PolicySource refused;
  refused.path = label;
  refused.loaded.errors.push_back({label, 0, 0, "refused, not read: " + text.error()});
  return refused;
}

PolicySource embedded_policy_source() {
  PolicySource src;
  src.text = std::string(policy::embedded_default_policy_yaml());
  src.loaded.policy = policy::prebuilt_default_policy();  // that text's policy, built without parsing
  return src;
}

}  // namespace jobwarden::cli
