// load_admin_config: the sections of a version 1 admin configuration
// (ceilings, features, gitlab), read through the policy loader's machinery
// (yaml_document.hpp, yaml_reader.hpp). Every yaml-cpp exception is caught
// there or here.

#include "policy/admin_config.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "policy/admin_operations.hpp"
#include "policy/yaml_document.hpp"

namespace jobwarden::policy {
namespace detail {
namespace {

// --- ceilings ---------------------------------------------------------------

void read_max_timeout(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto d = r.duration(e)) c.max_timeout = *d;
}
void read_max_grace(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto d = r.duration(e)) c.max_grace = *d;
}
void read_max_attempts(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto n = r.integer(e, 1, k_max_policy_retry)) c.max_attempts = static_cast<int>(*n);
}
void read_max_retry_time(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto d = r.duration(e)) c.max_retry_time = *d;
}
void read_max_memory(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto m = r.byte_size(e)) c.max_memory = *m;
}

constexpr std::array<Field<AdminConfig>, 5> k_ceiling_fields{{
    {"max_timeout", read_max_timeout},
    {"max_grace", read_max_grace},
    {"max_attempts", read_max_attempts},
    {"max_retry_time", read_max_retry_time},
    {"max_memory", read_max_memory},
}};

// --- features ---------------------------------------------------------------

// A kill-switch: `key` -> the member it sets.
struct Switch {
  std::string_view key;
  bool AdminConfig::*member;
};

constexpr std::array<Switch, 6> k_switches{{
    {"tree_kill", &AdminConfig::tree_kill},
    {"subreaper", &AdminConfig::subreaper},
    {"retry", &AdminConfig::retry},
    {"starvation", &AdminConfig::starvation},
    {"webhooks", &AdminConfig::webhooks},
    {"metrics", &AdminConfig::metrics},
}};

// features.cgroup: auto | off | required (true and false, as the other
// switches take, mean auto and off).
struct CgroupModeName {
  std::string_view text;
  CgroupMode mode;
};
constexpr std::array<CgroupModeName, 5> k_cgroup_modes{{{"auto", CgroupMode::automatic},
                                                        {"true", CgroupMode::automatic},
                                                        {"off", CgroupMode::off},
                                                        {"false", CgroupMode::off},
                                                        {"required", CgroupMode::required}}};

void read_cgroup_mode(YamlReader& r, const Entry& e, AdminConfig& c) {
  const auto text = r.string(e);
  if (!text) return;
  for (const auto& m : k_cgroup_modes) {
    if (m.text == *text) {
      c.cgroup = m.mode;
      return;
    }
  }
  r.value_error(e, "expected auto, off or required, got " + describe(e.value));
}

void read_features(YamlReader& r, const Entry& e, AdminConfig& c) {
  std::array<std::string_view, k_switches.size() + 1> keys{};
  for (std::size_t i = 0; i < k_switches.size(); ++i) keys[i] = k_switches[i].key;
  keys.back() = "cgroup";
  for (const Entry& feature : r.entries(e.value, keys, e.child_where())) {
    if (feature.key == "cgroup") {
      read_cgroup_mode(r, feature, c);
      continue;
    }
    const auto on = r.boolean(feature);
    for (const Switch& s : k_switches) {
      if (on && s.key == feature.key) c.*s.member = *on;
    }
  }
}

// --- gitlab -----------------------------------------------------------------

// "/a//b/" and "/a/b" name the same directory.
std::string same_dir_key(const std::string& path) {
  std::string key = std::filesystem::path(path).lexically_normal().string();
  if (key.size() > 1 && key.back() == '/') key.pop_back();
  return key;
}

void read_builds_dir(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto p = absolute_path(r, e)) c.builds_dir = *p;
}
void read_cache_dir(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto p = absolute_path(r, e)) c.cache_dir = *p;
}
void read_builds_dir_is_shared(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto b = r.boolean(e)) c.builds_dir_is_shared = *b;
}
void read_runner_stages_policy(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto p = absolute_path(r, e)) c.runner_stages_policy = *p;
}

constexpr std::array<Field<AdminConfig>, 4> k_gitlab_fields{{
    {"builds_dir", read_builds_dir},
    {"cache_dir", read_cache_dir},
    {"builds_dir_is_shared", read_builds_dir_is_shared},
    {"runner_stages_policy", read_runner_stages_policy},
}};

