#pragma once
// INTERNAL to the loaders (loader.cpp, admin_config.cpp): the document level
// every jobwarden YAML file shares. Raw-text guards, exactly one YAML
// document, a root map with a supported `version`, yaml-cpp's exceptions
// caught, and bounded file reading. What is inside the root map is the
// caller's business.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "policy/loader.hpp"
#include "policy/yaml_reader.hpp"

namespace jobwarden::policy::detail {

// How messages name the file: "empty policy", "not an admin configuration file".
struct DocumentKind {
  std::string_view noun;    // "policy"
  std::string_view a_noun;  // "a policy"
  std::string_view where;   // `where` of the root map: "the policy"
};

inline constexpr DocumentKind k_policy_kind{"policy", "a policy", k_policy_where};
inline constexpr DocumentKind k_admin_kind{"admin configuration", "an admin configuration",
                                           k_admin_where};

// Reads the root map; called only when the root is a map of a supported
// version. Reports through the reader; may throw LoadAborted.
using BuildRoot = std::function<void(YamlReader&, const YAML::Node&)>;

// Checks `text` (at most k_max_policy_bytes, UTF-8 text, shallow nesting),
// parses exactly one YAML document, checks that its root is a map with
// `version: 1`, then calls `build`. Returns every error, in file order;
// `build` ran without error exactly when the result is empty. Throws nothing
// of yaml-cpp's (other exceptions, e.g. bad_alloc, are the caller's).
std::vector<PolicyError> load_document(std::string_view text, const std::string& file,
                                       const DocumentKind& kind, const BuildRoot& build);

// The contents of a file of at most k_max_policy_bytes, or one error with
// line 0 ("cannot read the policy file: ..."). Never throws.
Result<std::string, PolicyError> read_bounded_file(const std::string& path, const DocumentKind& kind);

}  // namespace jobwarden::policy::detail
