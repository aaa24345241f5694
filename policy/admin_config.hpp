#pragma once
// The admin configuration (version 1): what the runner host's
// administrator sets in /etc/jobwarden/config.yaml (or --admin-config) and a
// repository policy cannot override. Ceilings on timeouts and retries,
// feature kill-switches, the user steps run as, the GitLab custom executor's
// directories.
//
// Contract:
//  * Loading is as strict as the policy loader's (loader.hpp): unknown keys
//    with a "did you mean" hint, wrong types, bad values, duplicate keys,
//    unsupported or missing version, relative paths are all errors; every
//    error names file:line:column; all are reported; hostile input is bounded
//    by the same guards. A config is returned only when there is no error.
//  * Nothing throws out of these functions.
//  * Ceilings only ever lower a policy's values, and every change is reported
//    as one line for the job log: never silently.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/duration.hpp"
#include "policy/loader.hpp"
#include "policy/model.hpp"

namespace jobwarden::policy {

inline constexpr const char* k_default_admin_config_path = "/etc/jobwarden/config.yaml";
inline constexpr const char* k_builtin_admin_source = "built-in defaults";

// features.cgroup: a cgroup v2 leaf per attempt when one can be made
// (automatic), never (off), or a system failure without one (required).
enum class CgroupMode { automatic, off, required };

// `metrics:` of the admin configuration (docs/policy.md#metrics). Empty = off.
struct MetricsConfig {
  std::string textfile_dir;    // absolute; jobwarden.prom there, for node_exporter
  std::string pushgateway;     // http(s) base URL of a Pushgateway
  std::string job = "jobwarden";  // the Pushgateway grouping key's `job`
  Duration connect_timeout{1000};
  Duration timeout{2000};      // the whole push, connect included
  int max_label_values = 50;   // distinct step (and rule) label values kept per textfile
  std::string proxy;           // http(s) URL of the proxy for the push; "" = direct

  bool operator==(const MetricsConfig&) const = default;
};

// `alerts:` of the admin configuration (docs/policy.md#alerts). No webhook = off.
struct AlertsConfig {
  std::string webhook;         // http(s) URL; often carries a token: never printed
  Duration timeout{2000};      // the whole POST, connect and redirects included
  bool on_exhausted = true;    // a retry rule ran out of attempts
  bool on_system_failure = true;  // the verdict is system_failure
  std::string proxy;           // http(s) URL of the proxy for the POST; "" = direct

  bool operator==(const AlertsConfig&) const = default;
};

struct AdminConfig {
  std::string source = k_builtin_admin_source;  // the file's path, or "built-in defaults"
  // Ceilings; absent = no ceiling beyond the built-in bounds.
  std::optional<Duration> max_timeout;  // per attempt
  std::optional<Duration> max_grace;
  std::optional<int> max_attempts;  // 1..k_max_policy_retry
  std::optional<Duration> max_retry_time;
  std::optional<ByteSize> max_memory;  // per attempt; also the limit of steps that set none
  // Kill-switches: true = the feature is on. Honoured by the executor.
  bool tree_kill = true;
  CgroupMode cgroup = CgroupMode::automatic;
  // Where the attempts' cgroup leaves go: a path in the cgroup v2 hierarchy
  // ("/ci/jobwarden"); "" = under jobwarden's own cgroup.
  std::string cgroup_parent;
  bool subreaper = true;
  bool retry = true;
  bool starvation = true;
  bool webhooks = true;
  bool metrics = true;
  // The GitLab custom executor's directories (absolute paths).
  std::string builds_dir = "/var/lib/jobwarden/builds";
  std::string cache_dir = "/var/lib/jobwarden/cache";
  bool builds_dir_is_shared = false;
  // The user every step runs as (a name or a numeric uid, resolved in the
  // user database when a step starts); "" = jobwarden's own user.
  std::string run_as;
  // Steps start with PR_SET_NO_NEW_PRIVS: no setuid program (sudo, su) or
  // file capability (ping, newuidmap) raises their privileges.
  bool no_new_privileges = false;
  // Policy file for the runner-owned GitLab stages (get_sources, caches,
  // artifacts); "" = the embedded default policy.
  std::string runner_stages_policy;
  // Operations: metrics, alerts, and the variables whose values are secret
  // (never in jobwarden's lines, reports, metrics or alerts).
  MetricsConfig metrics_config;
  AlertsConfig alerts;
  std::vector<std::string> secret_variables;

  bool operator==(const AdminConfig&) const = default;
};

struct AdminLoadResult {
  std::optional<AdminConfig> config;  // set only when errors is empty
  std::vector<PolicyError> errors;    // in file order

  bool ok() const { return config.has_value() && errors.empty(); }
};

// Parses and validates `yaml_text`; `file_name` names the source in errors and
// becomes AdminConfig::source. Never throws.
AdminLoadResult load_admin_config(std::string_view yaml_text, const std::string& file_name);

// Reads `path` then load_admin_config. A path that does not exist (nothing
// there, not even a dangling symlink) is not an error: the built-in defaults,
// with source "built-in defaults". An unreadable, oversized or invalid file is
// an error. Never throws.
AdminLoadResult load_admin_config_file(const std::string& path);

// Lowers `policy` to the admin ceilings: the timeout and grace of the defaults
// and of every step to max_timeout / max_grace, limits.max_attempts and
// limits.max_retry_time to the admin ones, every rule's retry to max_attempts.
// Returns one line per value lowered, e.g. "policy timeout 2h of step 'build'
// exceeds the admin ceiling 1h: clamped to 1h (/etc/jobwarden/config.yaml)";
// none when the policy is within the ceilings. A step value inherited from
// the defaults (equal to them) is lowered under the defaults' line, not
// reported again.
std::vector<std::string> apply_ceilings(const AdminConfig& admin, Policy& policy);

// The memory limit of an attempt: the policy's `memory`, lowered to
// max_memory (the line reporting it goes to `clamped`), or max_memory when
// the policy sets none; none when neither does.
std::optional<ByteSize> memory_limit(const AdminConfig& admin, const std::optional<ByteSize>& policy_memory,
                                     const std::string& step, std::string& clamped);

// Lowers a command-line `value` of `what` ("timeout": max_timeout, "grace":
// max_grace) to its ceiling. Returns the line reporting it ("--timeout 2h
// exceeds ..."), or "" when `value` is within it or `what` has no ceiling.
std::string clamp_duration(const AdminConfig& admin, const char* what, Duration& value);

}  // namespace jobwarden::policy
