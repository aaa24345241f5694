// load_policy: the top level of a version 1 policy. The document level (text
// guards, yaml-cpp parsing, version) is yaml_document.cpp's.

#include "policy/loader.hpp"

#include "policy/loader_sections.hpp"
#include "policy/printable.hpp"
#include "policy/yaml_document.hpp"

namespace jobwarden::policy {
namespace detail {
namespace {

void read_nothing(YamlReader&, const Entry&, Policy&) {}  // version: checked before the rest

void read_defaults_section(YamlReader& r, const Entry& e, Policy& p) {
  read_defaults(r, e, p.defaults);
}
void read_fallback_section(YamlReader& r, const Entry& e, Policy& p) {
  read_fallback(r, e, p.defaults.fallback);
}
void read_rules_section(YamlReader& r, const Entry& e, Policy& p) { read_rules(r, e, p.rules); }
void read_flaky_section(YamlReader& r, const Entry& e, Policy& p) {
  static constexpr std::array<std::string_view, 3> k_flaky_actions{"pass", "unstable", "fail"};
  if (auto a = read_action(r, e, k_flaky_actions)) p.flaky = *a;
}
void read_limits_section(YamlReader& r, const Entry& e, Policy& p) { read_limits(r, e, p.limits); }
void read_steps_section(YamlReader& r, const Entry& e, Policy& p) {
  read_steps(r, e, p.defaults, p.steps);
}

// The top-level sections, in the order they are READ (not the file's order):
// steps merge over the defaults and the fallback, so those come first.
constexpr std::array<Field<Policy>, 7> k_sections{{
    {"version", read_nothing},
    {"defaults", read_defaults_section},
    {"fallback", read_fallback_section},
    {"rules", read_rules_section},
    {"flaky", read_flaky_section},
    {"limits", read_limits_section},
    {"steps", read_steps_section},
}};

// Reads the root map (version already checked) into `out`.
void build(YamlReader& r, const YAML::Node& root, Policy& out) {
  std::array<std::string_view, k_sections.size()> keys{};
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = k_sections[i].key;
  const std::vector<Entry> entries = r.entries(root, keys, std::string(k_policy_where));
  for (const auto& section : k_sections) {
    for (const Entry& e : entries) {
      if (e.key == section.key) section.read(r, e, out);
    }
  }
}

}  // namespace
}  // namespace detail

std::string PolicyError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_policy(std::string_view yaml_text, const std::string& file_name) {
  try {
    Policy p;
    p.source = file_name;
    p.defaults.fallback = builtin_fallback();
    LoadResult result;
    result.errors = detail::load_document(
        yaml_text, file_name, detail::k_policy_kind,
        [&p](detail::YamlReader& r, const YAML::Node& root) { detail::build(r, root, p); });
    if (result.errors.empty()) result.policy = std::move(p);
    return result;
  } catch (const std::exception& ex) {
    return {std::nullopt, {{file_name, 0, 0, "cannot load policy: " + printable(ex.what(), 2 * k_max_quoted)}}};
  } catch (...) {
    return {std::nullopt, {{file_name, 0, 0, "cannot load policy: unexpected error"}}};
  }
}

Result<std::string, PolicyError> read_policy_file(const std::string& path) {
  return detail::read_bounded_file(path, detail::k_policy_kind);
}

LoadResult load_policy_file(const std::string& path) {
  const auto text = read_policy_file(path);
  if (!text) return {std::nullopt, {text.error()}};
  return load_policy(*text, path);
}

}  // namespace jobwarden::policy
