#include "executor/platform/environment.hpp"

#include <cstdlib>
#include <optional>

extern char** environ;

namespace jobwarden::platform {
namespace {

std::vector<std::string> current_environment() {
  std::vector<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) entries.emplace_back(*e);
  return entries;
}

// Set once, by drop_client_steering_variables (single-threaded, in main).
std::optional<std::vector<std::string>>& kept_for_children() {
  static std::optional<std::vector<std::string>> kept;
  return kept;
}

}  // namespace

std::vector<std::string> children_environment() {
  const auto& kept = kept_for_children();
  return kept ? *kept : current_environment();
}

void drop_client_steering_variables() {
  if (!kept_for_children()) kept_for_children() = current_environment();
  for (const std::string_view name : k_client_steering_variables) ::unsetenv(std::string(name).c_str());
}

}  // namespace jobwarden::platform