// --- run_as -----------------------------------------------------------------

// A user name as the user database accepts it (POSIX portable characters,
// not starting with '-'), or a numeric uid. Resolved when a step starts.
bool valid_user(const std::string& text) {
  if (text.empty() || text.size() > 32 || text.front() == '-') return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

void read_run_as(YamlReader& r, const Entry& e, AdminConfig& c) {
  const auto text = r.string(e);
  if (!text) return;
  if (!valid_user(*text)) {
    r.value_error(e, "expected a user name or a numeric uid (letters, digits, '.', '_', '-'; at most 32), got " +
                         describe(e.value));
    return;
  }
  c.run_as = *text;
}

void read_no_new_privileges(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto b = r.boolean(e)) c.no_new_privileges = *b;
}

// --- top level --------------------------------------------------------------

void read_nothing(YamlReader&, const Entry&, AdminConfig&) {}  // version: checked already
void read_cgroup_parent(YamlReader& r, const Entry& e, AdminConfig& c) {
  if (auto p = absolute_path(r, e)) c.cgroup_parent = *p;
}
void read_ceilings(YamlReader& r, const Entry& e, AdminConfig& c) {
  read_fields(r, e.value, k_ceiling_fields, e.child_where(), c);
}
void read_gitlab(YamlReader& r, const Entry& e, AdminConfig& c) {
  read_fields(r, e.value, k_gitlab_fields, e.child_where(), c);
}

constexpr std::array<Field<AdminConfig>, 10> k_sections{{
    {"version", read_nothing},
    {"cgroup_parent", read_cgroup_parent},
    {"ceilings", read_ceilings},
    {"features", read_features},
    {"gitlab", read_gitlab},
    {"run_as", read_run_as},
    {"no_new_privileges", read_no_new_privileges},
    {"metrics", read_metrics_section},
    {"alerts", read_alerts_section},
    {"secrets", read_secrets_section},
}};

// The same directory for builds and caches would let a job's checkout
// clobber every cache (and the reverse).
// Reported at cache_dir, or at builds_dir when only that one is written.
void check_dirs(YamlReader& r, const YAML::Node& root, const AdminConfig& c) {
  if (same_dir_key(c.builds_dir) != same_dir_key(c.cache_dir)) return;
  const YAML::Node gitlab = root["gitlab"];
  const bool at_cache = gitlab["cache_dir"].IsDefined();
  r.error(gitlab[at_cache ? "cache_dir" : "builds_dir"],
          "'builds_dir' and 'cache_dir' in 'gitlab' are the same directory (" + c.cache_dir +
              "): the builds would overwrite the caches");
}

AdminLoadResult load_unguarded(std::string_view text, const std::string& file) {
  AdminConfig config;
  config.source = file;
  AdminLoadResult result;
  result.errors =
      load_document(text, file, k_admin_kind, [&config](YamlReader& r, const YAML::Node& root) {
        read_fields(r, root, k_sections, std::string(k_admin_where), config);
        if (!r.has_errors()) check_dirs(r, root, config);
      });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace
}  // namespace detail

AdminLoadResult load_admin_config(std::string_view yaml_text, const std::string& file_name) {
  const auto failed = [&](const std::string& why) {
    return AdminLoadResult{std::nullopt,
                           {{file_name, 0, 0, "cannot load the admin configuration: " + why}}};
  };
  try {
    return detail::load_unguarded(yaml_text, file_name);
  } catch (const std::exception& ex) {
    return failed(ex.what());
  } catch (...) {
    return failed("unexpected error");
  }
}

AdminLoadResult load_admin_config_file(const std::string& path) {
  // symlink_status, not status: a dangling symlink is a mistake to report,
  // not an absent file. Any other failure to stat (EACCES on a parent,
  // ENOTDIR) is left to the read, which reports it.
  try {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      return AdminLoadResult{AdminConfig{}, {}};
    }
    const auto text = detail::read_bounded_file(path, detail::k_admin_kind);
    if (!text) return {std::nullopt, {text.error()}};
    return load_admin_config(*text, path);
  } catch (const std::exception& ex) {
    return {std::nullopt,
            {{path, 0, 0, std::string("cannot read the admin configuration file: ") + ex.what()}}};
  }
}

}  // namespace jobwarden::policy
