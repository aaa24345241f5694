#pragma once
// Which policy applies to `jobwarden run` and the `policy` commands:
// an explicit --policy FILE, else `.jobwarden.yml` in the working directory,
// else the embedded default.

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

// `explicit_path` empty: discovery (load_project_policy on the working
// directory). An explicit path is the caller's choice and read as given
// (symlinks followed), but only a regular file is read: a FIFO or a device is
// refused without waiting on it.
// Never throws; errors are in loaded.errors.
PolicySource load_policy_source(const std::string& explicit_path);

// `.jobwarden.yml` in the project directory `project_fd` (named
// `project_dir` in messages; "" for the working directory), read beneath it
// (platform/safe_files.hpp): a file that resolves outside the project, is not
// a regular file or cannot be read is refused with one error that says why,
// and not a byte of it is read. nullopt when there is no such entry.
std::optional<PolicySource> load_project_policy(int project_fd, const std::string& project_dir);

// The embedded default, without looking for a file.
PolicySource embedded_policy_source();

}  // namespace jobwarden::cli
