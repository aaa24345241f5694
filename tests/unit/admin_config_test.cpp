// The admin configuration: a missing file is the built-in defaults, a full
// one sets every key, every invalid input names its line, column and what was
// expected; the ceilings lower a policy and a command-line value, and say so.

#include "tests/support/temp_dir.hpp"
#include "policy/admin_config.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using namespace jobwarden::policy;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

const std::string k_fixtures = std::string(JOBWARDEN_SOURCE_DIR) + "/tests/fixtures/admin";
const std::string k_admin_path = "/etc/jobwarden/config.yaml";

std::string all_errors(const AdminLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

struct ExpectedError {
  const char* what;       // the invalid class, for the failure message
  std::string_view yaml;  // a view: it may hold a NUL byte
  int line;
  int column;
  const char* fragment;
};

void check_single_error(const ExpectedError& c) {
  const AdminLoadResult r = load_admin_config(c.yaml, "config.yaml");
  const std::string context =
      std::string(c.what) + "\n" + std::string(c.yaml) + "---\n" + all_errors(r);
  INFO(context);
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.config.has_value());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "config.yaml");
  CHECK(r.errors[0].line == c.line);
  CHECK(r.errors[0].column == c.column);
  CHECK(r.errors[0].message.find(c.fragment) != std::string::npos);
}

// A scratch directory under the system's temporary directory, removed after.

AdminConfig ceilings(std::optional<Duration> timeout, std::optional<Duration> grace,
                     std::optional<int> attempts, std::optional<Duration> retry_time) {
  AdminConfig a;
  a.source = k_admin_path;
  a.max_timeout = timeout;
  a.max_grace = grace;
  a.max_attempts = attempts;
  a.max_retry_time = retry_time;
  return a;
}

Policy load_policy_text(const char* yaml) {
  LoadResult r = load_policy(yaml, "p.yml");
  REQUIRE(r.ok());
  return *r.policy;
}

std::string clamped(const std::string& subject, const std::string& ceiling) {
  return subject + " exceeds the admin ceiling " + ceiling + ": clamped to " + ceiling + " (" +
         k_admin_path + ")";
}

}  // namespace

TEST_CASE("a missing admin configuration file gives the built-in defaults") {
  const jobwarden::testing::TempDir dir;
  const AdminLoadResult r = load_admin_config_file(dir.file("config.yaml"));
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const AdminConfig& c = *r.config;
  CHECK(c.source == "built-in defaults");
  CHECK_FALSE(c.max_timeout.has_value());
  CHECK_FALSE(c.max_grace.has_value());
  CHECK_FALSE(c.max_attempts.has_value());
  CHECK_FALSE(c.max_retry_time.has_value());
  CHECK(c.cgroup == CgroupMode::automatic);
  CHECK(c.cgroup_parent.empty());
  CHECK((c.tree_kill && c.subreaper && c.retry && c.starvation && c.webhooks));
  CHECK(c.builds_dir == "/var/lib/jobwarden/builds");
  CHECK(c.cache_dir == "/var/lib/jobwarden/cache");
  CHECK_FALSE(c.builds_dir_is_shared);
  CHECK(c.runner_stages_policy.empty());
  CHECK(std::string(k_default_admin_config_path) == "/etc/jobwarden/config.yaml");
}

TEST_CASE("a full admin configuration sets every key") {
  const std::string path = k_fixtures + "/full.yaml";
  const AdminLoadResult r = load_admin_config_file(path);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const AdminConfig& c = *r.config;
  CHECK(c.source == path);
  CHECK(c.max_timeout == 2h);
  CHECK(c.max_grace == 1min);
  CHECK(c.max_attempts == 3);
  CHECK(c.max_retry_time == 30min);
  CHECK(c.max_memory == 4ULL << 30);
  CHECK(c.cgroup == CgroupMode::required);
  CHECK(c.cgroup_parent == "/ci/jobwarden");
  CHECK_FALSE((c.tree_kill || c.subreaper || c.retry || c.starvation || c.webhooks));
  CHECK(c.builds_dir == "/srv/jobwarden/builds");
  CHECK(c.cache_dir == "/srv/jobwarden/cache");
  CHECK(c.builds_dir_is_shared);
  CHECK(c.runner_stages_policy == "/etc/jobwarden/runner-stages.yml");
  CHECK(c.run_as == "ci-runner");
  CHECK(c.no_new_privileges);
}

