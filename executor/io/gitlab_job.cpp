#include "executor/io/gitlab_job.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

namespace jobwarden::io {
namespace {

std::optional<nlohmann::json> parse_json_object(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);  // no exceptions: discarded on error
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

bool is_id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '-';
}

// new_job_state's shape: "jobwarden-", the job id (digits from GitLab; a
// CI_JOB_ID could be anything, so any of [A-Za-z0-9_.-]), "-", 16 hex digits.
bool is_cookie(const std::string& cookie) {
  constexpr std::string_view prefix = "jobwarden-";
  if (cookie.size() < prefix.size() + 18 || cookie.size() > 200 || cookie.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  const std::size_t dash = cookie.size() - 17;
  if (cookie[dash] != '-') return false;
  for (std::size_t i = prefix.size(); i < cookie.size(); ++i) {
    const char c = cookie[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (i > dash ? !hex : !is_id_char(c)) return false;
  }
  return true;
}

std::string random_hex() {
  std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

std::optional<GitlabJobState> parse_job_state(std::string_view text) {
  auto j = parse_json_object(text);
  if (!j || !(*j)["started_unix"].is_number() || !(*j)["cookie"].is_string()) return std::nullopt;
  GitlabJobState state{(*j)["started_unix"].get<double>(), (*j)["cookie"].get<std::string>(), {}};
  if (!std::isfinite(state.started_unix) || state.started_unix <= 0 || !is_cookie(state.cookie)) return std::nullopt;
  const auto cgroups = (*j)["cgroups"];
  if (!cgroups.is_array()) return state;
  for (const auto& c : cgroups) {  // malformed entries are skipped: cleanup validates the rest
    if (!c.is_object() || !c.contains("pid") || !c.at("pid").is_number_integer() || !c.contains("v2_parent") ||
        !c.at("v2_parent").is_string()) {
      continue;
    }
    const long long pid = c.at("pid").get<long long>();
    if (pid <= 0 || pid > 0x3fffffff) continue;  // beyond any pid_max
    const auto v1 = c.contains("v1_memory_parent") && c.at("v1_memory_parent").is_string()
                        ? c.at("v1_memory_parent").get<std::string>()
                        : std::string();
    state.cgroups.push_back({static_cast<int>(pid), c.at("v2_parent").get<std::string>(), v1});
  }
  return state;
}

GitlabJobState new_job_state(double now_unix, const std::string& job_id) {
  // The id as the cookie may hold it (is_cookie): CI_JOB_ID is the job's to set.
  std::string id = job_id.empty() ? std::string("job") : job_id.substr(0, 64);
  for (char& c : id) {
    if (!is_id_char(c)) c = '_';
  }
  return {now_unix, "jobwarden-" + id + "-" + random_hex(), {}};
}

std::string render_job_state(const GitlabJobState& state) {
  nlohmann::json j = {{"started_unix", state.started_unix}, {"cookie", state.cookie}};
  if (!state.cgroups.empty()) {
    j["cgroups"] = nlohmann::json::array();
    for (const auto& c : state.cgroups) {
      j["cgroups"].push_back({{"pid", c.pid}, {"v2_parent", c.v2_parent}, {"v1_memory_parent", c.v1_memory_parent}});
    }
  }
  return j.dump() + "\n";
}

std::optional<JobResponse> parse_job_response(std::string_view text) {
  auto j = parse_json_object(text);
  if (!j) return std::nullopt;
  JobResponse r;
  const auto id = (*j)["id"];
  if (id.is_number_integer()) r.job_id = std::to_string(id.get<long long>());
  if (id.is_string()) r.job_id = id.get<std::string>();
  const auto info = (*j)["runner_info"];
  if (info.is_object() && info.contains("timeout") && info.at("timeout").is_number_integer()) {
    r.timeout_seconds = info.at("timeout").get<long long>();
  }
  const auto variables = (*j)["variables"];
  if (variables.is_array()) {
    for (const auto& v : variables) {
      const bool masked = v.is_object() && v.contains("masked") && v.at("masked") == true;
      if (masked && v.contains("value") && v.at("value").is_string()) {
        r.masked_values.push_back(v.at("value").get<std::string>());
      }
    }
  }
  return r;
}

}  // namespace jobwarden::io

namespace jobwarden::io {

std::string render_config_output(const std::string& builds_dir, const std::string& cache_dir,
                                 bool builds_dir_is_shared, const std::string& hostname,
                                 const std::string& version) {
  nlohmann::ordered_json j = {
      {"builds_dir", builds_dir},
      {"cache_dir", cache_dir},
      {"builds_dir_is_shared", builds_dir_is_shared},
      {"hostname", hostname},
      {"driver", {{"name", "jobwarden"}, {"version", version}}},
  };
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace jobwarden::io
