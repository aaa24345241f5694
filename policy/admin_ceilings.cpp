// apply_ceilings and clamp_duration: the admin configuration's ceilings
// lowering a repository policy or a command-line value, each change reported.

#include <string_view>

#include "policy/admin_config.hpp"

namespace jobwarden::policy {
namespace {

// "<subject> exceeds the admin ceiling <ceiling>: clamped to <ceiling> (<source>)".
std::string clamp_line(const AdminConfig& admin, const std::string& subject,
                       const std::string& ceiling) {
  return subject + " exceeds the admin ceiling " + ceiling + ": clamped to " + ceiling + " (" +
         admin.source + ")";
}

// Lowers `value` to `ceiling`; appends the line built from "<what> <value><of>".
void clamp(const AdminConfig& admin, const std::optional<Duration>& ceiling, std::string_view what,
           const std::string& of, Duration& value, std::vector<std::string>& lines) {
  if (!ceiling || value <= *ceiling) return;
  lines.push_back(clamp_line(admin,
                             "policy " + std::string(what) + " " + format_duration(value) + of,
                             format_duration(*ceiling)));
  value = *ceiling;
}

void clamp(const AdminConfig& admin, const std::optional<int>& ceiling, std::string_view what,
           const std::string& of, int& value, std::vector<std::string>& lines) {
  if (!ceiling || value <= *ceiling) return;
  lines.push_back(clamp_line(admin,
                             "policy " + std::string(what) + " " + std::to_string(value) + of,
                             std::to_string(*ceiling)));
  value = *ceiling;
}

// A step's timeout and grace. A value equal to the defaults' (before they
// were lowered) was inherited: lowered like them, under their line.
void clamp_step(const AdminConfig& admin, const std::string& name, const StepSettings& defaults,
                StepSettings& step, std::vector<std::string>& lines) {
  const std::string of = " of step '" + name + "'";
  std::vector<std::string> ignored;
  clamp(admin, admin.max_timeout, "timeout", of, step.timeout,
        step.timeout == defaults.timeout ? ignored : lines);
  clamp(admin, admin.max_grace, "grace", of, step.grace,
        step.grace == defaults.grace ? ignored : lines);
}

}  // namespace

std::vector<std::string> apply_ceilings(const AdminConfig& admin, Policy& policy) {
  std::vector<std::string> lines;
  const StepSettings original_defaults = policy.defaults;
  for (auto& [name, step] : policy.steps) clamp_step(admin, name, original_defaults, step, lines);
  // The defaults' lines first: they explain the steps' silent ones.
  std::vector<std::string> out;
  clamp(admin, admin.max_timeout, "timeout", " of the defaults", policy.defaults.timeout, out);
  clamp(admin, admin.max_grace, "grace", " of the defaults", policy.defaults.grace, out);
  out.insert(out.end(), lines.begin(), lines.end());
  for (Rule& rule : policy.rules) {
    clamp(admin, admin.max_attempts, "retry", " of rule '" + rule.name + "'", rule.retry, out);
  }
  clamp(admin, admin.max_attempts, "limits.max_attempts", "", policy.limits.max_attempts, out);
  clamp(admin, admin.max_retry_time, "limits.max_retry_time", "", policy.limits.max_retry_time,
        out);
  return out;
}

std::optional<ByteSize> memory_limit(const AdminConfig& admin, const std::optional<ByteSize>& policy_memory,
                                     const std::string& step, std::string& clamped) {
  clamped.clear();
  if (!policy_memory) return admin.max_memory;
  if (!admin.max_memory || *policy_memory <= *admin.max_memory) return policy_memory;
  clamped = clamp_line(admin, "policy memory " + format_byte_size(*policy_memory) + " of step '" + step + "'",
                       format_byte_size(*admin.max_memory));
  return admin.max_memory;
}

std::string clamp_duration(const AdminConfig& admin, const char* what, Duration& value) {
  const std::string_view name = what != nullptr ? what : "";
  const std::optional<Duration> ceiling = name == "timeout" ? admin.max_timeout
                                          : name == "grace" ? admin.max_grace
                                                            : std::nullopt;
  if (!ceiling || value <= *ceiling) return "";
  std::string line = clamp_line(admin, "--" + std::string(name) + " " + format_duration(value),
                                format_duration(*ceiling));
  value = *ceiling;
  return line;
}

}  // namespace jobwarden::policy