TEST_CASE("run_as takes a user name or a numeric uid, and nothing that could be an option or a path") {
  CHECK(load_admin_config("version: 1\nrun_as: gitlab-runner\n", "c").config->run_as == "gitlab-runner");
  CHECK(load_admin_config("version: 1\nrun_as: 1000\n", "c").config->run_as == "1000");
  CHECK(load_admin_config("version: 1\n", "c").config->run_as.empty());
  for (const char* bad : {"run_as: -root", "run_as: ../x", "run_as: ''", "run_as: [a]", "run_as: a b",
                          "run_as: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    CAPTURE(bad);
    const auto r = load_admin_config(std::string("version: 1\n") + bad + "\n", "c");
    CHECK_FALSE(r.ok());
    CHECK(all_errors(r).find("'run_as' in the admin configuration: expected") != std::string::npos);
  }
}

TEST_CASE("a minimal admin configuration keeps every default, and an empty section is allowed") {
  const AdminLoadResult r = load_admin_config("version: 1\nceilings:\nfeatures: {}\n", "c.yaml");
  INFO(all_errors(r));
  REQUIRE(r.ok());
  CHECK(r.config->source == "c.yaml");
  CHECK_FALSE(r.config->max_timeout.has_value());
  CHECK(r.config->webhooks);
  CHECK(r.config->builds_dir == "/var/lib/jobwarden/builds");
}

TEST_CASE("each invalid admin configuration names its line, column and what was expected") {
  const std::vector<ExpectedError> cases{
      {"unknown section", "version: 1\nceilngs: {}\n", 2, 1,
       "unknown key 'ceilngs' in the admin configuration (did you mean 'ceilings'?)"},
      {"unknown ceiling", "version: 1\nceilings:\n  max_timout: 1h\n", 3, 3,
       "unknown key 'max_timout' in 'ceilings' (did you mean 'max_timeout'?)"},
      {"unknown feature", "version: 1\nfeatures: {tree_kil: false}\n", 2, 12,
       "unknown key 'tree_kil' in 'features' (did you mean 'tree_kill'?)"},
      {"unknown gitlab key", "version: 1\ngitlab:\n  build_dir: /b\n", 3, 3,
       "unknown key 'build_dir' in 'gitlab' (did you mean 'builds_dir'?)"},
      {"section not a map", "version: 1\nceilings: [1h]\n", 2, 11,
       "'ceilings': expected a map with keys max_timeout, max_grace"},
      {"YAML 1.1 boolean", "version: 1\nfeatures:\n  retry: yes\n", 3, 10,
       "'retry' in 'features': expected true or false, got 'yes'"},
      {"unknown cgroup mode", "version: 1\nfeatures:\n  cgroup: maybe\n", 3, 11,
       "'cgroup' in 'features': expected auto, off or required, got 'maybe'"},
      {"relative cgroup_parent", "version: 1\ncgroup_parent: ci/jw\n", 2, 16,
       "'cgroup_parent' in the admin configuration: expected an absolute path (starting with '/'), got 'ci/jw'"},
      {"boolean as a list", "version: 1\ngitlab: {builds_dir_is_shared: [true]}\n", 2, 32,
       "'builds_dir_is_shared' in 'gitlab': expected true or false, got a list"},
      {"bare number duration", "version: 1\nceilings:\n  max_timeout: 30\n", 3, 16,
       "'max_timeout' in 'ceilings'"},
      {"zero duration", "version: 1\nceilings: {max_grace: 0s}\n", 2, 23,
       "'max_grace' in 'ceilings'"},
      {"attempts out of range", "version: 1\nceilings:\n  max_attempts: 11\n", 3, 17,
       "expected an integer from 1 to 10, got '11'"},
      {"attempts not a number", "version: 1\nceilings:\n  max_attempts: three\n", 3, 17,
       "expected an integer from 1 to 10, got 'three'"},
      {"duplicate key", "version: 1\ngitlab:\n  cache_dir: /a\n  cache_dir: /b\n", 4, 3,
       "duplicate key 'cache_dir' in 'gitlab' (first at line 3)"},
      {"duplicate section", "version: 1\nfeatures: {}\nfeatures: {}\n", 3, 1,
       "duplicate key 'features' in the admin configuration (first at line 2)"},
      {"unsupported version", "version: 2\nceilings: {}\n", 1, 10,
       "unsupported admin configuration version 2 (this jobwarden reads version 1)"},
      {"missing version", "# admin\nceilings: {}\n", 2, 1,
       "missing 'version: 1' (required: the admin configuration format's version)"},
      {"version not a number", "version: one\n", 1, 10,
       "'version' in the admin configuration: expected 1, got 'one'"},
      {"relative builds_dir", "version: 1\ngitlab: {builds_dir: builds}\n", 2, 22,
       "'builds_dir' in 'gitlab': expected an absolute path (starting with '/'), got 'builds'"},
      {"relative cache_dir", "version: 1\ngitlab:\n  cache_dir: ~/cache\n", 3, 14,
       "expected an absolute path"},
      {"relative runner_stages_policy", "version: 1\ngitlab:\n  runner_stages_policy: ./p.yml\n", 3,
       25, "'runner_stages_policy' in 'gitlab': expected an absolute path"},
      {"empty path", "version: 1\ngitlab:\n  builds_dir: ''\n", 3, 15, "expected an absolute path"},
      {"path missing", "version: 1\ngitlab:\n  builds_dir:\n", 3, 3,
       "'builds_dir' in 'gitlab': expected a string, got nothing"},
      {"path is a map", "version: 1\ngitlab:\n  cache_dir: {a: 1}\n", 3, 14,
       "expected a string, got a map"},
      {"builds and caches in one directory",
       "version: 1\ngitlab:\n  builds_dir: /srv/b\n  cache_dir: /srv//b/\n", 4, 14,
       "are the same directory"},
      {"builds_dir onto the default cache_dir",
       "version: 1\ngitlab:\n  builds_dir: /var/lib/jobwarden/cache\n", 3, 15,
       "are the same directory"},
      {"root not a map", "- version: 1\n", 1, 1, "expected a map starting with 'version: 1'"},
      {"empty file", "", 1, 1, "empty admin configuration"},
      {"two documents", "version: 1\n---\nversion: 1\n", 2, 1,
       "a second YAML document: an admin configuration file holds exactly one"},
      {"merge key", "version: 1\nceilings: {<<: {max_timeout: 1h}}\n", 2, 12,
       "YAML merge keys are not supported"},
      {"tab indentation", "version: 1\ngitlab:\n\tbuilds_dir: /b\n", 3, 1,
       "a tab in the indentation"},
      {"NUL byte", "version: 1\nfeatures:\n  cgroup: \0\n"sv, 3, 11,
       "NUL byte: an admin configuration must be UTF-8 text"},
      {"invalid UTF-8", "version: 1\ngitlab: {cache_dir: /c\xff}\n", 2, 23,
       "invalid UTF-8 byte 0xff: an admin configuration must be UTF-8 text"},
  };
  for (const auto& c : cases) check_single_error(c);
}

TEST_CASE("every error of an admin configuration is reported, in file order") {
  const std::string path = k_fixtures + "/invalid-many.yaml";
  const AdminLoadResult r = load_admin_config_file(path);
  INFO(all_errors(r));
  CHECK_FALSE(r.config.has_value());
  REQUIRE(r.errors.size() == 4);
  const std::vector<std::pair<int, int>> at{{3, 16}, {4, 3}, {6, 11}, {8, 15}};
  for (std::size_t i = 0; i < at.size(); ++i) {
    CHECK(r.errors[i].file == path);
    CHECK(r.errors[i].line == at[i].first);
    CHECK(r.errors[i].column == at[i].second);
  }
  CHECK(r.errors[1].message.find("did you mean 'max_attempts'?") != std::string::npos);
}

TEST_CASE("an admin configuration file that exists but cannot be read is an error") {
  const jobwarden::testing::TempDir dir;
  SUBCASE("a directory") {
    const AdminLoadResult r = load_admin_config_file(dir.path());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 0);
    CHECK(r.errors[0].message.find("cannot read the admin configuration file") == 0);
  }
  SUBCASE("a dangling symlink") {
    const auto link = std::filesystem::path(dir.file("config.yaml"));
    std::filesystem::create_symlink(std::filesystem::path(dir.file("nowhere.yaml")), link);
    const AdminLoadResult r = load_admin_config_file(link.string());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("cannot read the admin configuration file") == 0);
  }
  SUBCASE("larger than 1 MiB") {
    const auto big = std::filesystem::path(dir.file("config.yaml"));
    std::ofstream(big) << "version: 1\n" << std::string(std::size_t{2} << 20, '#') << "\n";
    const AdminLoadResult r = load_admin_config_file(big.string());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message == "the admin configuration file is larger than 1 MiB");
  }
}

