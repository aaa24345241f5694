#pragma once
// The policy loader: `.jobwarden.yml` text (docs/policy.md, version 1) -> Policy.
// The only user of yaml-cpp; nothing it throws leaves these functions.
//
// Contract:
//  * Validation is strict: unknown keys (with a "did you mean" hint), wrong
//    types, duplicate keys, bad values, unsupported or missing version are all
//    errors. Every error names file:line:column (1-based; the column counts
//    bytes, as yaml-cpp and compilers do) and what was expected.
//  * All errors of a file are reported (up to k_max_policy_errors), in file order.
//  * A policy is returned only when there is no error at all.
//  * Hostile input is bounded: size, nesting depth, nodes visited (aliases),
//    number of rules; binary garbage and invalid UTF-8 are clean errors.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "policy/model.hpp"

namespace jobwarden::policy {

inline constexpr std::size_t k_max_policy_bytes = std::size_t{1024} * 1024;
inline constexpr std::size_t k_max_policy_errors = 50;
inline constexpr int k_max_policy_retry = 10;  // bound of `retry` and `limits.max_attempts`
inline constexpr std::size_t k_max_policy_rules = 100;

struct PolicyError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error concerns the whole file
  int column = 0;  // 1-based byte column; 0 with line 0
  std::string message;

  // "file:line:col: message", or "file: message" when line is 0.
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Policy> policy;     // set only when errors is empty
  std::vector<PolicyError> errors;  // in file order

  bool ok() const { return policy.has_value() && errors.empty(); }
};

// Parses and validates `yaml_text`; `file_name` names the source in errors and
// becomes Policy::source. Never throws.
LoadResult load_policy(std::string_view yaml_text, const std::string& file_name);

// The text of the policy file `path`, read bounded (at most
// k_max_policy_bytes), or one error with line 0 saying why it was not read
// (unreadable, a directory, larger than 1 MiB). Never throws.
Result<std::string, PolicyError> read_policy_file(const std::string& path);

// read_policy_file, then load_policy. Never throws.
LoadResult load_policy_file(const std::string& path);

// The embedded default policy as a commented YAML file (what
// `jobwarden policy default` prints and a report quotes).
std::string_view embedded_default_policy_yaml();
// load_policy of that text, source "embedded default".
LoadResult load_embedded_default_policy();
// The same Policy, built without parsing: its code is generated at build
// time from load_embedded_default_policy() (policy/prebuild/, library
// jobwarden_default_policy; a text that does not load fails the build).
// The run's policy when the repository has none: yaml-cpp's parse of the
// text was ~0.2 ms of every start (bench/RESULTS.md). A unit test holds the
// two equal.
Policy prebuilt_default_policy();

}  // namespace jobwarden::policy
