#pragma once
// INTERNAL to admin_config.cpp: the readers of the operations sections of an
// admin configuration (`metrics`, `alerts`, `secrets`; docs/policy.md). They
// live apart from the ceilings and the GitLab directories so that each part of
// the admin configuration grows on its own.

#include "policy/admin_config.hpp"
#include "policy/yaml_reader.hpp"

namespace jobwarden::policy::detail {

// The entry's value as an absolute path, kept as written: never resolved
// (the file system is the executor's business), not even lexically ("..",
// after a symlink, is not the parent of what precedes it).
std::optional<std::string> absolute_path(YamlReader& r, const Entry& e);

void read_metrics_section(YamlReader& r, const Entry& e, AdminConfig& c);
void read_alerts_section(YamlReader& r, const Entry& e, AdminConfig& c);
void read_secrets_section(YamlReader& r, const Entry& e, AdminConfig& c);

}  // namespace jobwarden::policy::detail