TEST_CASE("hostile admin configurations are refused cleanly") {
  const AdminLoadResult deep =
      load_admin_config("version: 1\nceilings: " + std::string(100'000, '['), "c.yaml");
  REQUIRE(deep.errors.size() == 1);
  CHECK(deep.errors[0].line == 2);
  CHECK(deep.errors[0].message.find("not an admin configuration file") != std::string::npos);
  const AdminLoadResult syntax = load_admin_config("version: 1\nceilings: {max_timeout: 1h\n", "c");
  REQUIRE(syntax.errors.size() == 1);
  CHECK(syntax.errors[0].message.find("YAML syntax error") == 0);
  const AdminLoadResult comma = load_admin_config(",", "c");
  CHECK_FALSE(comma.errors.empty());
}

TEST_CASE("apply_ceilings lowers timeouts, grace, retries and limits and reports each") {
  Policy p = load_policy_text(
      "version: 1\n"
      "defaults: {timeout: 2h, grace: 30s}\n"
      "rules:\n"
      "  - {name: net, when: {outcome: red}, retry: 5}\n"
      "  - {name: once, when: {outcome: timeout}, retry: 2}\n"
      "limits: {max_attempts: 8, max_retry_time: 1h}\n"
      "steps:\n"
      "  build: {timeout: 3h, grace: 1m}\n"
      "  test: {grace: 5s}\n"
      "  lint: {timeout: 10m}\n");
  const std::vector<std::string> lines = apply_ceilings(ceilings(1h, 20s, 3, 30min), p);
  const std::vector<std::string> expected{
      clamped("policy timeout 2h of the defaults", "1h"),
      clamped("policy grace 30s of the defaults", "20s"),
      clamped("policy timeout 3h of step 'build'", "1h"),
      clamped("policy grace 1m of step 'build'", "20s"),
      clamped("policy retry 5 of rule 'net'", "3"),
      clamped("policy limits.max_attempts 8", "3"),
      clamped("policy limits.max_retry_time 1h", "30m"),
  };
  CHECK(lines == expected);
  CHECK(p.defaults.timeout == 1h);
  CHECK(p.defaults.grace == 20s);
  CHECK(p.steps.at("build").timeout == 1h);
  CHECK(p.steps.at("build").grace == 20s);
  // Inherited from the defaults: lowered under the defaults' lines.
  CHECK(p.steps.at("test").timeout == 1h);
  CHECK(p.steps.at("lint").grace == 20s);
  // Within the ceilings: untouched.
  CHECK(p.steps.at("test").grace == 5s);
  CHECK(p.steps.at("lint").timeout == 10min);
  CHECK(p.rules[0].retry == 3);
  CHECK(p.rules[1].retry == 2);
  CHECK(p.limits.max_attempts == 3);
  CHECK(p.limits.max_retry_time == 30min);
  CHECK(p.max_attempts() == 3);
}

TEST_CASE("apply_ceilings reports a step that sets a value above the ceiling and the defaults'") {
  Policy p = load_policy_text("version: 1\ndefaults: {timeout: 20m}\nsteps:\n  a: {timeout: 2h}\n");
  const auto lines = apply_ceilings(ceilings(1h, std::nullopt, std::nullopt, std::nullopt), p);
  CHECK(lines == std::vector<std::string>{clamped("policy timeout 2h of step 'a'", "1h")});
  CHECK(p.defaults.timeout == 20min);
  CHECK(p.steps.at("a").timeout == 1h);
}

TEST_CASE("apply_ceilings reports nothing and changes nothing within the ceilings") {
  const char* yaml =
      "version: 1\ndefaults: {timeout: 1h, grace: 20s}\n"
      "rules: [{name: net, when: {outcome: red}, retry: 3}]\n"
      "limits: {max_attempts: 3, max_retry_time: 30m}\nsteps: {build: {timeout: 45m}}\n";
  Policy p = load_policy_text(yaml);
  CHECK(apply_ceilings(ceilings(1h, 20s, 3, 30min), p).empty());
  CHECK(p.defaults.timeout == 1h);
  CHECK(p.steps.at("build").timeout == 45min);
  CHECK(p.rules[0].retry == 3);
  Policy embedded = embedded_default_policy();
  CHECK(apply_ceilings(AdminConfig{}, embedded).empty());
  CHECK(apply_ceilings(ceilings(2h, 1min, 10, 1h), embedded).empty());
}

TEST_CASE("clamp_duration lowers a command-line timeout or grace to its ceiling") {
  const AdminConfig admin = ceilings(1h, 20s, std::nullopt, std::nullopt);
  Duration timeout = 2h;
  CHECK(clamp_duration(admin, "timeout", timeout) == clamped("--timeout 2h", "1h"));
  CHECK(timeout == 1h);
  Duration grace = 90s;
  CHECK(clamp_duration(admin, "grace", grace) == clamped("--grace 1m30s", "20s"));
  CHECK(grace == 20s);
  Duration within = 1h;
  CHECK(clamp_duration(admin, "timeout", within).empty());
  CHECK(within == 1h);
  Duration unbounded = 100h;
  CHECK(clamp_duration(AdminConfig{}, "timeout", unbounded).empty());
  CHECK(unbounded == 100h);
  CHECK(clamp_duration(admin, "backoff", unbounded).empty());
  CHECK(unbounded == 100h);
}

TEST_CASE("the memory limit is the policy's within max_memory, or max_memory alone, and a clamp is reported") {
  AdminConfig admin;
  admin.source = k_admin_path;
  std::string line;
  CHECK_FALSE(memory_limit(admin, std::nullopt, "build", line).has_value());
  CHECK(memory_limit(admin, 512ULL << 20, "build", line) == 512ULL << 20);
  CHECK(line.empty());
  admin.max_memory = 1ULL << 30;
  CHECK(memory_limit(admin, std::nullopt, "build", line) == 1ULL << 30);
  CHECK(line.empty());
  CHECK(memory_limit(admin, 512ULL << 20, "build", line) == 512ULL << 20);
  CHECK(line.empty());
  CHECK(memory_limit(admin, 4ULL << 30, "build", line) == 1ULL << 30);
  CHECK(line == clamped("policy memory 4GiB of step 'build'", "1GiB"));
}

TEST_CASE("memory sizes: binary units, no bare numbers, 1MiB to 1024TiB") {
  CHECK(*parse_byte_size("512MiB") == 512ULL << 20);
  CHECK(*parse_byte_size("64 MiB") == 64ULL << 20);
  CHECK(*parse_byte_size("1.5GiB") == 3ULL << 29);
  CHECK(*parse_byte_size("2048KiB") == 2ULL << 20);
  for (const char* bad : {"512", "512MB", "0MiB", "512KiB", "-1GiB", "MiB", "1.2.3MiB", "2048TiB", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_byte_size(bad).ok());
  }
  CHECK(format_byte_size(512ULL << 20) == "512MiB");
  CHECK(format_byte_size(3ULL << 29) == "1.5GiB");
}
