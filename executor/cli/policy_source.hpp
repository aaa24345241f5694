#pragma once
// Which policy applies to `jobwarden run` and the `policy` commands:
// an explicit --policy FILE, else `.jobwarden.yml` in the working directory,
// else the embedded default (PRODUCT.md §3).

#include <optional>
#include <string>
#include <vector>

#include "policy/loader.hpp"

namespace jobwarden::cli {

inline constexpr const char* k_policy_file_name = ".jobwarden.yml";

struct PolicySource {
  std::string path;  // "" for the embedded default
  std::string text;  // what was loaded (hashed into the report)
  policy::LoadResult loaded;
  std::string label() const { return path.empty() ? "embedded default" : path; }
};

// `explicit_path` empty: discovery. Never throws; errors are in loaded.errors.
PolicySource load_policy_source(const std::string& explicit_path);

// The embedded default, without looking for a file.
PolicySource embedded_policy_source();

}  // namespace jobwarden::cli
